//! What the installer needs to know of a template: its parameters and
//! outputs. Templates use long-form intrinsics only, so any standard YAML
//! parser reads them; this one is serde's.

use std::collections::BTreeMap;

use serde_json::Value;

#[derive(Debug, Clone, PartialEq)]
pub struct ParameterSummary {
    pub cfn_type: String,
    pub no_echo: bool,
    pub has_default: bool,
    /// `AllowedValues`, as text (empty: any).
    pub allowed_values: Vec<String>,
    pub min_value: Option<f64>,
    pub max_value: Option<f64>,
}

#[derive(Debug, Clone)]
pub struct TemplateSummary {
    pub parameters: BTreeMap<String, ParameterSummary>,
    pub outputs: Vec<String>,
    /// Logical id -> resource type.
    pub resources: BTreeMap<String, String>,
    /// The whole template, as JSON values.
    pub body: Value,
}

/// A YAML scalar as CloudFormation reads it: text.
fn scalar_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// A number written as a number or as text.
fn number(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.parse().ok(),
        _ => None,
    }
}

impl TemplateSummary {
    pub fn parse(text: &str) -> Result<TemplateSummary, String> {
        let body: Value = serde_norway::from_str(text).map_err(|e| e.to_string())?;
        let params = body
            .get("Parameters")
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default();
        let parameters = params
            .iter()
            .map(|(name, p)| {
                let no_echo = match p.get("NoEcho") {
                    Some(Value::Bool(b)) => *b,
                    Some(Value::String(s)) => s.eq_ignore_ascii_case("true"),
                    _ => false,
                };
                (
                    name.clone(),
                    ParameterSummary {
                        cfn_type: p
                            .get("Type")
                            .and_then(Value::as_str)
                            .unwrap_or("String")
                            .to_string(),
                        no_echo,
                        has_default: p.get("Default").is_some(),
                        allowed_values: p
                            .get("AllowedValues")
                            .and_then(Value::as_array)
                            .map(|vs| vs.iter().map(scalar_text).collect())
                            .unwrap_or_default(),
                        min_value: p.get("MinValue").and_then(number),
                        max_value: p.get("MaxValue").and_then(number),
                    },
                )
            })
            .collect();
        let outputs = body
            .get("Outputs")
            .and_then(Value::as_object)
            .map(|o| o.keys().cloned().collect())
            .unwrap_or_default();
        let resources = body
            .get("Resources")
            .and_then(Value::as_object)
            .ok_or("the template has no Resources")?
            .iter()
            .map(|(id, r)| {
                (
                    id.clone(),
                    r.get("Type")
                        .and_then(Value::as_str)
                        .unwrap_or_default()
                        .to_string(),
                )
            })
            .collect();
        Ok(TemplateSummary {
            parameters,
            outputs,
            resources,
            body,
        })
    }
}
