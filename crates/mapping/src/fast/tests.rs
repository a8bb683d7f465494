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

// ---------------------------------------------------------------------------------------------
// Generated expressions and documents
// ---------------------------------------------------------------------------------------------

mod generated {
    use super::*;
    use proptest::prelude::*;
    use proptest::sample::select;
    use serde_json::{Map, Value};

    const KEYS: [&str; 6] = ["a", "b", "n", "s", "t", "xs"];

    /// Terms of the native subset (and a few neighbours it must refuse or get right).
    fn leaf() -> impl Strategy<Value = String> {
        prop_oneof![
            Just(".".to_owned()),
            select(KEYS.to_vec()).prop_map(|k| format!(".{k}")),
            select(vec![
                ".[0]", ".[-1]", ".[1]", ".[]", ".[\"a\"]", ".a.b", ".xs[]"
            ])
            .prop_map(str::to_owned),
            select(vec![
                "null",
                "true",
                "false",
                "0",
                "1",
                "2.5",
                "3",
                "1e300",
                "1.0",
                "-0",
                "12345678901234567890",
                "\"\"",
                "\"a\"",
                "\"Xy z\"",
                "\"é\"",
                "\"12\"",
                "empty",
            ])
            .prop_map(str::to_owned),
            select(vec![
                "ascii_downcase",
                "ascii_upcase",
                "tostring",
                "length",
                "floor",
                "ceil",
                "round",
                "not",
                "type",
                "tonumber",
            ])
            .prop_map(str::to_owned),
        ]
    }

    fn expr() -> impl Strategy<Value = String> {
        let ops = vec![
            "+", "-", "*", "/", "%", "==", "!=", "<", "<=", ">", ">=", "//", "and", "or",
        ];
        leaf().prop_recursive(4, 24, 3, move |inner| {
            prop_oneof![
                (inner.clone(), select(ops.clone()), inner.clone())
                    .prop_map(|(a, op, b)| format!("{a} {op} {b}")),
                (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("{a} | {b}")),
                (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("{a}, {b}")),
                inner.clone().prop_map(|a| format!("({a})")),
                inner.clone().prop_map(|a| format!("[{a}]")),
                inner.clone().prop_map(|a| format!("select({a})")),
                (inner.clone(), inner.clone(), inner.clone())
                    .prop_map(|(c, t, e)| format!("if {c} then {t} else {e} end")),
                (inner.clone(), inner.clone()).prop_map(|(c, t)| format!("if {c} then {t} end")),
                (inner.clone(), select(KEYS.to_vec())).prop_map(|(a, k)| format!("({a}).{k}")),
                inner.clone().prop_map(|a| format!("({a})[]")),
            ]
        })
    }

    fn json() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            (-5i64..6).prop_map(Value::from),
            select(vec![0.1, 2.5, -7.5, 1.0, 1e300, 3.0e-8, -0.0]).prop_map(Value::from),
            Just(Value::from(12345678901234567890u64)),
            select(vec!["", "a", "Ab C", "é ✓", "12", " 1", "true", "null"]).prop_map(Value::from),
        ];
        leaf.prop_recursive(3, 24, 4, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
                prop::collection::vec((select(KEYS.to_vec()), inner), 0..5).prop_map(|kvs| {
                    Value::Object(kvs.into_iter().map(|(k, v)| (k.to_owned(), v)).collect())
                }),
            ]
        })
    }

    /// Mapping items are objects; give most inputs that shape.
    fn item() -> impl Strategy<Value = Value> {
        prop_oneof![
            4 => prop::collection::vec((select(KEYS.to_vec()), json()), 0..6)
                .prop_map(|kvs| Value::Object(kvs.into_iter().map(|(k, v)| (k.to_owned(), v)).collect::<Map<_, _>>())),
            1 => json(),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        /// Whatever the native parser accepts, it evaluates exactly as jaq does.
        #[test]
        fn native_and_jaq_agree_on_generated_expressions(code in expr(), input in item()) {
            let Some(native) = Expr::parse(&jq::rewrite_single_quotes(&code)) else {
                return Ok(());
            };
            let jaq = match jq::compile(&jq::preprocess(&code, true)) {
                Ok(p) => p,
                Err(e) => {
                    return Err(TestCaseError::fail(format!(
                        "{code} is native but jaq does not compile it: {}", e.message
                    )));
                }
            };
            let text = input.to_string();
            let v = Reader::new().parse(text.as_bytes()).expect("generated JSON parses");
            let env = Val::obj(Default::default());
            let a = outcome(native.first(&v));
            let b = outcome(jaq.first(v, &env));
            prop_assert_eq!(a, b, "{} on {}", code, text);
        }
    }

    /// The generator reaches the native subset often enough for the property to mean something.
    #[test]
    fn most_generated_expressions_are_native() {
        use proptest::strategy::ValueTree;
        use proptest::test_runner::TestRunner;
        let mut runner = TestRunner::deterministic();
        let strategy = expr();
        let native = (0..400)
            .filter(|_| {
                let code = strategy.new_tree(&mut runner).expect("tree").current();
                Expr::parse(&code).is_some()
            })
            .count();
        assert!(
            native >= 200,
            "only {native} of 400 generated expressions are native"
        );
    }
}
