//! The wizard's answers (`config.toml`, or an answers file given to a
//! headless run). Parsing goes through the same validators as the wizard, so
//! a refused region is refused here with the same sentence.

use serde::{Deserialize, Serialize};

use super::install_name::InstallName;
use super::region::RegionCode;

/// Saved answers. Every field is optional: a partly answered wizard saves
/// what it has, and the next run resumes from there. Unknown keys are
/// refused so a typo (`regoin`) is caught rather than silently ignored.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Answers {
    /// The install region (commercial regions only).
    pub region: Option<RegionCode>,
    /// Tags every resource and prefixes every name.
    pub install_name: Option<InstallName>,
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
    fn a_misspelt_key_is_refused_not_ignored() {
        let err = toml::from_str::<Answers>("regoin = \"eu-west-1\"\n").unwrap_err();
        assert!(err.to_string().contains("regoin"), "{err}");
    }
}
