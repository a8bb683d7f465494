//! Splitting a JSON array or NDJSON input into raw items without parsing them.

use super::StreamError;
use std::io::Read;

/// How the input holds its items.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// One JSON array of items.
    Array,
    /// One item per line (blank lines are skipped).
    Ndjson,
}

/// Where an item starts in the input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Position {
    /// 0-based byte offset.
    pub offset: u64,
    /// 1-based line.
    pub line: usize,
    /// 1-based column, in bytes.
    pub column: usize,
}

/// Consecutive raw items of the input, not parsed yet (their bytes are copied out of the
/// reader's buffer, so a batch is `Send` and independent of the reader).
#[derive(Debug, Clone)]
pub struct RawBatch {
    format: Format,
    first_index: usize,
    bytes: Vec<u8>,
    spans: Vec<(usize, usize)>,
    positions: Vec<Position>,
}

impl RawBatch {
    fn new(format: Format, first_index: usize) -> RawBatch {
        RawBatch {
            format,
            first_index,
            bytes: Vec::new(),
            spans: Vec::new(),
            positions: Vec::new(),
        }
    }

    fn push(&mut self, item: &[u8], position: Position) {
        let start = self.bytes.len();
        self.bytes.extend_from_slice(item);
        self.spans.push((start, self.bytes.len()));
        self.positions.push(position);
    }

    /// The input's format.
    pub fn format(&self) -> Format {
        self.format
    }

    /// 0-based position of the first item among the input's items.
    pub fn first_index(&self) -> usize {
        self.first_index
    }

    /// Number of items.
    pub fn len(&self) -> usize {
        self.spans.len()
    }

    /// Whether the batch has no item.
    pub fn is_empty(&self) -> bool {
        self.spans.is_empty()
    }

    /// The raw bytes of item `i` of the batch.
    pub fn item(&self, i: usize) -> &[u8] {
        let (start, end) = self.spans[i];
        &self.bytes[start..end]
    }

    /// Where item `i` of the batch starts in the input.
    pub fn position(&self, i: usize) -> Position {
        self.positions[i]
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Before the array's `[`.
    Start,
    /// Just after `[`: an item or `]`.
    First,
    /// After `,`: an item.
    Before,
    /// After an item: `,` or `]`.
    After,
    /// After `]`: only whitespace.
    End,
}

const CHUNK: usize = 256 * 1024;

/// Reads raw items from a JSON array or NDJSON input, batch by batch. Only item boundaries are
/// found here (strings, escapes and nesting are followed); each item's own syntax is checked
/// when it is parsed.
pub struct ItemReader<R> {
    input: R,
    format: Format,
    buf: Vec<u8>,
    pos: usize,
    /// Offset in the input of `buf[0]`.
    base: u64,
    eof: bool,
    line: usize,
    /// Offset in the input of the current line's first byte.
    line_start: u64,
    state: State,
    items: usize,
    max_items: usize,
    max_bytes: usize,
    pending: Option<StreamError>,
    done: bool,
}

impl<R: Read> ItemReader<R> {
    /// A reader of `input` giving batches of at most 512 items or about 1 MiB.
    pub fn new(input: R, format: Format) -> ItemReader<R> {
        ItemReader {
            input,
            format,
            buf: Vec::new(),
            pos: 0,
            base: 0,
            eof: false,
            line: 1,
            line_start: 0,
            state: State::Start,
            items: 0,
            max_items: 512,
            max_bytes: 1 << 20,
            pending: None,
            done: false,
        }
    }

    /// Sets the most items of one batch (at least 1).
    pub fn with_batch_items(mut self, items: usize) -> ItemReader<R> {
        self.max_items = items.max(1);
        self
    }

    /// The next batch; `Ok(None)` at the end of the input. An error comes after a batch with
    /// every complete item before it, and ends the stream.
    pub fn next_batch(&mut self) -> Result<Option<RawBatch>, StreamError> {
        if let Some(e) = self.pending.take() {
            self.done = true;
            return Err(e);
        }
        if self.done {
            return Ok(None);
        }
        let mut batch = RawBatch::new(self.format, self.items);
        while batch.len() < self.max_items && batch.bytes.len() < self.max_bytes {
            let next = match self.format {
                Format::Array => self.next_array_item(),
                Format::Ndjson => self.next_line(),
            };
            match next {
                Ok(Some((start, end, position))) => {
                    batch.push(&self.buf[start..end], position);
                    self.items += 1;
                }
                Ok(None) => {
                    self.done = true;
                    break;
                }
                Err(e) => {
                    if batch.is_empty() {
                        self.done = true;
                        return Err(e);
                    }
                    self.pending = Some(e);
                    break;
                }
            }
        }
        Ok((!batch.is_empty()).then_some(batch))
    }

    /// Reads more input; false at its end.
    fn fill(&mut self) -> Result<bool, StreamError> {
        if self.eof {
            return Ok(false);
        }
        if self.pos > 0 {
            self.buf.drain(..self.pos);
            self.base += self.pos as u64;
            self.pos = 0;
        }
        let len = self.buf.len();
        self.buf.resize(len + CHUNK, 0);
        let n = loop {
            match self.input.read(&mut self.buf[len..]) {
                Ok(n) => break n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(source) => {
                    self.buf.truncate(len);
                    return Err(StreamError::Io {
                        offset: self.base + len as u64,
                        source,
                    });
                }
            }
        };
        self.buf.truncate(len + n);
        if n == 0 {
            self.eof = true;
        }
        Ok(n > 0)
    }

    fn offset(&self) -> u64 {
        self.base + self.pos as u64
    }

    fn here(&self) -> Position {
        let offset = self.offset();
        Position {
            offset,
            line: self.line,
            column: (offset - self.line_start) as usize + 1,
        }
    }

    fn syntax(&self, message: &str) -> StreamError {
        let p = self.here();
        StreamError::Syntax {
            message: message.to_owned(),
            line: p.line,
            column: p.column,
            offset: p.offset,
        }
    }

    fn truncated(&self) -> StreamError {
        StreamError::Truncated {
            offset: self.base + self.buf.len() as u64,
            items: self.items,
        }
    }

    /// Moves to `to`, counting the lines passed.
    fn advance(&mut self, to: usize) {
        for (i, b) in self.buf[self.pos..to].iter().enumerate() {
            if *b == b'\n' {
                self.line += 1;
                self.line_start = self.base + (self.pos + i) as u64 + 1;
            }
        }
        self.pos = to;
    }

    /// Skips whitespace; the next byte, or `None` at the end of the input.
    fn skip_ws(&mut self) -> Result<Option<u8>, StreamError> {
        loop {
            while let Some(&b) = self.buf.get(self.pos) {
                match b {
                    b'\n' => {
                        self.line += 1;
                        self.line_start = self.offset() + 1;
                    }
                    b' ' | b'\t' | b'\r' => {}
                    _ => return Ok(Some(b)),
                }
                self.pos += 1;
            }
            if !self.fill()? {
                return Ok(None);
            }
        }
    }

    fn next_array_item(&mut self) -> Result<Option<(usize, usize, Position)>, StreamError> {
        loop {
            let b = self.skip_ws()?;
            match (self.state, b) {
                (State::Start, None) => return Err(self.syntax("unexpected end of input")),
                (State::Start, Some(b'[')) => {
                    self.pos += 1;
                    self.state = State::First;
                }
                (State::Start, Some(b)) => {
                    let found = match b {
                        b'{' => "object",
                        b'"' => "string",
                        b't' | b'f' => "boolean",
                        b'n' => "null",
                        b'-' | b'0'..=b'9' | b'N' => "number",
                        _ => return Err(self.syntax("unexpected character")),
                    };
                    return Err(StreamError::NotAnArray { found });
                }
                (State::First | State::Before | State::After, None) => {
                    return Err(self.truncated());
                }
                (State::First | State::After, Some(b']')) => {
                    self.pos += 1;
                    self.state = State::End;
                }
                (State::After, Some(b',')) => {
                    self.pos += 1;
                    self.state = State::Before;
                }
                (State::After, Some(_)) => {
                    return Err(self.syntax("expected ',' or ']' after an item"));
                }
                (State::Before, Some(b']')) => {
                    return Err(self.syntax("expected an item after ','"));
                }
                (State::First | State::Before, Some(_)) => {
                    let position = self.here();
                    let end = loop {
                        if let Some(end) = value_end(&self.buf[self.pos..], self.eof) {
                            break self.pos + end;
                        }
                        if !self.fill()? {
                            return Err(self.truncated());
                        }
                    };
                    let start = self.pos;
                    if end == start {
                        return Err(self.syntax("unexpected character"));
                    }
                    self.advance(end);
                    self.state = State::After;
                    return Ok(Some((start, end, position)));
                }
                (State::End, None) => return Ok(None),
                (State::End, Some(_)) => {
                    return Err(self.syntax("trailing characters after the JSON array"));
                }
            }
        }
    }

    fn next_line(&mut self) -> Result<Option<(usize, usize, Position)>, StreamError> {
        loop {
            let newline = self.buf[self.pos..].iter().position(|b| *b == b'\n');
            let end = match newline {
                Some(p) => self.pos + p,
                None if self.eof || !self.fill()? => {
                    if self.pos == self.buf.len() {
                        return Ok(None);
                    }
                    self.buf.len()
                }
                None => continue,
            };
            let position = self.here();
            let start = self.pos;
            let blank = self.buf[start..end].iter().all(u8::is_ascii_whitespace);
            self.pos = (end + 1).min(self.buf.len());
            self.line += 1;
            self.line_start = self.offset();
            if !blank {
                return Ok(Some((start, end, position)));
            }
        }
    }
}

/// Where the JSON value starting at `bytes[0]` ends (exclusive), or `None` when `bytes` stops
/// before its end (at the end of the input, a scalar ends there; a string or container does
/// not).
fn value_end(bytes: &[u8], at_eof: bool) -> Option<usize> {
    match bytes.first()? {
        b'{' | b'[' => {
            let mut depth = 0usize;
            let mut i = 0;
            while i < bytes.len() {
                match bytes[i] {
                    b'"' => i = string_end(bytes, i)?,
                    b'{' | b'[' => {
                        depth += 1;
                        i += 1;
                    }
                    b'}' | b']' => {
                        depth -= 1;
                        i += 1;
                        if depth == 0 {
                            return Some(i);
                        }
                    }
                    _ => i += 1,
                }
            }
            None
        }
        b'"' => string_end(bytes, 0),
        _ => match bytes
            .iter()
            .position(|b| matches!(b, b' ' | b'\t' | b'\r' | b'\n' | b',' | b']' | b'}'))
        {
            Some(end) => Some(end),
            None if at_eof => Some(bytes.len()),
            None => None,
        },
    }
}

/// Where the JSON string starting at `bytes[start]` (a `"`) ends (exclusive), or `None` when
/// `bytes` stops before its closing quote.
fn string_end(bytes: &[u8], start: usize) -> Option<usize> {
    let mut i = start + 1;
    loop {
        i += memchr::memchr2(b'"', b'\\', &bytes[i..])?;
        if bytes[i] == b'"' {
            return Some(i + 1);
        }
        // A backslash escapes the byte after it.
        i += 2;
        if i > bytes.len() {
            return None;
        }
    }
}
