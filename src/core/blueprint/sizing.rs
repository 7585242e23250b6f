//! `assets/sizing.toml`: sizing profiles, each mapping every sized
//! parameter to a value, optionally per availability-zone count.

use std::collections::BTreeMap;

use serde::Deserialize;

#[derive(Debug, Clone, Deserialize)]
pub struct Sizing {
    #[serde(rename = "profile")]
    pub profiles: BTreeMap<String, Profile>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Profile {
    pub description: String,
    /// The most AZs this profile spreads over (2 or 3).
    pub max_az_count: u8,
    /// Every other key: a sized value.
    #[serde(flatten)]
    pub values: BTreeMap<String, SizedValue>,
}

/// A value, or one per AZ count.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(untagged)]
pub enum SizedValue {
    PerAz { az2: toml::Value, az3: toml::Value },
    Scalar(toml::Value),
}

impl Sizing {
    pub fn parse(text: &str) -> Result<Sizing, String> {
        toml::from_str(text).map_err(|e| e.to_string())
    }
}

impl Profile {
    /// The value of `key` as CloudFormation receives it (a string), for
    /// `az_count` AZs.
    pub fn value(&self, key: &str, az_count: u8) -> Option<String> {
        let v = match self.values.get(key)? {
            SizedValue::Scalar(v) => v,
            SizedValue::PerAz { az2, az3 } => {
                if az_count >= 3 {
                    az3
                } else {
                    az2
                }
            }
        };
        Some(cfn_string(v))
    }
}

/// TOML scalars as CloudFormation parameter strings.
pub fn cfn_string(v: &toml::Value) -> String {
    match v {
        toml::Value::String(s) => s.clone(),
        toml::Value::Boolean(b) => b.to_string(),
        toml::Value::Integer(i) => i.to_string(),
        toml::Value::Float(f) => f.to_string(),
        toml::Value::Array(items) => items.iter().map(cfn_string).collect::<Vec<_>>().join(","),
        other => other.to_string(),
    }
}
