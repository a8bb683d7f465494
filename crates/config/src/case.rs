//! Key-name conversions shared by every source: camelCase `config.yaml` keys and spec
//! configuration names become snake_case settings keys, and those become `OCEAN__…` variable names.
//!
//! [`decamelize`] reproduces the reference's conversion (the `humps` Python library) rule for rule,
//! quirks included (`"ID"` stays `"ID"`, `"camel_Case"` becomes `"camel__case"`), because it decides
//! which environment variable name a spec configuration answers to, and existing deployments
//! already use those names. It does no other normalisation (no trimming, no Unicode folding).

/// Converts a camelCase (or PascalCase) key to snake_case the way the reference does.
///
/// Already snake_case keys are returned unchanged; acronyms stay together
/// (`apiBaseURL` → `api_base_url`, `HTTPSProxy` → `https_proxy`); a key with no lower-case letter
/// (`ID`, `OCEAN`) or made only of digits is returned as it is.
pub fn decamelize(key: &str) -> String {
    if is_python_upper(key) || (!key.is_empty() && key.chars().all(char::is_numeric)) {
        return key.to_owned();
    }
    separate_words(&fix_abbreviations(key)).to_lowercase()
}

/// The environment variable a settings key path is read from: `["event_listener", "interval"]`
/// → `OCEAN__EVENT_LISTENER__INTERVAL`.
pub fn env_var_name<S: AsRef<str>>(path: &[S]) -> String {
    let mut name = String::from("OCEAN");
    for segment in path {
        name.push_str("__");
        name.push_str(&segment.as_ref().to_uppercase());
    }
    name
}

/// The environment variable an integration configuration named in the spec is read from:
/// `apiBaseUrl` → `OCEAN__INTEGRATION__CONFIG__API_BASE_URL`.
pub fn integration_config_env_var(spec_name: &str) -> String {
    env_var_name(&["integration", "config", &decamelize(spec_name)])
}

/// Python's `str.isupper()`: at least one cased character and no lower-case one.
fn is_python_upper(s: &str) -> bool {
    let mut cased = false;
    for c in s.chars() {
        if c.is_lowercase() {
            return false;
        }
        if c.is_uppercase() {
            cased = true;
        }
    }
    cased
}

fn is_upper_or_digit(c: char) -> bool {
    c.is_ascii_uppercase() || c.is_ascii_digit()
}

/// Title-cases runs of capitals and digits so that an acronym reads as one word: a run at the end
/// of the key is title-cased whole, a run followed by a lower-case letter keeps its last capital
/// (which starts the next word).
fn fix_abbreviations(s: &str) -> String {
    let chars: Vec<char> = s.chars().collect();
    let mut out = String::with_capacity(s.len());
    let mut i = 0;
    while i < chars.len() {
        if !is_upper_or_digit(chars[i]) {
            out.push(chars[i]);
            i += 1;
            continue;
        }
        let start = i;
        while i < chars.len() && is_upper_or_digit(chars[i]) {
            i += 1;
        }
        let run = &chars[start..i];
        if i == chars.len() {
            out.push_str(&python_title(run));
        } else if run.len() >= 2 {
            out.push_str(&python_title(&run[..run.len() - 1]));
            out.push(run[run.len() - 1]);
        } else {
            out.push(run[0]);
        }
    }
    out
}

/// Python's `str.title()` on a run of capitals and digits: a letter is upper-cased after an
/// uncased character (or at the start) and lower-cased after a letter.
fn python_title(run: &[char]) -> String {
    let mut out = String::with_capacity(run.len());
    let mut previous_cased = false;
    for &c in run {
        if c.is_alphabetic() {
            if previous_cased {
                out.extend(c.to_lowercase());
            } else {
                out.extend(c.to_uppercase());
            }
            previous_cased = true;
        } else {
            out.push(c);
            previous_cased = false;
        }
    }
    out
}

fn is_separator(c: char) -> bool {
    c == '-' || c == '_'
}

/// Splits before every capital (a word is `[-_]*[A-Z][^A-Z]*[-_]*`), keeping the text between
/// words, and joins the pieces with `_`.
fn separate_words(s: &str) -> String {
    let chars: Vec<char> = s.chars().collect();
    let mut pieces: Vec<String> = Vec::new();
    let mut plain = String::new();
    let mut i = 0;
    while i < chars.len() {
        // Try to match a word starting at i.
        let mut j = i;
        while j < chars.len() && is_separator(chars[j]) {
            j += 1;
        }
        if j < chars.len() && chars[j].is_ascii_uppercase() {
            j += 1;
            while j < chars.len() && !chars[j].is_ascii_uppercase() {
                j += 1;
            }
            // `[^A-Z]*` is greedy and already swallowed trailing separators.
            if !plain.is_empty() {
                pieces.push(std::mem::take(&mut plain));
            }
            pieces.push(chars[i..j].iter().collect());
            i = j;
        } else {
            plain.push(chars[i]);
            i += 1;
        }
    }
    if !plain.is_empty() {
        pieces.push(plain);
    }
    pieces.join("_")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(input: &str, expected: &str) {
        assert_eq!(decamelize(input), expected, "decamelize({input:?})");
    }

    #[test]
    fn matches_the_reference_conversion() {
        // Expectations produced by running the reference library on each input.
        check("apiBaseUrl", "api_base_url");
        check("apiBaseURL", "api_base_url");
        check("APIToken", "api_token");
        check("jiraHost", "jira_host");
        check("api_token", "api_token");
        check("page2Size", "page2_size");
        check("v2Api", "v2_api");
        check("clientId", "client_id");
        check("OCEAN", "OCEAN");
        check("already_snake", "already_snake");
        check("Some-Key", "some-_key");
        check("myHTTPServer", "my_http_server");
        check("a", "a");
        check("ID", "ID");
        check("userID", "user_id");
        check("x509", "x509");
        check("pelXautoclaimCount", "pel_xautoclaim_count");
        check("base64Data", "base64_data");
        check("camel_Case", "camel__case");
        check("HTTPSProxy", "https_proxy");
        check("xAPIKey", "x_api_key");
        check("ABC_def", "ab_c_def");
        check("eventListener", "event_listener");
        check("initializePortResources", "initialize_port_resources");
        check("", "");
    }

    #[test]
    fn builds_environment_variable_names() {
        assert_eq!(
            env_var_name(&["event_listener", "interval"]),
            "OCEAN__EVENT_LISTENER__INTERVAL"
        );
        assert_eq!(
            integration_config_env_var("apiBaseUrl"),
            "OCEAN__INTEGRATION__CONFIG__API_BASE_URL"
        );
    }
}
