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

/// Runs `program` on a thread with `stack` bytes of stack (tokio's blocking threads, where the
/// lifecycle maps items, have 2 MiB).
fn run_on_stack(program: &'static str, input: &'static str, stack: usize) -> String {
    let compiled = compile(&preprocess(program, true)).expect("the program compiles");
    std::thread::Builder::new()
        .stack_size(stack)
        .spawn(move || {
            let input = read::Reader::new().parse(input.as_bytes()).expect("input");
            match compiled.first(input, &Val::Null) {
                First::Value(v) => v.to_json(),
                First::Empty => "empty".to_owned(),
                First::Error(e) => format!("error: {e}"),
            }
        })
        .expect("thread starts")
        .join()
        .expect("the evaluation returns instead of crashing")
}

#[test]
fn recursion_without_end_is_an_error_not_a_stack_overflow() {
    for stack in [2 << 20, 8 << 20] {
        let out = run_on_stack("def f: [f]; f", "null", stack);
        assert!(out.starts_with("error: recursion too deep"), "{out}");
        // Through a filter argument, and inside the standard library's own loops.
        // (Each level re-evaluates the chain of closures below it, so the step budget may run
        // out first.)
        let out = run_on_stack("def f(g): [g | f(g)]; f(.)", "null", stack);
        assert!(
            out.starts_with("error: recursion too deep")
                || out.starts_with("error: evaluation stopped"),
            "{out}"
        );
        let out = run_on_stack("def f(g): g | f(g); f(.)", "null", stack);
        assert!(out.starts_with("error: "), "{out}");
    }
    // A thread whose stack is smaller than the margin fails at the first recursive call.
    let out = run_on_stack("def f: [f]; f", "null", 128 << 10);
    assert!(out.starts_with("error: recursion too deep"), "{out}");
}

#[test]
fn loops_without_end_stop_after_the_step_budget() {
    for program in [
        "def f: f; f",
        "last(range(0; infinite))",
        "def outer: def inner: inner; inner; outer",
    ] {
        let out = run(program, "0");
        assert!(
            out.starts_with("error: evaluation stopped after 1000000 steps"),
            "{program}: {out}"
        );
    }
    // The budget is per evaluation: the next one starts afresh on the same thread.
    check("[range(100000)] | length", "null", "100000");
}

#[test]
fn bounded_recursion_and_loops_still_work() {
    check(
        "def fac: if . <= 1 then 1 else . * (. - 1 | fac) end; 10 | fac",
        "null",
        "3628800",
    );
    check(
        "def depth: if type == \"array\" then 1 + (map(depth) | max // 0) else 0 end; depth",
        "[[[[1]]],[2]]",
        "4",
    );
    // Non-tail recursion a few hundred levels deep fits on a 2 MiB thread.
    let out = run_on_stack(
        "def count: if . == 0 then 0 else (. - 1 | count) + 1 end; 300 | count",
        "null",
        2 << 20,
    );
    assert_eq!(out, "300");
    check("[limit(3; repeat(1))]", "null", "[1,1,1]");
    check("[range(0; 10; 3)]", "null", "[0,3,6,9]");
    check("[range(5; 0; -2)]", "null", "[5,3,1]");
    check("[range(0; 3; 0)]", "null", "[]");
    check(
        "[.[] | walk(if type == \"number\" then . + 1 else . end)]",
        "[[1,[2]]]",
        "[[2,[3]]]",
    );
    check("first(range(0; infinite))", "null", "0");
    check("[range(1.5)]", "null", "[0,1]");
    check(
        "[range(\"a\"; \"b\")]",
        "null",
        "error: string (\"a\") and number (1) cannot be added",
    );
}

#[test]
fn strings_and_arrays_cannot_grow_without_bound() {
    check(".s * 3", r#"{"s":"ab"}"#, "\"ababab\"");
    check(
        ".s * .n",
        r#"{"s":"x","n":1000000000}"#,
        "error: Repeat string result too long",
    );
    check(
        "\"x\" * 1e300",
        "null",
        "error: Repeat string result too long",
    );
    check("\"\" * 1e300", "null", "\"\"");
    check("(\"x\" * 16777216) | length", "null", "16777216");
    let out = run("reduce range(40) as $i (\"x\"; . + .)", "null");
    assert!(
        out.contains("cannot be added: the result would be longer than 16777216 bytes"),
        "{out}"
    );
    let out = run("reduce range(40) as $i ([1]; . + .)", "null");
    assert!(
        out.contains("cannot be added: the result would have more than 4000000 elements"),
        "{out}"
    );
}

#[test]
fn instrumenting_definitions_keeps_their_meaning_and_errors() {
    // Tail calls stay tail calls: a long loop runs within the budget without growing the stack.
    check(
        "def loop: if . < 100000 then . + 1 | loop else . end; 0 | loop",
        "null",
        "100000",
    );
    // Shadowing, closures, several definitions, definitions inside expressions.
    check(
        "def f: 1; def g: f + 1; def f: 10; [f, g]",
        "null",
        "[10,2]",
    );
    check(".[] | def inc(x): x + 1; inc(.)", "[5]", "6");
    check(
        "def f($n): if $n > 0 then $n + f($n - 1) else 0 end; f(4)",
        "null",
        "10",
    );
    check("$__loc__ | .line", "null", "1");
    check("def f: $__loc__.line; f", "null", "1");
    // Instrumented definitions keep working as paths and in updates.
    check(
        "def f: if type == \"object\" then .a | f else . end; path(f)",
        r#"{"a":{"a":1}}"#,
        r#"["a","a"]"#,
    );
    check(
        "def f: if type == \"object\" then .a | f else . end; f |= . + 1",
        r#"{"a":{"a":1}}"#,
        r#"{"a":{"a":2}}"#,
    );
    check("[tostream] | length", r#"{"a":[1,{"b":2}]}"#, "5");
    // Compile errors still point at the text as written.
    check(
        "def f: f; frobnicate",
        "null",
        "compile error: frobnicate/0 is not defined",
    );
    let out = run("def f: (f; f", "null");
    assert!(out.starts_with("compile error: syntax error"), "{out}");
    // The tick cannot be called or shadowed by a program.
    let out = run("!ocean_tick", "null");
    assert!(out.starts_with("compile error"), "{out}");
}

#[test]
fn operands_are_evaluated_in_jqs_order() {
    // What jq 1.8.2 (Python Ocean's binding) gives; jaq alone gives [11,21,12,22], [1] and
    // ["1-3","1-4","2-3","2-4"].
    check("[(1,2) + (10,20)]", "null", "[11,12,21,22]");
    check("[(1,2) < (2,1)]", "null", "[true,false,false,false]");
    check("[(1,2) * (3,4) | . + 0]", "null", "[3,6,4,8]");
    let out = run("[(. + empty + ascii_downcase), 1]", "{}");
    assert!(out.starts_with("error: "), "{out}");
    check("[(ascii_downcase + empty), 1]", "{}", "[1]");
    check(
        r#"["\((1,2))-\((3,4))"]"#,
        "null",
        r#"["1-3","2-3","1-4","2-4"]"#,
    );
    check(
        r#"@base64 "\(.a)-\(.b[])""#,
        r#"{"a":"x","b":["y","z"]}"#,
        "\"eA==-eQ==\"",
    );
    // Single-valued operands keep jaq's direct evaluation, and variables are not captured.
    check(".a + .b * 2", r#"{"a":1,"b":3}"#, "7");
    check("1 as $r | [(.[] | . + $r)]", "[1,2]", "[2,3]");
    check("def length: 1, 2; [length + 10]", "null", "[11,12]");
}
