//! A token-level pass over a JQ program before jaq compiles it.
//!
//! Two differences between jq 1.8.2 and jaq are settled here, without parsing the program:
//! `$__loc__` (which jaq's parser lacks) becomes the object jq gives it, and a call to a builtin
//! that jaq's standard library has but jq does not (`isstring`, `tobytes`, `pow10`, …) is
//! rejected as jq rejects it, with jq's "name/arity is not defined". Strings, comments, field
//! names (`.name`), variables, object keys and local `def`s are recognised so that only real
//! calls are checked.

/// Rewrites `$__loc__` and rejects calls for which `is_blocked(name, arity)` holds.
pub fn prepare(code: &str, is_blocked: impl Fn(&str, usize) -> bool) -> Result<String, String> {
    let tokens = lex(code);
    let mut out = String::with_capacity(code.len());
    let mut last = 0;
    let local_defs: Vec<&str> = tokens
        .windows(2)
        .filter(|w| w[0].text == "def" && w[1].kind == Kind::Ident)
        .map(|w| w[1].text)
        .collect();
    // Which bracket each token sits in, to tell object keys from calls.
    let mut stack: Vec<&str> = Vec::new();
    for (i, t) in tokens.iter().enumerate() {
        match t.kind {
            Kind::Punct => match t.text {
                "(" | "[" | "{" => stack.push(t.text),
                ")" | "]" | "}" => {
                    stack.pop();
                }
                _ => {}
            },
            Kind::Var if t.text == "$__loc__" => {
                out.push_str(&code[last..t.start]);
                let line = code[..t.start].matches('\n').count() + 1;
                let prev = i.checked_sub(1).map(|j| tokens[j].text);
                let next = tokens.get(i + 1).map(|n| n.text);
                if stack.last() == Some(&"{")
                    && matches!(prev, Some("{" | ","))
                    && matches!(next, Some("," | "}"))
                {
                    // `{$__loc__}` is shorthand for `{"__loc__": $__loc__}`.
                    out.push_str("\"__loc__\": ");
                }
                out.push_str(&format!("{{\"file\":\"<top-level>\",\"line\":{line}}}"));
                last = t.start + t.text.len();
            }
            Kind::Ident => {
                let prev = i.checked_sub(1).map(|j| &tokens[j]);
                let next = tokens.get(i + 1);
                let after_dot = prev.is_some_and(|p| p.text == "." && p.start + 1 == t.start);
                let after_def = prev.is_some_and(|p| p.text == "def");
                let is_key = next.is_some_and(|n| n.text == ":")
                    || (stack.last() == Some(&"{")
                        && prev.is_some_and(|p| p.text == "{" || p.text == ",")
                        && next.is_some_and(|n| n.text == "," || n.text == "}"));
                if after_dot || after_def || is_key || KEYWORDS.contains(&t.text) {
                    continue;
                }
                if local_defs.contains(&t.text) {
                    continue;
                }
                let arity = arity_at(&tokens, i + 1);
                if is_blocked(t.text, arity) {
                    return Err(format!("{}/{arity} is not defined", t.text));
                }
            }
            _ => {}
        }
    }
    out.push_str(&code[last..]);
    Ok(out)
}

const KEYWORDS: &[&str] = &[
    "and", "as", "catch", "def", "elif", "else", "end", "foreach", "if", "import", "include",
    "label", "or", "reduce", "then", "try", "__loc__", "null", "true", "false",
];

/// The number of arguments of a call whose name is followed by token `i`.
fn arity_at(tokens: &[Token<'_>], i: usize) -> usize {
    if tokens.get(i).map(|t| t.text) != Some("(") {
        return 0;
    }
    let mut depth = 0;
    let mut arity = 1;
    for t in &tokens[i..] {
        match t.text {
            "(" | "[" | "{" => depth += 1,
            ")" | "]" | "}" => {
                depth -= 1;
                if depth == 0 {
                    break;
                }
            }
            ";" if depth == 1 => arity += 1,
            _ => {}
        }
    }
    arity
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Ident,
    Var,
    Punct,
    Other,
}

#[derive(Debug, Clone, Copy)]
struct Token<'a> {
    kind: Kind,
    text: &'a str,
    start: usize,
}

/// Splits a program into the tokens this pass cares about. String contents are skipped, but
/// the code inside `\( … )` interpolations is tokenised.
fn lex(code: &str) -> Vec<Token<'_>> {
    let b = code.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    // Each entry: the parenthesis depth at which an interpolation returns to its string.
    let mut interp: Vec<usize> = Vec::new();
    let mut paren = 0usize;
    let ident = |c: u8| c.is_ascii_alphanumeric() || c == b'_';
    while i < b.len() {
        let c = b[i];
        if c == b'"' {
            i = skip_string(b, i + 1, &mut interp, paren);
            continue;
        }
        if c == b'#' {
            while i < b.len() && b[i] != b'\n' {
                i += 1;
            }
            continue;
        }
        if c == b'$' || c.is_ascii_alphabetic() || c == b'_' || c == b'@' {
            let start = i;
            i += 1;
            while i < b.len() && (ident(b[i]) || (b[i] == b':' && b.get(i + 1) == Some(&b':'))) {
                i += if b[i] == b':' { 2 } else { 1 };
            }
            let kind = match c {
                b'$' => Kind::Var,
                b'@' => Kind::Other,
                _ => Kind::Ident,
            };
            out.push(Token {
                kind,
                text: &code[start..i],
                start,
            });
            continue;
        }
        if c.is_ascii_digit() {
            while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'.') {
                i += 1;
            }
            continue;
        }
        if c.is_ascii_whitespace() {
            i += 1;
            continue;
        }
        if c == b'(' {
            paren += 1;
        }
        if c == b')' {
            if interp.last() == Some(&paren) {
                // End of an interpolation: back inside the string.
                interp.pop();
                paren = paren.saturating_sub(1);
                i = skip_string(b, i + 1, &mut interp, paren);
                continue;
            }
            paren = paren.saturating_sub(1);
        }
        let len = code[i..].chars().next().map_or(1, char::len_utf8);
        out.push(Token {
            kind: if len == 1 { Kind::Punct } else { Kind::Other },
            text: &code[i..i + len],
            start: i,
        });
        i += len;
    }
    out
}

/// Skips string content from `i` (just after a quote or a closing interpolation) to just after
/// the closing quote, or to just after `\(` when an interpolation starts.
fn skip_string(b: &[u8], mut i: usize, interp: &mut Vec<usize>, paren: usize) -> usize {
    while i < b.len() {
        match b[i] {
            b'"' => return i + 1,
            b'\\' if b.get(i + 1) == Some(&b'(') => {
                interp.push(paren + 1);
                return i + 1;
            }
            b'\\' => i += 2,
            _ => i += 1,
        }
    }
    i
}

#[cfg(test)]
mod tests {
    use super::*;

    fn blocked(name: &str, _arity: usize) -> bool {
        name == "isstring" || name == "pow10"
    }

    #[test]
    fn loc_becomes_an_object_with_the_line() {
        assert_eq!(
            prepare("$__loc__", blocked).unwrap(),
            r#"{"file":"<top-level>","line":1}"#
        );
        assert_eq!(
            prepare("1 |\n $__loc__.line", blocked).unwrap(),
            "1 |\n {\"file\":\"<top-level>\",\"line\":2}.line"
        );
        assert_eq!(prepare(r#""$__loc__""#, blocked).unwrap(), r#""$__loc__""#);
    }

    #[test]
    fn only_real_calls_of_jaq_only_builtins_are_rejected() {
        assert_eq!(
            prepare("isstring", blocked).unwrap_err(),
            "isstring/0 is not defined"
        );
        assert_eq!(
            prepare(".a | pow10", blocked).unwrap_err(),
            "pow10/0 is not defined"
        );
        assert!(prepare(".isstring", blocked).is_ok());
        assert!(prepare("{isstring: 1}", blocked).is_ok());
        assert!(prepare("{isstring}", blocked).is_ok());
        assert!(prepare("\"isstring\"", blocked).is_ok());
        assert!(prepare("def isstring: 1; isstring", blocked).is_ok());
        assert!(prepare("# isstring\n1", blocked).is_ok());
        assert_eq!(
            prepare("\"\\(isstring)\"", blocked).unwrap_err(),
            "isstring/0 is not defined"
        );
        assert!(prepare("\"\\(.a) isstring\"", blocked).is_ok());
    }

    #[test]
    fn arity_counts_top_level_semicolons() {
        let toks = lex("f(a; [1;2]; g(x;y))");
        assert_eq!(arity_at(&toks, 1), 3);
    }
}
