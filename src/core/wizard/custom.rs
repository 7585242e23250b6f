//! A custom profile: any sized value of a base profile changed, within the
//! limits the templates give the parameter it feeds (type, allowed values,
//! minimum and maximum), and the rules between values that CloudFormation
//! would only find mid-deploy.

use std::collections::BTreeMap;

use crate::core::blueprint::Blueprint;
use crate::core::blueprint::manifest::Source;
use crate::core::blueprint::sizing::{Profile, SizedValue};

/// What one sized value may be, from the template parameter it feeds.
#[derive(Debug, Clone, PartialEq)]
pub struct Limit {
    /// The sizing key (`db_allocated_storage`).
    pub key: String,
    /// The stack and template parameter it feeds (`rds.DbAllocatedStorage`).
    pub parameter: String,
    pub number: bool,
    pub allowed: Vec<String>,
    pub min: Option<f64>,
    pub max: Option<f64>,
}

impl Limit {
    /// The limit in words, for the editor.
    pub fn describe(&self) -> String {
        if !self.allowed.is_empty() {
            return self.allowed.join(" / ");
        }
        let n = |v: f64| format!("{v}");
        match (self.number, self.min, self.max) {
            (true, Some(lo), Some(hi)) => format!("{}-{}", n(lo), n(hi)),
            (true, Some(lo), None) => format!(">= {}", n(lo)),
            (true, None, Some(hi)) => format!("<= {}", n(hi)),
            (true, None, None) => "a number".into(),
            _ => "checked against the region".into(),
        }
    }

    /// `input` as the value to keep, or why the template refuses it.
    pub fn check(&self, input: &str) -> Result<String, String> {
        let v = input.trim();
        if v.is_empty() {
            return Err(format!("{} needs a value ({}).", self.key, self.describe()));
        }
        if !self.allowed.is_empty() && !self.allowed.iter().any(|a| a == v) {
            return Err(format!(
                "{} must be one of {} ({} allows no other).",
                self.key,
                self.allowed.join(", "),
                self.parameter
            ));
        }
        if self.number {
            let x: f64 = v
                .parse()
                .map_err(|_| format!("{} is a number; '{v}' is not one.", self.key))?;
            if self.min.is_some_and(|lo| x < lo) || self.max.is_some_and(|hi| x > hi) {
                return Err(format!(
                    "{}: {v} is outside {}, the limits of {}.",
                    self.key,
                    self.describe(),
                    self.parameter
                ));
            }
        } else if v.contains(char::is_whitespace) {
            return Err(format!("{} has no spaces.", self.key));
        }
        Ok(v.to_string())
    }
}

/// The limit of every sized value, in the manifest's order.
pub fn limits(bp: &Blueprint) -> Vec<Limit> {
    let mut out: Vec<Limit> = Vec::new();
    for stack in &bp.manifest.stacks {
        let Some(t) = bp.templates.get(&stack.template) else {
            continue;
        };
        for (param, source) in &stack.parameters {
            let Source::Sizing(key) = source else {
                continue;
            };
            let Some(p) = t.parameters.get(param) else {
                continue;
            };
            if out.iter().any(|l| &l.key == key) {
                continue;
            }
            out.push(Limit {
                key: key.clone(),
                parameter: format!("{}.{param}", stack.name),
                number: p.cfn_type == "Number",
                allowed: p.allowed_values.clone(),
                min: p.min_value,
                max: p.max_value,
            });
        }
    }
    out
}

/// `profile` with the `overrides` in place of its own values.
pub fn effective(profile: &Profile, overrides: &BTreeMap<String, String>) -> Profile {
    let mut p = profile.clone();
    for (k, v) in overrides {
        p.values.insert(
            k.clone(),
            SizedValue::Scalar(toml::Value::String(v.clone())),
        );
    }
    p
}

/// The rules between values that no single parameter's limit states.
pub fn problems(profile: &Profile, az: u8) -> Vec<String> {
    let n = |k: &str| {
        profile
            .value(k, az)
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0)
    };
    let mut out = Vec::new();
    let (lo, want, hi) = (
        n("node_min_size"),
        n("node_desired_size"),
        n("node_max_size"),
    );
    if !(lo <= want && want <= hi) {
        out.push(format!(
            "EKS nodes: minimum {lo} <= desired {want} <= maximum {hi} must hold."
        ));
    }
    let brokers = n("msk_broker_count");
    if brokers % u64::from(az) != 0 {
        out.push(format!(
            "MSK: {brokers} brokers over {az} zones; the count must be a multiple of the zones."
        ));
    }
    let data = n("search_instance_count");
    if data > 1 && data % u64::from(az) != 0 {
        out.push(format!(
            "OpenSearch: {data} data nodes over {az} zones; a zone-aware domain needs a \
             multiple of the zones."
        ));
    }
    let masters = n("search_dedicated_master_count");
    if masters != 0 && masters != 3 && masters != 5 {
        out.push(format!(
            "OpenSearch: {masters} dedicated masters; use 0, 3 or 5 (an odd quorum)."
        ));
    }
    out
}

/// Every override of `overrides` checked against its limit: the refusals,
/// naming the key. A key no sized value has is refused too.
pub fn check_overrides(limits: &[Limit], overrides: &BTreeMap<String, String>) -> Vec<String> {
    refusals(limits, overrides)
        .into_iter()
        .map(|(_, why)| why)
        .collect()
}

/// The refusals of [`check_overrides`] with the key each is about.
pub fn refusals(limits: &[Limit], overrides: &BTreeMap<String, String>) -> Vec<(String, String)> {
    overrides
        .iter()
        .filter_map(|(k, v)| {
            let why = match limits.iter().find(|l| &l.key == k) {
                None => Some(format!(
                    "sizing.{k} is not a sized value; the keys are those of assets/sizing.toml."
                )),
                Some(l) => l.check(v).err().map(|e| format!("sizing.{e}")),
            };
            why.map(|w| (k.clone(), w))
        })
        .collect()
}

/// The 1-based line of `key` in the `[sizing]` table of an answers file's
/// `text`, for a refusal to point at.
pub fn line_of(text: &str, key: &str) -> Option<usize> {
    let mut in_sizing = false;
    for (i, line) in text.lines().enumerate() {
        let l = line.trim();
        if l.starts_with('[') {
            in_sizing = l.trim_start_matches('[').trim_end_matches(']').trim() == "sizing";
            continue;
        }
        let named = l
            .split_once('=')
            .is_some_and(|(k, _)| k.trim().trim_matches('"') == key);
        if in_sizing && named {
            return Some(i + 1);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all() -> Vec<Limit> {
        limits(&Blueprint::embedded().unwrap())
    }

    fn limit(key: &str) -> Limit {
        all().into_iter().find(|l| l.key == key).unwrap()
    }

    #[test]
    fn every_sized_value_has_the_limit_of_the_parameter_it_feeds() {
        let bp = Blueprint::embedded().unwrap();
        let keys: Vec<String> = all().into_iter().map(|l| l.key).collect();
        for (name, p) in &bp.sizing.profiles {
            for k in p.values.keys() {
                assert!(keys.contains(k), "{name}: {k} feeds no parameter");
            }
        }
        let storage = limit("db_allocated_storage");
        assert!(storage.number && storage.min == Some(20.0), "{storage:?}");
        assert_eq!(limit("db_multi_az").allowed, ["true", "false"]);
    }

    #[test]
    fn values_are_accepted_or_refused_as_the_template_would() {
        let cases: &[(&str, &str, Result<&str, &str>)] = &[
            ("db_allocated_storage", "100", Ok("100")),
            ("db_allocated_storage", " 20 ", Ok("20")),
            ("db_allocated_storage", "10", Err("outside")),
            ("db_allocated_storage", "lots", Err("not one")),
            ("db_multi_az", "true", Ok("true")),
            ("db_multi_az", "yes", Err("one of true, false")),
            ("db_instance_class", "db.r6g.xlarge", Ok("db.r6g.xlarge")),
            ("db_instance_class", "db r6g", Err("no spaces")),
            ("db_instance_class", "", Err("needs a value")),
        ];
        for (key, input, want) in cases {
            match (limit(key).check(input), want) {
                (Ok(v), Ok(w)) => assert_eq!(v, *w, "{key}={input}"),
                (Err(e), Err(says)) => assert!(e.contains(says), "{key}={input}: {e}"),
                (got, want) => panic!("{key}={input}: got {got:?}, wanted {want:?}"),
            }
        }
    }

    #[test]
    fn values_that_disagree_with_each_other_are_named() {
        let bp = Blueprint::embedded().unwrap();
        let production = &bp.sizing.profiles["production"];
        assert!(problems(production, 3).is_empty());
        let mut o = BTreeMap::new();
        o.insert("node_desired_size".to_string(), "9".to_string());
        o.insert("msk_broker_count".to_string(), "4".to_string());
        let p = problems(&effective(production, &o), 3);
        assert_eq!(p.len(), 2, "{p:?}");
        assert!(
            p[0].contains("desired 9") && p[1].contains("4 brokers"),
            "{p:?}"
        );
    }

    #[test]
    fn a_refused_key_is_found_on_its_line_of_the_sizing_table() {
        let text = "profile = \"evaluation\"\ndb_allocated_storage = 1\n\n[sizing]\n# x\n\
                    db_allocated_storage = 5\n";
        assert_eq!(line_of(text, "db_allocated_storage"), Some(6));
        assert_eq!(line_of(text, "node_min_size"), None);
    }

    #[test]
    fn overrides_from_a_file_are_checked_by_key() {
        let mut o = BTreeMap::new();
        o.insert("db_allocated_storage".to_string(), "5".to_string());
        o.insert("db_colour".to_string(), "blue".to_string());
        let refused = check_overrides(&all(), &o);
        assert_eq!(refused.len(), 2, "{refused:?}");
        assert!(refused.iter().any(|r| r.starts_with("sizing.db_colour")));
        assert!(
            refused
                .iter()
                .any(|r| r.starts_with("sizing.db_allocated_storage"))
        );
    }
}
