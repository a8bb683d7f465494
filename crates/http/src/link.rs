//! The HTTP `Link` header (RFC 8288), as APIs use it for pagination:
//! `<https://api.github.com/repositories/1/issues?page=2>; rel="next", <…?page=5>; rel="last"`.
//!
//! Written here rather than taken from a crate because the one on crates.io strips every space
//! and quote before splitting, which breaks `rel="next last"` and URLs with commas; this parser
//! follows the grammar: URI references in angle brackets, `;`-separated parameters whose values
//! may be quoted strings (with commas and escapes inside), several space-separated relation
//! types in one `rel`.

/// One link of a `Link` header: its target (as written, possibly relative) and its relation
/// types (lower-cased).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Link {
    /// The URI reference between `<` and `>`.
    pub target: String,
    /// The relation types of `rel` (`next`, `last`, …), lower-cased.
    pub rels: Vec<String>,
}

/// Every well-formed link of a `Link` header value, in order. Malformed entries are skipped.
pub fn parse_link_header(value: &str) -> Vec<Link> {
    let mut links = Vec::new();
    let mut rest = value;
    loop {
        rest = rest.trim_start_matches(|c: char| c == ',' || c.is_whitespace());
        let Some(after) = rest.strip_prefix('<') else {
            // Not a link: skip to the next comma outside quotes.
            match skip_entry(rest) {
                Some(next) => {
                    rest = next;
                    continue;
                }
                None => break,
            }
        };
        let Some(end) = after.find('>') else { break };
        let target = after[..end].trim().to_owned();
        rest = &after[end + 1..];
        let mut rels = Vec::new();
        // Parameters: `; name=value` or `; name="quoted, value"`, until a comma.
        loop {
            rest = rest.trim_start();
            let Some(param) = rest.strip_prefix(';') else {
                break;
            };
            let param = param.trim_start();
            let name_end = param
                .find(|c: char| c == '=' || c == ';' || c == ',' || c.is_whitespace())
                .unwrap_or(param.len());
            let name = param[..name_end].to_ascii_lowercase();
            let mut tail = param[name_end..].trim_start();
            let mut value = String::new();
            if let Some(v) = tail.strip_prefix('=') {
                let v = v.trim_start();
                if let Some(quoted) = v.strip_prefix('"') {
                    let (text, after_quote) = read_quoted(quoted);
                    value = text;
                    tail = after_quote;
                } else {
                    let end = v.find([';', ',']).unwrap_or(v.len());
                    value = v[..end].trim().to_owned();
                    tail = &v[end..];
                }
            }
            rest = tail;
            if name == "rel" && rels.is_empty() {
                rels = value
                    .split_ascii_whitespace()
                    .map(str::to_ascii_lowercase)
                    .collect();
            }
        }
        links.push(Link { target, rels });
    }
    links
}

/// The target of the first link with relation `rel` (e.g. `next`), as written.
pub fn find_link(value: &str, rel: &str) -> Option<String> {
    let rel = rel.to_ascii_lowercase();
    parse_link_header(value)
        .into_iter()
        .find(|l| l.rels.contains(&rel))
        .map(|l| l.target)
}

/// Reads a quoted string's content (the opening quote already consumed): the text with
/// escapes resolved, and what follows the closing quote.
fn read_quoted(s: &str) -> (String, &str) {
    let mut out = String::new();
    let mut chars = s.char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            '\\' => {
                if let Some((_, escaped)) = chars.next() {
                    out.push(escaped);
                }
            }
            '"' => return (out, &s[i + 1..]),
            c => out.push(c),
        }
    }
    (out, "")
}

/// What follows the next comma outside quotes, if any.
fn skip_entry(s: &str) -> Option<&str> {
    let mut quoted = false;
    let mut escaped = false;
    for (i, c) in s.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' if quoted => escaped = true,
            '"' => quoted = !quoted,
            ',' if !quoted => return Some(&s[i + 1..]),
            _ => {}
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn link(target: &str, rels: &[&str]) -> Link {
        Link {
            target: target.into(),
            rels: rels.iter().map(|r| r.to_string()).collect(),
        }
    }

    #[test]
    fn github_style_headers() {
        let value = r#"<https://api.github.com/organizations/1/repos?page=2>; rel="next", <https://api.github.com/organizations/1/repos?page=5>; rel="last""#;
        assert_eq!(
            parse_link_header(value),
            [
                link(
                    "https://api.github.com/organizations/1/repos?page=2",
                    &["next"]
                ),
                link(
                    "https://api.github.com/organizations/1/repos?page=5",
                    &["last"]
                ),
            ]
        );
        assert_eq!(
            find_link(value, "next").as_deref(),
            Some("https://api.github.com/organizations/1/repos?page=2")
        );
        assert_eq!(find_link(value, "prev"), None);
    }

    #[test]
    fn quoting_several_rels_relative_targets_and_odd_spacing() {
        let value = "</items?cursor=a,b>;rel=\"next last\" ; title=\"x, \\\"y\\\"\",\t<p2>;REL=Prev,garbage;rel=next, <p3>";
        assert_eq!(
            parse_link_header(value),
            [
                link("/items?cursor=a,b", &["next", "last"]),
                link("p2", &["prev"]),
                link("p3", &[]),
            ]
        );
        assert_eq!(
            find_link(value, "LAST").as_deref(),
            Some("/items?cursor=a,b")
        );
        assert_eq!(parse_link_header(""), []);
        assert_eq!(parse_link_header("<unterminated; rel=next"), []);
    }
}
