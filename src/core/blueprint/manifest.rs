//! `stacks/manifest.toml`: the stacks, their dependencies and where each
//! template parameter's value comes from. The schema is documented at the
//! top of the file itself.

use std::collections::BTreeMap;
use std::fmt;

use serde::Deserialize;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    pub schema_version: u32,
    /// e.g. `ph-{install_name}-{stack}`.
    pub stack_name: String,
    #[serde(default)]
    pub secrets: BTreeMap<String, SecretSpec>,
    #[serde(rename = "stack")]
    pub stacks: Vec<StackSpec>,
}

/// How the installer generates one secret.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SecretSpec {
    pub length: usize,
    pub alphabet: String,
    #[serde(default)]
    pub require: Vec<CharClass>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CharClass {
    Upper,
    Lower,
    Digit,
    Special,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StackSpec {
    pub name: String,
    pub template: String,
    #[serde(default)]
    pub depends_on: Vec<String>,
    #[serde(default)]
    pub capabilities: Vec<String>,
    /// Template parameter -> where its value comes from.
    #[serde(default)]
    pub parameters: BTreeMap<String, Source>,
}

/// Where a parameter's value comes from.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(try_from = "String")]
pub enum Source {
    /// `answers.<key>`: the operator's answers.
    Answers(String),
    /// `sizing.<key>`: the chosen profile.
    Sizing(String),
    /// `derived.<key>`: computed by the installer (e.g. `az_count`).
    Derived(String),
    /// `secret.<name>`: generated into the secrets file; NoEcho parameters only.
    Secret(String),
    /// `stack.<stack>.<Output>`: an output of a dependency.
    Output { stack: String, output: String },
    /// `default`: not passed; the template's Default applies.
    Default,
}

impl TryFrom<String> for Source {
    type Error = String;
    fn try_from(s: String) -> Result<Source, String> {
        if s == "default" {
            return Ok(Source::Default);
        }
        let (kind, rest) = s
            .split_once('.')
            .ok_or_else(|| format!("parameter source {s:?} is not `<kind>.<name>` or `default`"))?;
        let name = |r: &str| -> Result<String, String> {
            if r.is_empty() || r.contains('.') {
                Err(format!(
                    "parameter source {s:?} must name exactly one {kind} key"
                ))
            } else {
                Ok(r.to_string())
            }
        };
        match kind {
            "answers" => Ok(Source::Answers(name(rest)?)),
            "sizing" => Ok(Source::Sizing(name(rest)?)),
            "derived" => Ok(Source::Derived(name(rest)?)),
            "secret" => Ok(Source::Secret(name(rest)?)),
            "stack" => match rest.split_once('.') {
                Some((stack, output)) if !stack.is_empty() && !output.is_empty() => {
                    Ok(Source::Output {
                        stack: stack.into(),
                        output: output.into(),
                    })
                }
                _ => Err(format!(
                    "parameter source {s:?} must be stack.<stack>.<Output>"
                )),
            },
            other => Err(format!(
                "parameter source {s:?} has unknown kind {other:?}; use answers, sizing, \
                 derived, secret, stack or default"
            )),
        }
    }
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::Answers(k) => write!(f, "answers.{k}"),
            Source::Sizing(k) => write!(f, "sizing.{k}"),
            Source::Derived(k) => write!(f, "derived.{k}"),
            Source::Secret(k) => write!(f, "secret.{k}"),
            Source::Output { stack, output } => write!(f, "stack.{stack}.{output}"),
            Source::Default => write!(f, "default"),
        }
    }
}

impl Manifest {
    pub fn parse(text: &str) -> Result<Manifest, String> {
        let m: Manifest = toml::from_str(text).map_err(|e| e.to_string())?;
        if m.schema_version != 1 {
            return Err(format!(
                "schema_version {} is not supported (this build reads 1)",
                m.schema_version
            ));
        }
        Ok(m)
    }

    pub fn stack(&self, name: &str) -> Option<&StackSpec> {
        self.stacks.iter().find(|s| s.name == name)
    }

    /// The CloudFormation stack name of `stack` for an install.
    pub fn stack_name(&self, install_name: &str, stack: &str) -> String {
        self.stack_name
            .replace("{install_name}", install_name)
            .replace("{stack}", stack)
    }
}
