//! Process-wide logging: `tracing` to stdout, human-readable on a terminal and JSON lines
//! otherwise (`APPLICATION__LOG_FORMAT` overrides), with every sensitive setting value replaced by
//! `[REDACTED]` in every line, whatever code wrote it.
//!
//! Masking happens on the formatted line (each event is buffered and masked as a whole before it
//! is written), so no field, error chain or third-party message can leak a credential. When the
//! `--once` progress display is active, lines are written through it so bars and logs do not
//! garble each other. `RUST_LOG`, when set, replaces the level filter.
//! Log shipping to Port (`enable_http_logging`) is not implemented yet.

use std::fmt;
use std::io::{IsTerminal, Write};
use std::sync::{Arc, Mutex};

use indicatif::MultiProgress;
use ocean_config::{ApplicationSettings, LogFormat, LogLevel};
use ocean_lifecycle::Masker;
use time::OffsetDateTime;
use time::macros::format_description;
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields, MakeWriter};
use tracing_subscriber::registry::LookupSpan;

/// Where the progress display lives while it is shown.
pub(crate) type ProgressSlot = Arc<Mutex<Option<MultiProgress>>>;

/// What [`init`] set up.
pub(crate) struct LogHandle {
    /// Human output on a terminal: a live progress display may be shown.
    pub interactive: bool,
    /// Set by the progress display while it is shown.
    pub progress: ProgressSlot,
}

/// Installs the global subscriber. Safe to call once per process (later calls are ignored).
/// With `to_stderr` the log goes to stderr (a dry run, whose plan is the standard output).
pub(crate) fn init(app: &ApplicationSettings, masker: Masker, to_stderr: bool) -> LogHandle {
    let terminal = if to_stderr {
        std::io::stderr().is_terminal()
    } else {
        std::io::stdout().is_terminal()
    };
    let json = match app.log_format {
        LogFormat::Json => true,
        LogFormat::Human => false,
        LogFormat::Auto => !terminal,
    };
    let progress: ProgressSlot = Arc::new(Mutex::new(None));
    let output = LogOutput {
        masker,
        progress: progress.clone(),
        to_stderr,
    };
    let filter = std::env::var("RUST_LOG")
        .ok()
        .and_then(|v| EnvFilter::try_new(v).ok())
        .unwrap_or_else(|| EnvFilter::new(default_filter(app.log_level)));
    let color = !json && terminal && std::env::var_os("NO_COLOR").is_none();
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(color)
        .with_writer(output);
    let _ = if json {
        builder
            .json()
            .flatten_event(true)
            .with_current_span(false)
            .with_span_list(false)
            .try_init()
    } else {
        builder.event_format(HumanFormat { color }).try_init()
    };
    LogHandle {
        interactive: !json && terminal && std::io::stderr().is_terminal(),
        progress,
    }
}

/// The level for Ocean's own code; HTTP internals stay at warnings.
fn default_filter(level: LogLevel) -> String {
    let level = match level {
        LogLevel::Debug => "debug",
        LogLevel::Info => "info",
        LogLevel::Warning => "warn",
        LogLevel::Error | LogLevel::Critical => "error",
    };
    format!("{level},hyper=warn,hyper_util=warn,reqwest=warn,h2=warn,rustls=warn")
}

/// Makes one [`LineWriter`] per event.
#[derive(Clone)]
struct LogOutput {
    masker: Masker,
    progress: ProgressSlot,
    to_stderr: bool,
}

impl<'a> MakeWriter<'a> for LogOutput {
    type Writer = LineWriter;

    fn make_writer(&'a self) -> LineWriter {
        LineWriter {
            buf: Vec::with_capacity(256),
            output: self.clone(),
        }
    }
}

/// Buffers one formatted event; masks and writes it when dropped.
struct LineWriter {
    buf: Vec<u8>,
    output: LogOutput,
}

impl Write for LineWriter {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        self.buf.extend_from_slice(data);
        Ok(data.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Drop for LineWriter {
    fn drop(&mut self) {
        if self.buf.is_empty() {
            return;
        }
        let text = String::from_utf8_lossy(&self.buf);
        let masked = self.output.masker.mask(&text);
        let to_stderr = self.output.to_stderr;
        let write = || {
            if to_stderr {
                let mut out = std::io::stderr().lock();
                let _ = out.write_all(masked.as_bytes());
                let _ = out.flush();
            } else {
                let mut out = std::io::stdout().lock();
                let _ = out.write_all(masked.as_bytes());
                let _ = out.flush();
            }
        };
        let progress = self
            .output
            .progress
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        match progress {
            Some(bars) => bars.suspend(write),
            None => write(),
        }
    }
}

/// `2026-01-01 10:00:00.123 | INFO     | message key=value`, as Python Ocean's stdout sink (UTC).
struct HumanFormat {
    color: bool,
}

impl<S, N> FormatEvent<S, N> for HumanFormat
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let now = OffsetDateTime::now_utc();
        let stamp = now
            .format(format_description!(
                "[year]-[month]-[day] [hour]:[minute]:[second].[subsecond digits:3]"
            ))
            .unwrap_or_default();
        let level = *event.metadata().level();
        let (name, color) = match level {
            Level::ERROR => ("ERROR", "\x1b[31m"),
            Level::WARN => ("WARNING", "\x1b[33m"),
            Level::INFO => ("INFO", "\x1b[32m"),
            Level::DEBUG => ("DEBUG", "\x1b[34m"),
            Level::TRACE => ("TRACE", "\x1b[35m"),
        };
        if self.color {
            write!(writer, "{stamp} | {color}{name:<8}\x1b[0m | ")?;
        } else {
            write!(writer, "{stamp} | {name:<8} | ")?;
        }
        ctx.field_format().format_fields(writer.by_ref(), event)?;
        writeln!(writer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_masked_before_they_are_written() {
        let output = LogOutput {
            masker: Masker::new(["hunter2-secret"]),
            progress: Arc::new(Mutex::new(None)),
            to_stderr: false,
        };
        let mut writer = output.make_writer();
        writer
            .write_all(b"token hunter2-secret in a line\n")
            .unwrap();
        let text = String::from_utf8_lossy(&writer.buf).into_owned();
        assert_eq!(output.masker.mask(&text), "token [REDACTED] in a line\n");
        writer.buf.clear();
    }

    #[test]
    fn filters_keep_http_internals_quiet() {
        assert_eq!(
            default_filter(LogLevel::Warning),
            "warn,hyper=warn,hyper_util=warn,reqwest=warn,h2=warn,rustls=warn"
        );
        assert!(default_filter(LogLevel::Critical).starts_with("error,"));
    }
}
