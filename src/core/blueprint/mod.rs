//! The PersonalisationHub blueprint: the CloudFormation templates in
//! `stacks/`, the manifest that orders them and wires their parameters, and
//! the sizing profiles. Everything is embedded in the binary at build time,
//! so one executable ships all of it; nothing here reads files.

pub mod manifest;
pub mod offerings;
pub mod plan;
pub mod sizing;
pub mod template;
pub mod zones;

use std::collections::BTreeMap;

use manifest::Manifest;
use sizing::Sizing;
use template::TemplateSummary;

pub use crate::core::stack::TEMPLATE_BODY_LIMIT;

/// Every template file under `stacks/`, by file name.
pub const TEMPLATES: &[(&str, &str)] = &[
    ("network.yaml", include_str!("../../../stacks/network.yaml")),
    (
        "security.yaml",
        include_str!("../../../stacks/security.yaml"),
    ),
    ("storage.yaml", include_str!("../../../stacks/storage.yaml")),
    ("rds.yaml", include_str!("../../../stacks/rds.yaml")),
    ("cache.yaml", include_str!("../../../stacks/cache.yaml")),
    ("search.yaml", include_str!("../../../stacks/search.yaml")),
    ("msk.yaml", include_str!("../../../stacks/msk.yaml")),
    ("eks.yaml", include_str!("../../../stacks/eks.yaml")),
    ("app.yaml", include_str!("../../../stacks/app.yaml")),
    ("edge.yaml", include_str!("../../../stacks/edge.yaml")),
    (
        "installer.yaml",
        include_str!("../../../stacks/installer.yaml"),
    ),
];

const MANIFEST: &str = include_str!("../../../stacks/manifest.toml");
const SIZING: &str = include_str!("../../../assets/sizing.toml");

/// The template text of `file`, if it is embedded.
pub fn template_text(file: &str) -> Option<&'static str> {
    TEMPLATES.iter().find(|(f, _)| *f == file).map(|(_, t)| *t)
}

/// The parsed blueprint.
#[derive(Debug, Clone)]
pub struct Blueprint {
    pub manifest: Manifest,
    pub sizing: Sizing,
    /// Template file -> its parameters and outputs.
    pub templates: BTreeMap<String, TemplateSummary>,
}

impl Blueprint {
    /// The embedded blueprint, parsed on first use and kept for the run
    /// (parsing the templates takes tens of milliseconds in a debug build).
    pub fn shared() -> Result<&'static Blueprint, String> {
        static PARSED: std::sync::OnceLock<Result<Blueprint, String>> = std::sync::OnceLock::new();
        PARSED
            .get_or_init(Blueprint::embedded)
            .as_ref()
            .map_err(Clone::clone)
    }

    /// Parses the embedded files. An error here is a build defect, and the
    /// blueprint tests catch it before release.
    pub fn embedded() -> Result<Blueprint, String> {
        let manifest =
            Manifest::parse(MANIFEST).map_err(|e| format!("stacks/manifest.toml: {e}"))?;
        let sizing = Sizing::parse(SIZING).map_err(|e| format!("assets/sizing.toml: {e}"))?;
        let mut templates = BTreeMap::new();
        for (file, text) in TEMPLATES {
            let summary =
                TemplateSummary::parse(text).map_err(|e| format!("stacks/{file}: {e}"))?;
            templates.insert(file.to_string(), summary);
        }
        Ok(Blueprint {
            manifest,
            sizing,
            templates,
        })
    }
}

#[cfg(test)]
mod tests;

pub use crate::core::answers::ANSWER_KEYS;
pub use plan::DERIVED_KEYS;

/// The public SSM parameter naming the current Amazon Linux 2023 AMI of a
/// region; the app instance's image is resolved from it once.
pub const APP_IMAGE_PARAMETER: &str =
    "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64";

impl Blueprint {
    /// Every way the manifest, the templates and the sizing profiles
    /// disagree. Empty for a releasable blueprint.
    pub fn problems(&self) -> Vec<String> {
        use manifest::Source;
        let mut out = Vec::new();
        if let Err(e) = plan::waves(&self.manifest) {
            out.push(e);
        }
        let mut seen_templates = std::collections::BTreeSet::new();
        for stack in &self.manifest.stacks {
            let name = &stack.name;
            let Some(t) = self.templates.get(&stack.template) else {
                out.push(format!(
                    "{name}: template {} is not embedded",
                    stack.template
                ));
                continue;
            };
            seen_templates.insert(stack.template.clone());
            for p in t.parameters.keys() {
                if !stack.parameters.contains_key(p) {
                    out.push(format!("{name}: template parameter {p} is not wired"));
                }
            }
            for (p, source) in &stack.parameters {
                let Some(param) = t.parameters.get(p) else {
                    out.push(format!(
                        "{name}: wires {p}, which {} does not declare",
                        stack.template
                    ));
                    continue;
                };
                if param.no_echo && !matches!(source, Source::Secret(_)) {
                    out.push(format!(
                        "{name}: NoEcho parameter {p} must come from a secret, not {source}"
                    ));
                }
                match source {
                    Source::Default if !param.has_default => {
                        out.push(format!("{name}: {p} is left to its default, but has none"))
                    }
                    Source::Secret(s) => {
                        if !param.no_echo {
                            out.push(format!(
                                "{name}: secret {s} goes to {p}, which is not NoEcho"
                            ));
                        }
                        if !self.manifest.secrets.contains_key(s) {
                            out.push(format!(
                                "{name}: secret {s} is not declared under [secrets]"
                            ));
                        }
                    }
                    Source::Answers(k) if !ANSWER_KEYS.contains(&k.as_str()) => out.push(format!(
                        "{name}: {p} needs answer {k}, which the wizard does not ask"
                    )),
                    Source::Derived(k) if !DERIVED_KEYS.contains(&k.as_str()) => out.push(format!(
                        "{name}: {p} needs derived value {k}, which is not computed"
                    )),
                    Source::Sizing(k) => {
                        for (profile, values) in &self.sizing.profiles {
                            if !values.values.contains_key(k) {
                                out.push(format!(
                                    "{name}: {p} needs sizing {k}, missing from profile {profile}"
                                ));
                            }
                        }
                    }
                    Source::Output { stack: dep, output } => {
                        if !stack.depends_on.contains(dep) {
                            out.push(format!(
                                "{name}: {p} reads stack {dep}, which is not in its depends_on"
                            ));
                        }
                        let has_output = self
                            .manifest
                            .stack(dep)
                            .and_then(|d| self.templates.get(&d.template))
                            .is_some_and(|d| d.outputs.contains(output));
                        if !has_output {
                            out.push(format!(
                                "{name}: {p} reads {dep}.{output}, which is not an output of {dep}"
                            ));
                        }
                    }
                    _ => {}
                }
            }
        }
        for file in self.templates.keys() {
            if file != "installer.yaml" && !seen_templates.contains(file) {
                out.push(format!("{file} is embedded but no manifest stack uses it"));
            }
        }
        out
    }
}
