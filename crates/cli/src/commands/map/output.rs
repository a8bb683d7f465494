//! What `ocean map` writes, batch by batch: the JSON document (resource 0's entities written as
//! they arrive, later resources' and the deletion candidates spooled until the end, so the
//! document keeps its resource-major order) or the `--pretty` view (its summary line comes
//! first, so every entity is spooled). Spools move from memory to a temporary file past a few
//! MiB, so memory does not grow with the input.

use ocean_mapping::preview::ResourceOutcome;
use ocean_mapping::stream::{ItemError, MappedBatch, StreamError};
use serde_json::{Map, Value};
use std::fs::File;
use std::io::{self, BufReader, BufWriter, Read, Seek, Write};

/// Serialised records: one JSON entity (or one `--pretty` body) each.
#[derive(Debug, Default)]
pub struct Records {
    bytes: Vec<u8>,
    ends: Vec<usize>,
}

impl Records {
    fn push_json(&mut self, v: &ocean_model::Entity) {
        serde_json::to_writer(&mut self.bytes, v).expect("entities serialise");
        self.ends.push(self.bytes.len());
    }

    fn push_str(&mut self, s: &str) {
        self.bytes.extend_from_slice(s.as_bytes());
        self.ends.push(self.bytes.len());
    }

    fn iter(&self) -> impl Iterator<Item = &[u8]> {
        let starts = std::iter::once(0).chain(self.ends.iter().copied());
        starts.zip(&self.ends).map(|(s, e)| &self.bytes[s..*e])
    }
}

/// One resource's part of a batch, with its entities already serialised (on a worker thread).
#[derive(Debug)]
pub struct EncodedResource {
    entities: Records,
    failed: Option<Records>,
    /// Everything else (its entity lists are empty).
    rest: ResourceOutcome,
}

/// A mapped batch with its entities serialised.
#[derive(Debug)]
pub struct Encoded {
    resources: Vec<EncodedResource>,
    item_errors: Vec<ItemError>,
    fatal: Option<StreamError>,
}

impl Encoded {
    /// Whether the batch holds a bad array item that ends the run.
    pub fn ends_the_stream(&self) -> bool {
        self.fatal.is_some()
    }
}

/// Serialises a batch's entities as the chosen output needs them; runs on the worker threads.
pub fn encode(batch: MappedBatch, pretty: bool) -> Encoded {
    let resources = batch
        .resources
        .into_iter()
        .map(|mut r| {
            let mut entities = Records::default();
            for e in std::mem::take(&mut r.entities) {
                if pretty {
                    let body = serde_json::to_string_pretty(&e).unwrap_or_default();
                    entities.push_str(&super::indent(&body));
                } else {
                    entities.push_json(&e);
                }
            }
            let failed = r.failed_selector_entities.take().map(|list| {
                let mut records = Records::default();
                for e in list {
                    if pretty {
                        records.push_str("");
                    } else {
                        records.push_json(&e);
                    }
                }
                records
            });
            r.failed_selector_entities = Some(Vec::new()).filter(|_| failed.is_some());
            EncodedResource {
                entities,
                failed,
                rest: r,
            }
        })
        .collect();
    Encoded {
        resources,
        item_errors: batch.item_errors,
        fatal: batch.fatal,
    }
}

const SPOOL_IN_MEMORY: usize = 4 << 20;

/// Records kept for later: in memory, then in an anonymous temporary file.
#[derive(Debug, Default)]
struct Spool {
    mem: Records,
    file: Option<BufWriter<File>>,
    count: usize,
}

impl Spool {
    fn push(&mut self, record: &[u8]) -> io::Result<()> {
        self.count += 1;
        if self.file.is_none() && self.mem.bytes.len() + record.len() > SPOOL_IN_MEMORY {
            let mut file = BufWriter::new(tempfile::tempfile()?);
            for r in self.mem.iter() {
                write_record(&mut file, r)?;
            }
            self.mem = Records::default();
            self.file = Some(file);
        }
        match &mut self.file {
            Some(file) => write_record(file, record),
            None => {
                self.mem.bytes.extend_from_slice(record);
                self.mem.ends.push(self.mem.bytes.len());
                Ok(())
            }
        }
    }

    /// Calls `f` on every record in order.
    fn drain(self, mut f: impl FnMut(&[u8]) -> io::Result<()>) -> io::Result<()> {
        match self.file {
            None => self.mem.iter().try_for_each(f),
            Some(file) => {
                let mut file = file.into_inner().map_err(|e| e.into_error())?;
                file.rewind()?;
                let mut file = BufReader::new(file);
                let mut record = Vec::new();
                for _ in 0..self.count {
                    let mut len = [0u8; 8];
                    file.read_exact(&mut len)?;
                    record.resize(u64::from_le_bytes(len) as usize, 0);
                    file.read_exact(&mut record)?;
                    f(&record)?;
                }
                Ok(())
            }
        }
    }
}

fn write_record(w: &mut impl Write, record: &[u8]) -> io::Result<()> {
    w.write_all(&(record.len() as u64).to_le_bytes())?;
    w.write_all(record)
}

/// How a run ended.
#[derive(Debug, Default)]
pub struct Ending {
    /// What stopped it before the end of the input.
    pub fatal: Option<String>,
    /// NDJSON lines that were not mapped.
    pub item_errors: usize,
}

/// Writes `ocean map`'s output as batches arrive.
pub struct Writer<W: Write> {
    out: W,
    pretty: bool,
    kind: String,
    input_name: String,
    /// Entities written to `out` already (JSON, resource 0).
    streamed: usize,
    spools: Vec<Spool>,
    failed: Vec<Option<Spool>>,
    stats: Vec<ResourceOutcome>,
    ending: Ending,
}

impl<W: Write> Writer<W> {
    /// Starts the output for `resources` resources of `kind`.
    pub fn new(
        mut out: W,
        pretty: bool,
        kind: &str,
        input_name: &str,
        resources: usize,
    ) -> io::Result<Writer<W>> {
        if !pretty {
            out.write_all(b"{\"entities\":[")?;
        }
        Ok(Writer {
            out,
            pretty,
            kind: kind.to_owned(),
            input_name: input_name.to_owned(),
            streamed: 0,
            spools: (0..resources).map(|_| Spool::default()).collect(),
            failed: (0..resources).map(|_| Some(Spool::default())).collect(),
            stats: (0..resources)
                .map(|_| ResourceOutcome {
                    failed_selector_entities: Some(Vec::new()),
                    ..ResourceOutcome::default()
                })
                .collect(),
            ending: Ending::default(),
        })
    }

    /// Takes the next batch (or the error that ended the input); false when the run must stop.
    pub fn absorb(&mut self, batch: Result<Encoded, StreamError>) -> bool {
        let batch = match batch {
            Ok(b) => b,
            Err(e) => {
                self.ending.fatal = Some(format!("{}: {e}", self.input_name));
                return false;
            }
        };
        if let Err(e) = self.write_batch(batch.resources) {
            self.ending.fatal = Some(format!("cannot write the output: {e}"));
            return false;
        }
        for e in &batch.item_errors {
            eprintln!("error: {}: {e}", self.input_name);
        }
        self.ending.item_errors += batch.item_errors.len();
        if let Some(e) = batch.fatal {
            self.ending.fatal = Some(format!("{}: {e}", self.input_name));
            return false;
        }
        if let Some(e) = self.stats.iter().find_map(|s| s.error.as_ref()) {
            self.ending.fatal = Some(format!("Ocean fails this batch: {e}"));
            return false;
        }
        true
    }

    fn write_batch(&mut self, resources: Vec<EncodedResource>) -> io::Result<()> {
        for (i, r) in resources.into_iter().enumerate() {
            for entity in r.entities.iter() {
                if i == 0 && !self.pretty {
                    if self.streamed > 0 {
                        self.out.write_all(b",")?;
                    }
                    self.out.write_all(entity)?;
                    self.streamed += 1;
                } else {
                    self.spools[i].push(entity)?;
                }
            }
            match (&mut self.failed[i], r.failed) {
                (Some(spool), Some(records)) => {
                    for entity in records.iter() {
                        spool.push(entity)?;
                    }
                }
                (slot, None) => *slot = None,
                (None, Some(_)) => {}
            }
            self.stats[i].merge(r.rest);
        }
        Ok(())
    }

    /// Closes the output (the counts, the rest of the entities) and says how the run ended.
    pub fn finish(
        mut self,
        compile_problems: Vec<ocean_mapping::engine::CompileProblem>,
    ) -> io::Result<Ending> {
        let mut total = ResourceOutcome {
            failed_selector_entities: Some(Vec::new()),
            compile_problems,
            ..ResourceOutcome::default()
        };
        for s in std::mem::take(&mut self.stats) {
            total.merge(s);
        }
        let failed_count = self
            .failed
            .iter()
            .map(|f| f.as_ref().map(|s| s.count))
            .sum::<Option<usize>>();
        if self.pretty {
            self.finish_pretty(&total, failed_count)?;
        } else {
            self.finish_json(&total)?;
        }
        self.out.flush()?;
        Ok(self.ending)
    }

    fn finish_json(&mut self, total: &ResourceOutcome) -> io::Result<()> {
        let out = &mut self.out;
        let mut written = self.streamed;
        for spool in std::mem::take(&mut self.spools) {
            spool.drain(|entity| {
                if written > 0 {
                    out.write_all(b",")?;
                }
                written += 1;
                out.write_all(entity)
            })?;
        }
        let misconfigured: Map<String, Value> = total
            .misconfigured
            .iter()
            .map(|(k, v)| (k.clone(), v.clone().map_or(Value::Null, Value::String)))
            .collect();
        write!(
            out,
            "],\"selector_dropped\":{},\"selector_errors\":{},\"skipped\":{},\"misconfigured\":",
            total.selector_dropped,
            total.selector_errors.len(),
            total.skipped
        )?;
        serde_json::to_writer(&mut *out, &misconfigured)?;
        out.write_all(b",\"failed_selector_entities\":")?;
        let failed: Option<Vec<Spool>> = std::mem::take(&mut self.failed).into_iter().collect();
        match failed {
            None => out.write_all(b"null")?,
            Some(spools) => {
                out.write_all(b"[")?;
                let mut written = 0;
                for spool in spools {
                    spool.drain(|entity| {
                        if written > 0 {
                            out.write_all(b",")?;
                        }
                        written += 1;
                        out.write_all(entity)
                    })?;
                }
                out.write_all(b"]")?;
            }
        }
        out.write_all(b"}\n")
    }

    fn finish_pretty(
        &mut self,
        total: &ResourceOutcome,
        failed_count: Option<usize>,
    ) -> io::Result<()> {
        let entities: usize = self.spools.iter().map(|s| s.count).sum();
        let out = &mut self.out;
        writeln!(
            out,
            "kind '{}': {} resource(s), {} item(s) mapped, {} entit{} to upsert",
            self.kind,
            self.spools.len(),
            total.items_mapped,
            entities,
            if entities == 1 { "y" } else { "ies" }
        )?;
        let mut n = 0;
        for spool in std::mem::take(&mut self.spools) {
            spool.drain(|body| {
                n += 1;
                out.write_all(format!("\nentity {n}:\n").as_bytes())?;
                out.write_all(body)?;
                out.write_all(b"\n")
            })?;
        }
        out.write_all(super::pretty_tail(total, failed_count).as_bytes())
    }
}
