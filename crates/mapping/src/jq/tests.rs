use super::*;

/// Runs `program` (as Ocean preprocesses it, env access on) on the JSON `input` and returns the
/// first output as jq-printed JSON, `empty`, or `error: …` / `compile error: …`.
fn run(program: &str, input: &str) -> String {
    let input = read::Reader::new()
        .parse(input.as_bytes())
        .expect("input parses");
    match compile(&preprocess(program, true)) {
        Err(e) => format!("compile error: {}", e.message),
        Ok(p) => match p.first(input, &Env::default().to_val()) {
            First::Value(v) => v.to_json(),
            First::Empty => "empty".to_owned(),
            First::Error(e) => format!("error: {e}"),
        },
    }
}

fn check(program: &str, input: &str, expected: &str) {
    assert_eq!(run(program, input), expected, "{program} on {input}");
}

#[test]
fn numbers_compare_and_print_like_jq() {
    check(
        "12345678901234567000 | tojson",
        "null",
        "\"12345678901234567000\"",
    );
    check(
        ".big > 12345678901234567000",
        r#"{"big":12345678901234567890}"#,
        "true",
    );
    check(
        ".big == 12345678901234567168",
        r#"{"big":12345678901234567890}"#,
        "false",
    );
    check(
        ".big + 0 == 12345678901234567168",
        r#"{"big":12345678901234567890}"#,
        "true",
    );
    check("4 / 2 | tostring", "null", "\"2\"");
    check(".v | tostring", r#"{"v":1.0}"#, "\"1.0\"");
    check("-0 | tostring", "null", "\"0\"");
    check(
        "[.[] | tostring]",
        "[1e-05, 100000000000000000, 1E2, 1.50, 0.1]",
        r#"["0.00001","100000000000000000","100.0","1.5","0.1"]"#,
    );
}

#[test]
fn first_output_empty_and_errors() {
    check(".a, .b", r#"{"a":1,"b":2}"#, "1");
    check("empty", "null", "empty");
    check(
        ".a.b",
        r#"{"a":"x"}"#,
        "error: Cannot index string with \"b\"",
    );
    check("error(\"x\") , 1", "null", "error: x");
    check("1, error(\"x\")", "null", "1");
}

#[test]
fn jq_only_and_jaq_only_builtins() {
    check("$__loc__", "null", r#"{"file":"<top-level>","line":1}"#);
    check(
        "isstring",
        "null",
        "compile error: isstring/0 is not defined",
    );
    check(
        "leaf_paths",
        "null",
        "compile error: leaf_paths/0 is not defined",
    );
    check("[1,2] | getpath([1])", "null", "2");
    check(
        "\"abc\" | ltrimstr(1)",
        "null",
        "error: startswith() requires string inputs",
    );
    check("[splits(\"a\")]", "\"banana\"", r#"["b","n","n",""]"#);
    check("[1,\"a\",null] | @csv", "null", r#""1,\"a\",""#);
    check(
        "{(1): 2}",
        "null",
        "error: Object keys must be strings, not number",
    );
}

#[test]
fn env_can_be_shadowed() {
    let env = Env::new([("OCEAN_T".to_owned(), "v".to_owned())]).to_val();
    let on = compile(&preprocess("env.OCEAN_T, $ENV.OCEAN_T", true)).unwrap();
    assert_eq!(on.first(Val::Null, &env).or_null(), Val::str("v"));
    let off = compile(&preprocess("[env.OCEAN_T, $ENV.OCEAN_T]", false)).unwrap();
    assert_eq!(
        off.first(Val::Null, &env).or_null().to_json(),
        "[null,null]"
    );
}

#[test]
fn single_quotes_are_rewritten_as_ocean_does() {
    let r = rewrite_single_quotes;
    assert_eq!(r(".org + '/' + .repo"), ".org + \"/\" + .repo");
    assert_eq!(r("'service'"), "\"service\"");
    assert_eq!(r("test('^x')"), "test('^x')");
    assert_eq!(r("\"it's\""), "\"it's\"");
    assert_eq!(r("' '"), "\" '");
    assert_eq!(r("['a','b']"), "['a','b']");
    assert_eq!(r("\"rock 'n' roll\""), "\"rock \"n\" roll\"");
    assert_eq!(r(".a + ' ' + .b"), ".a + ' ' + .b");
}
