//! The wizard's answers (`config.toml`, or an answers file given to a
//! headless run). Parsing goes through the same validators as the wizard, so
//! a refused region is refused here with the same sentence.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::install_name::InstallName;
use super::region::RegionCode;

/// Saved answers. Every field is optional: a partly answered wizard saves
/// what it has, and the next run resumes from there. Unknown keys are
/// refused so a typo (`regoin`) is caught rather than silently ignored.
///
/// This is the one answers model: the wizard fills it, `config.toml` and
/// answers files hold it, and the blueprint's planner reads its
/// `answers.<key>` parameters from it through [`Answers::value`]. A new
/// answer is a field here and a row in [`ANSWER_KEYS`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Answers {
    /// The install region (commercial regions only).
    pub region: Option<RegionCode>,
    /// Tags every resource and prefixes every name.
    pub install_name: Option<InstallName>,
    /// The application's domain, e.g. `ph.example.com`.
    pub domain: Option<String>,
    /// The ACM certificate (in the install region) the load balancer serves.
    pub certificate_arn: Option<String>,
    /// The network (CIDR) allowed to reach the app instance over SSH.
    pub admin_cidr: Option<String>,
    /// The sizing profile of `assets/sizing.toml`.
    pub profile: Option<String>,
    /// The IAM role or user that administers the EKS cluster's Kubernetes
    /// API. Optional: unanswered, no one does (the installer never keeps
    /// the cluster creator's admin access).
    pub cluster_admin_arn: Option<String>,
    /// A custom profile: sized values of `profile` changed (key -> value),
    /// each within the limits of the template parameter it feeds.
    #[serde(
        default,
        skip_serializing_if = "BTreeMap::is_empty",
        deserialize_with = "scalars_as_text"
    )]
    pub sizing: BTreeMap<String, String>,
}

/// `[sizing]` values as text, whether written `100`, `true` or `"m6i.large"`.
fn scalars_as_text<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<BTreeMap<String, String>, D::Error> {
    let raw: BTreeMap<String, toml::Value> = BTreeMap::deserialize(d)?;
    raw.into_iter()
        .map(|(k, v)| match v {
            toml::Value::String(s) => Ok((k, s)),
            toml::Value::Integer(i) => Ok((k, i.to_string())),
            toml::Value::Float(f) => Ok((k, f.to_string())),
            toml::Value::Boolean(b) => Ok((k, b.to_string())),
            other => Err(serde::de::Error::custom(format!(
                "sizing.{k} must be a single value, not {}",
                other.type_str()
            ))),
        })
        .collect()
}

/// The keys a blueprint manifest may read as `answers.<key>`.
pub const ANSWER_KEYS: &[&str] = &[
    "region",
    "install_name",
    "domain",
    "certificate_arn",
    "admin_cidr",
    "profile",
    "cluster_admin_arn",
];

impl Answers {
    /// These answers, with every one `over` gives replacing the one here
    /// (an answers file over the saved answers).
    pub fn overlaid(self, over: Answers) -> Answers {
        let own_sizing = !over.sizing.is_empty() || over.profile.is_some();
        Answers {
            region: over.region.or(self.region),
            install_name: over.install_name.or(self.install_name),
            domain: over.domain.or(self.domain),
            certificate_arn: over.certificate_arn.or(self.certificate_arn),
            admin_cidr: over.admin_cidr.or(self.admin_cidr),
            profile: over.profile.or(self.profile),
            cluster_admin_arn: over.cluster_admin_arn.or(self.cluster_admin_arn),
            // Changed values belong to their profile: a file that names its own
            // values (or another profile) brings its own.
            sizing: if own_sizing { over.sizing } else { self.sizing },
        }
    }

    /// The answer named `key` as a CloudFormation parameter value, `None`
    /// when it is not answered (or not an answer at all).
    pub fn value(&self, key: &str) -> Option<String> {
        match key {
            "region" => self.region.as_ref().map(|r| r.to_string()),
            "install_name" => self.install_name.as_ref().map(|n| n.as_str().to_string()),
            "domain" => self.domain.clone(),
            "certificate_arn" => self.certificate_arn.clone(),
            "admin_cidr" => self.admin_cidr.clone(),
            "profile" => self.profile.clone(),
            // Optional: an empty value is the template's "no one".
            "cluster_admin_arn" => Some(self.cluster_admin_arn.clone().unwrap_or_default()),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_with_a_commercial_region_parse() {
        let a: Answers = toml::from_str("region = \"eu-west-1\"\n").unwrap();
        assert_eq!(a.region.unwrap().as_str(), "eu-west-1");
        let empty: Answers = toml::from_str("").unwrap();
        assert_eq!(empty, Answers::default());
    }

    #[test]
    fn answers_naming_a_govcloud_region_are_refused_with_the_reason() {
        let err = toml::from_str::<Answers>("region = \"us-gov-east-1\"\n").unwrap_err();
        assert!(err.to_string().contains("GovCloud"), "{err}");
    }

    #[test]
    fn answers_with_an_install_name_rds_would_refuse_are_refused_with_the_reason() {
        let err = toml::from_str::<Answers>("install_name = \"shop--eu\"\n").unwrap_err();
        assert!(err.to_string().contains("two hyphens in a row"), "{err}");
        let ok: Answers = toml::from_str("install_name = \"shop-eu\"\n").unwrap();
        assert_eq!(ok.install_name.unwrap().as_str(), "shop-eu");
    }

    #[test]
    fn every_answer_key_reads_its_field_and_nothing_else_is_an_answer() {
        let a: Answers = toml::from_str(
            "region = \"eu-west-1\"\ninstall_name = \"shop\"\ndomain = \"ph.example.com\"\n\
             certificate_arn = \"arn:aws:acm:eu-west-1:1:certificate/x\"\n\
             admin_cidr = \"203.0.113.0/24\"\nprofile = \"production\"\n",
        )
        .unwrap();
        for key in ANSWER_KEYS {
            assert!(a.value(key).is_some(), "{key} is listed but not read");
        }
        assert_eq!(a.value("install_name").as_deref(), Some("shop"));
        assert_eq!(a.value("region").as_deref(), Some("eu-west-1"));
        assert_eq!(a.value("nonsense"), None);
        assert_eq!(Answers::default().value("domain"), None);
    }

    #[test]
    fn the_example_answers_file_parses_and_names_only_known_keys() {
        let text = include_str!("../../examples/answers.toml");
        let a: Answers = toml::from_str(text).unwrap();
        assert_eq!(a.install_name.unwrap().as_str(), "shop");
        // The commented keys are answers too, once uncommented.
        let uncommented: String = text
            .lines()
            .map(|l| {
                l.strip_prefix("# ")
                    .filter(|r| r.contains(" = ") || r.starts_with('['))
                    .unwrap_or(l)
            })
            .collect::<Vec<_>>()
            .join("\n");
        let all: Answers = toml::from_str(&uncommented).unwrap();
        for key in ANSWER_KEYS {
            assert!(
                all.value(key).is_some_and(|v| !v.is_empty()),
                "examples/answers.toml does not show {key}"
            );
        }
        assert!(
            !all.sizing.is_empty(),
            "examples/answers.toml shows no [sizing]"
        );
        let bp = crate::core::blueprint::Blueprint::embedded().unwrap();
        let limits = crate::core::wizard::custom::limits(&bp);
        assert_eq!(
            crate::core::wizard::custom::check_overrides(&limits, &all.sizing),
            Vec::<String>::new()
        );
    }

    #[test]
    fn an_answers_file_replaces_the_saved_answers_it_names_and_keeps_the_rest() {
        let saved: Answers =
            toml::from_str("install_name = \"shop\"\nregion = \"eu-west-1\"\n").unwrap();
        let file: Answers = toml::from_str("region = \"us-west-2\"\n").unwrap();
        let both = saved.overlaid(file);
        assert_eq!(both.region.unwrap().as_str(), "us-west-2");
        assert_eq!(both.install_name.unwrap().as_str(), "shop");
    }

    #[test]
    fn a_misspelt_key_is_refused_not_ignored() {
        let err = toml::from_str::<Answers>("regoin = \"eu-west-1\"\n").unwrap_err();
        assert!(err.to_string().contains("regoin"), "{err}");
    }
}
