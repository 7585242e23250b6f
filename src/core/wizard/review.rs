//! The review's preview of a first install: the blueprint's stacks in the
//! order they deploy, each with the resources its template creates,
//! counted by type.

use std::collections::BTreeMap;

use crate::core::blueprint::Blueprint;
use crate::core::blueprint::plan::waves;

/// What one stack will create.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StackPreview {
    pub name: String,
    /// 1-based: stacks of one wave start together.
    pub wave: usize,
    /// Resources the template declares.
    pub resources: usize,
    /// Of those, how many exist only under a condition (a NAT gateway per
    /// zone, dedicated masters), decided by the sizing.
    pub conditional: usize,
    /// (type without `AWS::`, count), most numerous first.
    pub by_type: Vec<(String, usize)>,
}

/// The stacks of the blueprint in deployment order.
pub fn previews(bp: &Blueprint) -> Vec<StackPreview> {
    let Ok(waves) = waves(&bp.manifest) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for (i, wave) in waves.iter().enumerate() {
        for name in wave {
            let Some(spec) = bp.manifest.stack(name) else {
                continue;
            };
            let Some(t) = bp.templates.get(&spec.template) else {
                continue;
            };
            let mut counts: BTreeMap<String, usize> = BTreeMap::new();
            for rtype in t.resources.values() {
                let short = rtype.strip_prefix("AWS::").unwrap_or(rtype).to_string();
                *counts.entry(short).or_default() += 1;
            }
            let conditional = t
                .body
                .get("Resources")
                .and_then(|r| r.as_object())
                .map(|r| r.values().filter(|r| r.get("Condition").is_some()).count())
                .unwrap_or(0);
            let mut by_type: Vec<(String, usize)> = counts.into_iter().collect();
            by_type.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
            out.push(StackPreview {
                name: name.clone(),
                wave: i + 1,
                resources: t.resources.len(),
                conditional,
                by_type,
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_stack_of_the_manifest_is_previewed_once_in_deployment_order() {
        let bp = Blueprint::embedded().unwrap();
        let p = previews(&bp);
        assert_eq!(p.len(), bp.manifest.stacks.len());
        let network = p.iter().find(|s| s.name == "network").unwrap();
        assert_eq!(network.wave, 1);
        assert!(
            network.by_type.iter().any(|(t, _)| t == "EC2::VPC"),
            "{network:?}"
        );
        assert_eq!(
            network.resources,
            network.by_type.iter().map(|(_, n)| n).sum::<usize>()
        );
        // A stack comes after every stack it depends on.
        for spec in &bp.manifest.stacks {
            let wave = |n: &str| p.iter().find(|s| s.name == n).unwrap().wave;
            for dep in &spec.depends_on {
                assert!(wave(dep) < wave(&spec.name), "{} before {dep}", spec.name);
            }
        }
    }
}
