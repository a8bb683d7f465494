//! Every shape of the native subset, run through both the native path and jaq on varied data
//! (nulls, wrong types, missing keys): the outcomes must be identical.

use super::Expr;
use crate::jq::{self, First, Val, read::Reader};

const SHAPES: &[&str] = &[
    ".",
    ".name",
    ".owner.email",
    ".a.b.c",
    ".[\"name\"]",
    ".tags[0]",
    ".tags[-1]",
    ".tags[]",
    ".key | ascii_downcase",
    ".status | ascii_upcase",
    ".name + \" [\" + .status + \"]\"",
    "\"x-\" + .name",
    ".priority * 10 + (.score | floor)",
    ".score | ceil",
    ".score | round",
    ".n / 2",
    ".n % 3",
    ".n - 1",
    "[.labels[].name]",
    "[.labels[] | select(.color == \"red\") | .name]",
    "[.tags[] | select(. != \"a\")]",
    ".parent_key | if . == null then null else ascii_downcase end",
    "if .n > 1 then \"big\" elif .n == 1 then \"one\" else \"small\" end",
    "if .flag then 1 end",
    ".archived | not",
    ".archived == false",
    "(.archived // false) | not",
    ".missing // \"default\"",
    ".flag and .n > 0",
    ".flag or .archived",
    ".n >= 2",
    ".n < .score",
    ".name != null",
    ".tags | length",
    ".name | length",
    ".n | tostring",
    ".score | tostring",
    ".big | tostring",
    ".id | tonumber",
    ".n | type",
    "\"benchItem\"",
    "10",
    "1.0",
    "12345678901234567890",
    "null",
    "true",
    "empty",
    "[.tags[]]",
    "[.n, .score]",
    ".labels[] | .name",
    ".labels[].color",
    "select(.n > 1) | .name",
    ".missing, .name",
    "[.tags[], .n]",
    "empty, .n",
];

const INPUTS: &[&str] = &[
    r#"{"name":"Alpha","key":"AB-1","status":"open","priority":3,"score":4.7,"n":2,"flag":true,"archived":false,
        "owner":{"email":"a@x.io"},"tags":["a","b"],"labels":[{"name":"l1","color":"red"},{"name":"l2","color":"blue"}],
        "parent_key":"P-9","big":12345678901234567890,"id":"42","a":{"b":{"c":1.0}}}"#,
    r#"{"name":null,"key":null,"status":7,"priority":"3","score":null,"n":1,"flag":null,"archived":true,
        "owner":"nobody","tags":[],"labels":[{"name":"x"},{"color":"red"}],"parent_key":null,"id":"x","a":[]}"#,
    r#"{"n":0,"tags":"not-a-list","labels":{"k":{"name":"v","color":"red"}},"archived":null,"score":-2.5,"key":"ÄB"}"#,
    r#"{}"#,
    r#"{"name":"é ✓","status":"","priority":1e300,"score":0.1,"n":-7.5,"labels":null,"flag":false,"tags":[null,1,"a"],"id":" 1"}"#,
];

fn outcome(f: First) -> String {
    match f {
        First::Value(v) => format!("value {}", v.to_json()),
        First::Empty => "empty".to_owned(),
        // Messages may differ; being an error is what matters (both give null).
        First::Error(_) => "error".to_owned(),
    }
}

#[test]
fn every_shape_is_native() {
    for shape in SHAPES {
        assert!(
            Expr::parse(shape).is_some(),
            "{shape} should be evaluated natively"
        );
    }
}

#[test]
fn native_and_jaq_agree_on_every_shape_and_input() {
    let env = Val::obj(Default::default());
    let mut failures = Vec::new();
    for shape in SHAPES {
        let native = Expr::parse(shape).expect("native");
        let jaq = jq::compile(&jq::preprocess(shape, true)).expect("jaq compiles");
        for input in INPUTS {
            let v = Reader::new().parse(input.as_bytes()).expect("input");
            let a = outcome(native.first(&v));
            let b = outcome(jaq.first(v, &env));
            if a != b {
                failures.push(format!("{shape} on {input}\n  native: {a}\n  jaq:    {b}"));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn anything_outside_the_subset_goes_to_jaq() {
    for code in [
        "map(.a)",
        ".a as $x | $x",
        "\"\\(.a)\"",
        "env.HOME",
        "$ENV.HOME",
        "length(1)",
        "def f: 1; f",
        ".[1:2]",
        "{a: 1}",
        "-.a",
        ".a?",
        "reduce .[] as $x (0; . + $x)",
        ".a[] + 1",
        "\"\\u00e9\"",
        "1 +",
        "",
    ] {
        assert!(
            Expr::parse(code).is_none(),
            "{code} must not be taken natively"
        );
    }
}
