//! Deployment order and parameter values, from the manifest.

use std::collections::{BTreeMap, BTreeSet};

use super::manifest::{Manifest, Source, StackSpec};
use super::sizing::Profile;
use super::zones::ZoneChoice;
use crate::core::answers::Answers;
use crate::core::secret::Secret;

/// The stacks in waves: every stack of a wave depends only on stacks of
/// earlier waves, so a wave's stacks can run in parallel.
pub fn waves(manifest: &Manifest) -> Result<Vec<Vec<String>>, String> {
    let names: BTreeSet<&str> = manifest.stacks.iter().map(|s| s.name.as_str()).collect();
    for s in &manifest.stacks {
        for d in &s.depends_on {
            if !names.contains(d.as_str()) {
                return Err(format!(
                    "stack {} depends on {d}, which the manifest does not define",
                    s.name
                ));
            }
        }
    }
    let mut done: BTreeSet<String> = BTreeSet::new();
    let mut waves = Vec::new();
    while done.len() < manifest.stacks.len() {
        let wave: Vec<String> = manifest
            .stacks
            .iter()
            .filter(|s| !done.contains(&s.name))
            .filter(|s| s.depends_on.iter().all(|d| done.contains(d)))
            .map(|s| s.name.clone())
            .collect();
        if wave.is_empty() {
            let left: Vec<&str> = manifest
                .stacks
                .iter()
                .filter(|s| !done.contains(&s.name))
                .map(|s| s.name.as_str())
                .collect();
            return Err(format!(
                "the stacks {left:?} depend on each other in a cycle"
            ));
        }
        done.extend(wave.iter().cloned());
        waves.push(wave);
    }
    Ok(waves)
}

/// What the installer works out itself before deploying (the manifest's
/// `derived.<key>` sources).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Derived {
    /// The zones to span; `az_count` is their number.
    pub zones: ZoneChoice,
    /// The app instance's AMI, resolved once from AWS's public parameter
    /// [`super::APP_IMAGE_PARAMETER`] and then kept.
    pub app_image_id: Option<String>,
}

/// The `derived.<key>` names [`Derived`] answers.
pub const DERIVED_KEYS: &[&str] = &["az_count", "availability_zones", "app_image_id"];

impl Derived {
    pub fn value(&self, key: &str) -> Option<String> {
        match key {
            "az_count" => Some(self.zones.az_count().to_string()),
            "availability_zones" => Some(self.zones.parameter_value()),
            "app_image_id" => self.app_image_id.clone(),
            _ => None,
        }
    }
}

/// Everything a stack's parameters can come from.
pub struct Inputs<'a> {
    pub answers: &'a Answers,
    pub profile: &'a Profile,
    pub derived: &'a Derived,
    pub secrets: &'a BTreeMap<String, Secret>,
    /// Stack name (manifest name) -> output key -> value.
    pub outputs: &'a BTreeMap<String, BTreeMap<String, String>>,
}

/// A parameter's value; secrets stay typed until the adapter sends them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    Plain(String),
    Secret(Secret),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolved {
    pub key: String,
    pub value: Value,
}

/// The values of `stack`'s parameters (those not left to their default),
/// or every parameter that cannot be resolved yet and why.
pub fn resolve(stack: &StackSpec, inputs: &Inputs) -> Result<Vec<Resolved>, Vec<String>> {
    let mut resolved = Vec::new();
    let mut missing = Vec::new();
    for (key, source) in &stack.parameters {
        let value = match source {
            Source::Default => continue,
            Source::Answers(k) => inputs.answers.value(k).map(Value::Plain),
            Source::Sizing(k) => inputs
                .profile
                .value(k, inputs.derived.zones.az_count())
                .map(Value::Plain),
            Source::Derived(k) => inputs.derived.value(k).map(Value::Plain),
            Source::Secret(name) => inputs.secrets.get(name).cloned().map(Value::Secret),
            Source::Output { stack: s, output } => inputs
                .outputs
                .get(s)
                .and_then(|o| o.get(output))
                .cloned()
                .map(Value::Plain),
        };
        match value {
            Some(value) => resolved.push(Resolved {
                key: key.clone(),
                value,
            }),
            None => missing.push(format!(
                "{}: {key} needs {source}, which is not known yet",
                stack.name
            )),
        }
    }
    if missing.is_empty() {
        Ok(resolved)
    } else {
        Err(missing)
    }
}
