//! The `.env` file: `KEY=value` lines read from the working directory, below real environment
//! variables in precedence.
//!
//! The syntax follows what deployments written for the reference already contain (its parser is
//! `python-dotenv`): `export` prefixes, `#` comments, single-quoted literal values, double-quoted
//! values with backslash escapes that may span lines, unquoted values ending at ` #`, and `${VAR}` /
//! `${VAR:-default}` expansion from earlier lines, then from the environment. A line that cannot be
//! parsed is skipped with a warning naming its line, as the reference does — it never aborts
//! loading. Every entry keeps its line number so that configuration errors can point at it.
//!
//! It deliberately does not modify the process environment: the loader passes the entries along
//! explicitly, which keeps loading free of global side effects and testable.

use std::collections::BTreeMap;

/// One `KEY=value` binding of a `.env` file.
#[derive(Clone, PartialEq, Eq)]
pub struct DotEnvEntry {
    /// The key as written (case preserved).
    pub key: String,
    /// The value after unquoting, unescaping and `${VAR}` expansion.
    pub value: String,
    /// The 1-based line the binding starts on.
    pub line: usize,
}

impl std::fmt::Debug for DotEnvEntry {
    // Values can be credentials: show only where the entry is.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "DotEnvEntry({} at line {})", self.key, self.line)
    }
}

/// The parsed `.env` file: its bindings in file order, and the lines that were skipped.
#[derive(Debug, Clone, Default)]
pub struct DotEnv {
    /// Bindings in file order (a key bound twice appears twice; the later one wins).
    pub entries: Vec<DotEnvEntry>,
    /// One message per line that could not be parsed (`line 4: ...`).
    pub warnings: Vec<String>,
}

impl DotEnv {
    /// Parses `.env` text. `environment` supplies `${VAR}` values not bound earlier in the file.
    pub fn parse(text: &str, environment: &BTreeMap<String, String>) -> DotEnv {
        let mut parser = Parser {
            chars: text.chars().collect(),
            pos: 0,
            line: 1,
        };
        let mut result = DotEnv::default();
        let mut bound: BTreeMap<String, String> = BTreeMap::new();
        loop {
            parser.skip_blank_lines_and_comments();
            if parser.at_end() {
                break;
            }
            let start_line = parser.line;
            let start = (parser.pos, parser.line);
            match parser.binding() {
                Ok(Some((key, raw))) => {
                    let value = expand(&raw, &bound, environment);
                    bound.insert(key.clone(), value.clone());
                    result.entries.push(DotEnvEntry {
                        key,
                        value,
                        line: start_line,
                    });
                }
                Ok(None) => {}
                Err(reason) => {
                    result
                        .warnings
                        .push(format!("line {start_line}: {reason}; the line is ignored"));
                    (parser.pos, parser.line) = start;
                    parser.skip_rest_of_line();
                }
            }
        }
        result
    }

    /// The last value bound to `key` (exact, case-sensitive match).
    pub fn get(&self, key: &str) -> Option<&DotEnvEntry> {
        self.entries.iter().rev().find(|e| e.key == key)
    }
}

struct Parser {
    chars: Vec<char>,
    pos: usize,
    line: usize,
}

impl Parser {
    fn at_end(&self) -> bool {
        self.pos >= self.chars.len()
    }

    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.pos += 1;
        if c == '\n' {
            self.line += 1;
        }
        Some(c)
    }

    fn skip_inline_space(&mut self) {
        while matches!(self.peek(), Some(c) if c != '\n' && c != '\r' && c.is_whitespace()) {
            self.bump();
        }
    }

    fn skip_rest_of_line(&mut self) {
        while let Some(c) = self.bump() {
            if c == '\n' {
                break;
            }
        }
    }

    fn skip_blank_lines_and_comments(&mut self) {
        loop {
            let save = (self.pos, self.line);
            self.skip_inline_space();
            match self.peek() {
                Some('\n') | Some('\r') => {
                    self.bump();
                }
                Some('#') => self.skip_rest_of_line(),
                _ => {
                    (self.pos, self.line) = save;
                    // Leading spaces before a binding are allowed; consume them.
                    self.skip_inline_space();
                    return;
                }
            }
        }
    }

    fn starts_with(&self, word: &str) -> bool {
        word.chars()
            .enumerate()
            .all(|(i, w)| self.chars.get(self.pos + i) == Some(&w))
    }

    /// One binding; `Ok(None)` for a key without `=` (which binds nothing).
    fn binding(&mut self) -> Result<Option<(String, String)>, String> {
        if self.starts_with("export")
            && matches!(self.chars.get(self.pos + 6), Some(c) if *c == ' ' || *c == '\t')
        {
            self.pos += 6;
            self.skip_inline_space();
        }
        let key = self.key()?;
        self.skip_inline_space();
        if self.peek() != Some('=') {
            self.end_of_line()?;
            return Ok(None);
        }
        self.bump();
        self.skip_inline_space();
        let value = match self.peek() {
            Some('\'') => {
                let v = self.quoted('\'')?;
                self.end_of_line()?;
                v
            }
            Some('"') => {
                let v = self.quoted('"')?;
                self.end_of_line()?;
                v
            }
            _ => self.unquoted(),
        };
        Ok(Some((key, value)))
    }

    fn key(&mut self) -> Result<String, String> {
        if self.peek() == Some('\'') {
            self.bump();
            let mut key = String::new();
            loop {
                match self.bump() {
                    Some('\'') if !key.is_empty() => return Ok(key),
                    Some('\'') | None => return Err("unterminated quoted key".into()),
                    Some(c) => key.push(c),
                }
            }
        }
        let mut key = String::new();
        while let Some(c) = self.peek() {
            if c == '=' || c == '#' || c.is_whitespace() {
                break;
            }
            key.push(c);
            self.bump();
        }
        if key.is_empty() {
            return Err("expected KEY=value".into());
        }
        Ok(key)
    }

    /// After a quoted value: optional spaces and comment, then the end of the line.
    fn end_of_line(&mut self) -> Result<(), String> {
        self.skip_inline_space();
        match self.peek() {
            None => Ok(()),
            Some('\n') => {
                self.bump();
                Ok(())
            }
            Some('\r') => {
                self.bump();
                if self.peek() == Some('\n') {
                    self.bump();
                }
                Ok(())
            }
            Some('#') => {
                self.skip_rest_of_line();
                Ok(())
            }
            Some(_) => Err("unexpected text after the value".into()),
        }
    }

    fn quoted(&mut self, quote: char) -> Result<String, String> {
        self.bump();
        let mut value = String::new();
        loop {
            match self.bump() {
                None => return Err(format!("unterminated {quote}-quoted value")),
                Some(c) if c == quote => return Ok(value),
                Some('\\') => match (quote, self.bump()) {
                    (_, None) => return Err(format!("unterminated {quote}-quoted value")),
                    ('\'', Some(c @ ('\\' | '\''))) => value.push(c),
                    ('\'', Some(c)) => {
                        value.push('\\');
                        value.push(c);
                    }
                    (_, Some(c)) => match c {
                        'n' => value.push('\n'),
                        't' => value.push('\t'),
                        'r' => value.push('\r'),
                        'a' => value.push('\u{7}'),
                        'b' => value.push('\u{8}'),
                        'f' => value.push('\u{c}'),
                        'v' => value.push('\u{b}'),
                        '\\' | '"' | '\'' => value.push(c),
                        '\n' => {}
                        other => {
                            value.push('\\');
                            value.push(other);
                        }
                    },
                },
                Some(c) => value.push(c),
            }
        }
    }

    /// An unquoted value: the rest of the line, without a ` #` comment or trailing spaces.
    fn unquoted(&mut self) -> String {
        let mut raw = String::new();
        while let Some(c) = self.peek() {
            if c == '\n' || c == '\r' {
                break;
            }
            raw.push(c);
            self.bump();
        }
        let _ = self.end_of_line();
        // A comment starts at whitespace followed by `#`.
        let mut cut = raw.len();
        let bytes: Vec<(usize, char)> = raw.char_indices().collect();
        for window in bytes.windows(2) {
            if window[0].1.is_whitespace() && window[1].1 == '#' {
                cut = window[0].0;
                break;
            }
        }
        raw[..cut].trim_end().to_owned()
    }
}

/// Expands `${NAME}` and `${NAME:-default}` from earlier bindings, then from the environment;
/// an unknown name expands to the default or the empty string. `$NAME` without braces is kept.
fn expand(
    value: &str,
    bound: &BTreeMap<String, String>,
    environment: &BTreeMap<String, String>,
) -> String {
    let mut out = String::with_capacity(value.len());
    let mut rest = value;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let Some(end) = after.find('}') else {
            out.push_str(&rest[start..]);
            return out;
        };
        let inner = &after[..end];
        let (name, default) = match inner.split_once(":-") {
            Some((n, d)) => (n, Some(d)),
            None => (inner, None),
        };
        let valid_name = !name.is_empty()
            && name
                .chars()
                .all(|c| c.is_alphanumeric() || c == '_' || c == '.' || c == '-');
        if !valid_name {
            out.push_str(&rest[start..start + 2 + end + 1]);
        } else if let Some(v) = bound.get(name).or_else(|| environment.get(name)) {
            out.push_str(v);
        } else {
            out.push_str(default.unwrap_or(""));
        }
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> DotEnv {
        let env = BTreeMap::from([("HOME".to_owned(), "/home/ocean".to_owned())]);
        DotEnv::parse(text, &env)
    }

    fn check(text: &str, expected: &[(&str, &str, usize)]) {
        let parsed = parse(text);
        let got: Vec<(&str, &str, usize)> = parsed
            .entries
            .iter()
            .map(|e| (e.key.as_str(), e.value.as_str(), e.line))
            .collect();
        assert_eq!(got, expected, "parsing {text:?}");
        assert!(parsed.warnings.is_empty(), "{:?}", parsed.warnings);
    }

    #[test]
    fn plain_bindings_comments_and_export() {
        check(
            "# comment\n\nOCEAN__PORT__CLIENT_ID=abc\nexport OCEAN__RUNTIME=OnPrem\n  SPACED = value with spaces  \n",
            &[
                ("OCEAN__PORT__CLIENT_ID", "abc", 3),
                ("OCEAN__RUNTIME", "OnPrem", 4),
                ("SPACED", "value with spaces", 5),
            ],
        );
    }

    #[test]
    fn comments_after_values() {
        check(
            "A=1 # one\nB=x#not-a-comment\nC='quoted # kept' # dropped\nD=\"dq\" # dropped\n",
            &[
                ("A", "1", 1),
                ("B", "x#not-a-comment", 2),
                ("C", "quoted # kept", 3),
                ("D", "dq", 4),
            ],
        );
    }

    #[test]
    fn quotes_and_escapes() {
        check(
            "S='a\\'b ${HOME}'\nD=\"line1\\nline2 \\\"q\\\"\"\nM=\"multi\nline\"\nAFTER=1\nE=\n",
            &[
                ("S", "a'b /home/ocean", 1),
                ("D", "line1\nline2 \"q\"", 2),
                ("M", "multi\nline", 3),
                ("AFTER", "1", 5),
                ("E", "", 6),
            ],
        );
    }

    #[test]
    fn json_values_survive_single_quotes() {
        check(
            "OCEAN__EVENT_LISTENER='{\"type\":\"KAFKA\"}'\n",
            &[("OCEAN__EVENT_LISTENER", "{\"type\":\"KAFKA\"}", 1)],
        );
    }

    #[test]
    fn expansion_prefers_earlier_lines_then_environment() {
        check(
            "BASE=https://x\nURL=${BASE}/api\nH=\"${HOME}/d\"\nMISSING=${NOPE:-fallback}|${NOPE}|\nRAW=$HOME\n",
            &[
                ("BASE", "https://x", 1),
                ("URL", "https://x/api", 2),
                ("H", "/home/ocean/d", 3),
                ("MISSING", "fallback||", 4),
                ("RAW", "$HOME", 5),
            ],
        );
    }

    #[test]
    fn key_without_value_binds_nothing_and_bad_lines_warn() {
        let parsed = parse("LONELY\nGOOD=1\nBAD='unterminated\n");
        assert_eq!(parsed.entries.len(), 1);
        assert_eq!(parsed.entries[0].key, "GOOD");
        assert_eq!(
            parsed.warnings,
            vec!["line 3: unterminated '-quoted value; the line is ignored"]
        );
    }

    #[test]
    fn crlf_line_endings() {
        check("A=1\r\nB='2'\r\n", &[("A", "1", 1), ("B", "2", 2)]);
    }

    #[test]
    fn debug_hides_values() {
        let parsed = parse("TOKEN=s3cr3t\n");
        assert!(!format!("{parsed:?}").contains("s3cr3t"));
    }
}
