//! How long the sandbox's CloudFormation takes per resource type
//! (`assets/durations.toml`, embedded).

use std::collections::BTreeMap;
use std::sync::OnceLock;

use serde::Deserialize;

use super::ids::fnv64;

const DURATIONS_TOML: &str = include_str!("../../../../assets/durations.toml");

/// Seconds for each operation on one resource type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TypeDurations {
    pub create: u64,
    pub update: u64,
    pub delete: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Create,
    Update,
    Delete,
}

fn table() -> &'static BTreeMap<String, TypeDurations> {
    static TABLE: OnceLock<BTreeMap<String, TypeDurations>> = OnceLock::new();
    TABLE.get_or_init(|| {
        toml::from_str(DURATIONS_TOML).expect("assets/durations.toml is valid (tested)")
    })
}

/// The typical durations for `rtype` (the `default` row for unknown types).
pub fn typical(rtype: &str) -> TypeDurations {
    let t = table();
    t.get(rtype)
        .or_else(|| t.get("default"))
        .copied()
        .unwrap_or(TypeDurations {
            create: 10,
            update: 10,
            delete: 10,
        })
}

/// Seconds one operation on one resource takes in the sandbox: the
/// template's `Metadata.SandboxDurationSeconds` when present (exact), else
/// the typical duration with a deterministic jitter of up to +-10% derived
/// from the logical id.
pub fn seconds(rtype: &str, logical: &str, metadata: &serde_json::Value, op: Op) -> u64 {
    if let Some(n) = metadata.get("SandboxDurationSeconds") {
        if let Some(v) = n.as_u64() {
            return v;
        }
        if let Some(v) = n.as_str().and_then(|s| s.parse::<u64>().ok()) {
            return v;
        }
    }
    let t = typical(rtype);
    let base = match op {
        Op::Create => t.create,
        Op::Update => t.update,
        Op::Delete => t.delete,
    };
    let spread = base / 10;
    if spread == 0 {
        return base.max(1);
    }
    let j = fnv64(&[logical, rtype]) % (2 * spread + 1);
    (base - spread + j).max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_duration_table_parses_and_has_a_default() {
        assert!(table().contains_key("default"));
        assert_eq!(typical("AWS::EKS::Cluster").create, 720);
        assert_eq!(typical("Custom::Unknown"), table()["default"]);
    }

    #[test]
    fn metadata_override_is_exact_and_jitter_stays_within_ten_percent() {
        let md = serde_json::json!({"SandboxDurationSeconds": 7});
        assert_eq!(seconds("AWS::MSK::Cluster", "Kafka", &md, Op::Create), 7);
        let s = seconds(
            "AWS::MSK::Cluster",
            "Kafka",
            &serde_json::Value::Null,
            Op::Create,
        );
        assert!((1620..=1980).contains(&s), "{s}");
        assert_eq!(
            s,
            seconds(
                "AWS::MSK::Cluster",
                "Kafka",
                &serde_json::Value::Null,
                Op::Create
            )
        );
    }
}
