//! Mapping an input too large to hold in memory: raw items read one at a time from any
//! [`Read`] (a JSON array or NDJSON), grouped into batches, mapped on several threads, and
//! handed back in input order.
//!
//! Three pieces, usable apart:
//! - [`ItemReader`] splits the input into [`RawBatch`]es without parsing the items (only their
//!   boundaries are found), remembering where each item starts for error messages. A truncated
//!   array or a syntax error between items ends the stream with a [`StreamError`] after every
//!   complete item before it.
//! - [`KindMapper`] maps one raw batch through every resource of a kind (the per-batch step of
//!   [`crate::preview::map_kind`]): it parses the items on the calling thread (jq values are not
//!   `Send`) and returns a [`MappedBatch`].
//! - [`map_ordered`] runs a reader thread and worker threads (plain scoped threads) and calls a
//!   sink on the caller's thread with each batch's result in input order. At most a fixed number
//!   of batches are in flight, so memory does not grow with the input.
//!
//! Everything here reads through the `Read` it is given; it opens no files.

mod reader;
#[cfg(test)]
mod tests;

pub use reader::{Format, ItemReader, Position, RawBatch};

use crate::config::PortAppConfig;
use crate::engine::{CompileProblem, CompiledResource, EngineOptions};
use crate::jq::Val;
use crate::jq::read::Reader;
use crate::preview::{ResourceOutcome, map_compiled_batch};
use std::collections::BTreeMap;
use std::io::Read;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, mpsc};

/// Why a stream of items stopped before its end.
#[derive(Debug, thiserror::Error)]
pub enum StreamError {
    /// The input could not be read.
    #[error("cannot read the items at byte {offset}: {source}")]
    Io {
        /// Bytes read before the failure.
        offset: u64,
        /// What the operating system said.
        source: std::io::Error,
    },
    /// The input is JSON but not an array.
    #[error("expected a JSON array of items, found {found}")]
    NotAnArray {
        /// What the input starts with (`object`, `string`, …).
        found: &'static str,
    },
    /// The input is not valid JSON at this place.
    #[error("invalid JSON at line {line}, column {column} (byte {offset}): {message}")]
    Syntax {
        /// What was wrong.
        message: String,
        /// 1-based line.
        line: usize,
        /// 1-based column, in bytes.
        column: usize,
        /// 0-based byte offset.
        offset: u64,
    },
    /// The input ended inside the array.
    #[error(
        "the array is truncated: the input ends at byte {offset} before its closing ']' \
         ({items} complete item(s) before it were mapped)"
    )]
    Truncated {
        /// The input's length in bytes.
        offset: u64,
        /// Complete items read before the end.
        items: usize,
    },
    /// An item of the array is not an object (Ocean rejects the whole result).
    #[error(
        "item {index} is {found}, but raw items must be JSON objects (Ocean rejects the whole result)"
    )]
    NotAnObject {
        /// 0-based position of the item.
        index: usize,
        /// Its JSON type.
        found: &'static str,
    },
}

/// An NDJSON line that could not be mapped; the lines after it still are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ItemError {
    /// 0-based position of the item among the input's items.
    pub index: usize,
    /// Where the line starts.
    pub position: Position,
    /// What was wrong with it.
    pub message: String,
}

impl std::fmt::Display for ItemError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "line {}: {}", self.position.line, self.message)
    }
}

/// What one raw batch gave.
#[derive(Debug, Default)]
pub struct MappedBatch {
    /// 0-based position of the batch's first item in the input.
    pub first_index: usize,
    /// Raw items in the batch (mapped or not).
    pub items: usize,
    /// One outcome per resource of the kind, in config order. Selector-error and skipped-parent
    /// positions count from the start of the input (for resources with `itemsToParse`,
    /// selector errors count within their expanded batch, as Ocean reports them).
    pub resources: Vec<ResourceOutcome>,
    /// NDJSON lines that were not mapped (malformed, or not an object).
    pub item_errors: Vec<ItemError>,
    /// In a JSON array, the first bad item: the items before it are mapped, the stream stops.
    pub fatal: Option<StreamError>,
}

/// Every resource of one kind, compiled once; `Send + Sync`, shared by the worker threads.
#[derive(Debug)]
pub struct KindMapper {
    resources: Vec<CompiledResource>,
}

impl KindMapper {
    /// Compiles every resource of `kind` in `config`, in config order.
    pub fn new(config: &PortAppConfig, kind: &str, options: &EngineOptions) -> KindMapper {
        KindMapper {
            resources: config
                .resources_of_kind(kind)
                .map(|(_, r)| CompiledResource::compile(r, options))
                .collect(),
        }
    }

    /// Number of resources of the kind.
    pub fn resources(&self) -> usize {
        self.resources.len()
    }

    /// Expressions that do not compile, resource by resource.
    pub fn compile_problems(&self) -> Vec<CompileProblem> {
        self.resources
            .iter()
            .flat_map(|r| r.compile_problems().iter().cloned())
            .collect()
    }

    /// Parses the batch's items (with `reader`, whose key cache is reused between batches) and
    /// maps them through every resource. In NDJSON a bad item is listed and skipped; in an
    /// array it ends the batch (and the stream) after the items before it.
    pub fn map_batch(&self, reader: &mut Reader, batch: &RawBatch) -> MappedBatch {
        let mut out = MappedBatch {
            first_index: batch.first_index(),
            items: batch.len(),
            ..MappedBatch::default()
        };
        let mut items: Vec<Val> = Vec::with_capacity(batch.len());
        for i in 0..batch.len() {
            let index = batch.first_index() + i;
            let position = batch.position(i);
            let problem = match reader.parse(batch.item(i)) {
                Ok(v @ Val::Obj(_)) => {
                    items.push(v);
                    continue;
                }
                Ok(other) => match batch.format() {
                    Format::Ndjson => format!(
                        "the item is {}, but raw items must be JSON objects",
                        other.type_name()
                    ),
                    Format::Array => {
                        out.fatal = Some(StreamError::NotAnObject {
                            index,
                            found: other.type_name(),
                        });
                        break;
                    }
                },
                Err(e) => {
                    let (line, column) = if e.line == 1 {
                        (position.line, position.column + e.column - 1)
                    } else {
                        (position.line + e.line - 1, e.column)
                    };
                    match batch.format() {
                        Format::Ndjson => {
                            format!("invalid JSON at column {column}: {}", e.message)
                        }
                        Format::Array => {
                            out.fatal = Some(StreamError::Syntax {
                                message: e.message,
                                line,
                                column,
                                offset: position.offset
                                    + item_offset(batch.item(i), e.line, e.column),
                            });
                            break;
                        }
                    }
                }
            };
            out.item_errors.push(ItemError {
                index,
                position,
                message: problem,
            });
        }
        // Bad NDJSON lines are left out, so positions in `items` may no longer match input
        // positions; they are only shifted when none was left out.
        let offset = if out.item_errors.is_empty() {
            batch.first_index()
        } else {
            0
        };
        out.resources = self
            .resources
            .iter()
            .map(|r| map_compiled_batch(r, items.clone(), offset))
            .collect();
        out
    }
}

/// The byte offset inside `item` of a 1-based line and column.
fn item_offset(item: &[u8], line: usize, column: usize) -> u64 {
    let mut start = 0;
    for _ in 1..line {
        match item[start..].iter().position(|b| *b == b'\n') {
            Some(p) => start += p + 1,
            None => break,
        }
    }
    (start + column - 1) as u64
}

/// Reads `source` batch by batch, runs `work` on `threads` worker threads (each with its own
/// [`Reader`]), and calls `sink` on the calling thread with every result in input order, then
/// with the error that ended the input, if any. `sink` returns `false` to stop early. At most
/// `2 × threads + 2` batches are read ahead of the sink.
pub fn map_ordered<R, T, W, S>(source: ItemReader<R>, threads: usize, work: W, mut sink: S)
where
    R: Read + Send,
    T: Send,
    W: Fn(&mut Reader, RawBatch) -> T + Sync,
    S: FnMut(Result<T, StreamError>) -> bool,
{
    let threads = threads.max(1);
    let in_flight = threads * 2 + 2;
    let stop = AtomicBool::new(false);
    let (job_tx, job_rx) = mpsc::sync_channel::<(usize, RawBatch)>(threads);
    let job_rx = Mutex::new(job_rx);
    let (res_tx, res_rx) = mpsc::channel::<(usize, Result<T, StreamError>)>();
    let (token_tx, token_rx) = mpsc::sync_channel::<()>(in_flight);
    for _ in 0..in_flight {
        token_tx.send(()).expect("the receiver is alive");
    }
    let work = &work;
    let stop = &stop;
    let job_rx = &job_rx;
    std::thread::scope(|s| {
        let reader_results = res_tx.clone();
        let mut source = source;
        s.spawn(move || {
            let mut seq = 0;
            while token_rx.recv().is_ok() && !stop.load(Ordering::Relaxed) {
                match source.next_batch() {
                    Ok(Some(batch)) => {
                        if job_tx.send((seq, batch)).is_err() {
                            break;
                        }
                        seq += 1;
                    }
                    Ok(None) => break,
                    Err(e) => {
                        let _ = reader_results.send((seq, Err(e)));
                        break;
                    }
                }
            }
        });
        for _ in 0..threads {
            let results = res_tx.clone();
            s.spawn(move || {
                let mut reader = Reader::new();
                loop {
                    let job = job_rx.lock().expect("no worker panicked").recv();
                    let Ok((seq, batch)) = job else { break };
                    // After a stop, keep draining (so the reader is never left blocked on a full
                    // queue) without mapping.
                    if stop.load(Ordering::Relaxed) {
                        continue;
                    }
                    let out = work(&mut reader, batch);
                    let _ = results.send((seq, Ok(out)));
                }
            });
        }
        drop(res_tx);
        let mut pending = BTreeMap::new();
        let mut next = 0;
        'results: for (seq, result) in res_rx.iter() {
            pending.insert(seq, result);
            while let Some(result) = pending.remove(&next) {
                next += 1;
                if !sink(result) {
                    stop.store(true, Ordering::Relaxed);
                    break 'results;
                }
                let _ = token_tx.send(());
            }
        }
        drop(token_tx);
        drop(res_rx);
    });
}
