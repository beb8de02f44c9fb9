//! Input generators for the parser property tests: hostile numbers, hostile text, random
//! JSON values and near-valid documents of each kind.

use proptest::prelude::*;
use serde_json::{Map, Value};

/// JSON number literals that break naive conversions: out of `u64`/`i64`/`Duration` range,
/// negative zero, subnormals, and long digit strings.
pub fn hostile_number() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(vec![
            "1e19",
            "1e300",
            "-1e300",
            "1.7976931348623157e308",
            "-0",
            "-0.0",
            "18446744073709551615",
            "18446744073709551616",
            "9223372036854775807",
            "9223372036854775808",
            "-9223372036854775809",
            "4.9e-324",
            "1e-400",
            "0",
            "-1",
            "0.5",
            "3600",
            "1e16",
            "1.8446744073709552e19",
        ])
        .prop_map(str::to_owned),
        "[1-9][0-9]{0,400}",
        any::<u64>().prop_map(|n| n.to_string()),
        any::<i64>().prop_map(|n| n.to_string()),
        (-400i32..400).prop_map(|e| format!("1e{e}")),
        any::<f64>()
            .prop_filter("JSON has no NaN or infinity", |f| f.is_finite())
            .prop_map(|f| format!("{f:e}")),
    ]
}

/// A hostile number as a JSON value: the literal itself or the same text in a string.
pub fn hostile_number_value() -> impl Strategy<Value = Value> {
    (hostile_number(), any::<bool>()).prop_map(|(n, quoted)| {
        if quoted {
            Value::String(n)
        } else {
            // serde_json keeps the exact value of integers and parses others as f64.
            serde_json::from_str(&n).unwrap_or(Value::String(n))
        }
    })
}

/// Strings that stress printing and scrubbing: control characters, long runs, non-ASCII.
pub fn hostile_text() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        "\\PC{0,40}",
        (1usize..200_000).prop_map(|n| "x".repeat(n)),
        Just(String::new()),
        Just("\u{0}\r\n\u{1b}[31m".to_owned()),
        Just(tokenbroker::advanced::fuzzing::SECRET.to_owned()),
    ]
}

/// Any JSON value, numbers drawn from [`hostile_number_value`].
pub fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        hostile_number_value(),
        hostile_text().prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 32, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map("[a-z_]{1,12}", inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// Arrays or objects nested `depth` deep around a value (past serde_json's recursion limit).
pub fn deeply_nested() -> impl Strategy<Value = String> {
    (1usize..20_000, any::<bool>()).prop_map(|(depth, arrays)| {
        if arrays {
            format!("{}1{}", "[".repeat(depth), "]".repeat(depth))
        } else {
            format!("{}1{}", "{\"a\":".repeat(depth), "}".repeat(depth))
        }
    })
}

/// A JSON object built from `fields`: each known key is left out, holds a plausible value,
/// or holds anything.
pub fn near_valid_object(
    fields: Vec<(&'static str, BoxedStrategy<Value>)>,
) -> impl Strategy<Value = Map<String, Value>> {
    let per_field: Vec<_> = fields
        .into_iter()
        .map(|(key, plausible)| {
            prop_oneof![
                2 => Just(None),
                5 => plausible.prop_map(Some),
                2 => json_value().prop_map(Some),
            ]
            .prop_map(move |v| v.map(|v| (key.to_owned(), v)))
        })
        .collect();
    (
        per_field,
        prop::collection::vec(("[a-z_]{1,10}", json_value()), 0..3),
    )
        .prop_map(|(known, extra)| known.into_iter().flatten().chain(extra).collect())
}

/// A string value from a fixed list.
pub fn one_of(values: &[&'static str]) -> BoxedStrategy<Value> {
    prop::sample::select(values.to_vec())
        .prop_map(|s| Value::String(s.to_owned()))
        .boxed()
}

/// Any number-like value.
pub fn number() -> BoxedStrategy<Value> {
    hostile_number_value().boxed()
}

/// Text that a parser must treat as bytes off the wire.
pub fn wire_bytes() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        prop::collection::vec(any::<u8>(), 0..2048),
        any::<String>().prop_map(String::into_bytes),
        json_value().prop_map(|v| v.to_string().into_bytes()),
        deeply_nested().prop_map(String::into_bytes),
    ]
}
