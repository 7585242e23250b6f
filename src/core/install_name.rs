//! The install name: it tags every resource (`ph:install`) and prefixes
//! every name (`ph-<install>-...`), so it must fit the strictest naming rule
//! among the stack's services.
//!
//! RDS instance identifiers and ElastiCache replication group ids refuse
//! consecutive hyphens and a trailing one. The tightest length is the
//! OpenSearch domain name (`ph-<install>-search`, at most 28 characters),
//! which allows 18; 16 leaves two characters for a name a later stack adds.
//! The templates' `InstallName` parameters carry the same rule as
//! [`PATTERN`], [`MIN_LEN`] and [`MAX_LEN`] (a blueprint test keeps them equal).

use std::fmt;

use serde::{Deserialize, Serialize};

/// The rule as a CloudFormation `AllowedPattern` (lengths are separate).
pub const PATTERN: &str = "^[a-z](-?[a-z0-9])*$";
pub const MIN_LEN: usize = 3;
pub const MAX_LEN: usize = 16;

/// A valid install name such as `shop` or `shop-eu2`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct InstallName(String);

impl InstallName {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for InstallName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for InstallName {
    type Error = InstallNameRefusal;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        parse_install_name(&value)
    }
}

impl From<InstallName> for String {
    fn from(value: InstallName) -> Self {
        value.0
    }
}

impl std::str::FromStr for InstallName {
    type Err = InstallNameRefusal;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        parse_install_name(s)
    }
}

/// Why a name was refused; `Display` is the sentence a person reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstallNameRefusal {
    pub input: String,
    pub problem: String,
}

impl fmt::Display for InstallNameRefusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Install name '{}' cannot be used: {}. Use {MIN_LEN}-{MAX_LEN} lowercase letters, \
             digits and single hyphens, starting with a letter and ending with a letter or \
             digit (for example shop or shop-eu2).",
            self.input, self.problem
        )
    }
}

impl std::error::Error for InstallNameRefusal {}

pub fn parse_install_name(input: &str) -> Result<InstallName, InstallNameRefusal> {
    let refuse = |problem: String| InstallNameRefusal {
        input: input.to_string(),
        problem,
    };
    let len = input.chars().count();
    if len < MIN_LEN {
        return Err(refuse(format!(
            "it has {len} characters, and at least {MIN_LEN} are needed"
        )));
    }
    if len > MAX_LEN {
        return Err(refuse(format!(
            "it has {len} characters, and at most {MAX_LEN} fit every resource name \
             (OpenSearch domain names are the tightest, at 28 with their prefix and suffix)"
        )));
    }
    if let Some(c) = input
        .chars()
        .find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '-'))
    {
        let hint = if c.is_ascii_uppercase() {
            format!(" (try '{}')", input.to_ascii_lowercase())
        } else {
            String::new()
        };
        return Err(refuse(format!("'{c}' is not allowed{hint}")));
    }
    if !input.starts_with(|c: char| c.is_ascii_lowercase()) {
        return Err(refuse("it must start with a letter".into()));
    }
    if input.ends_with('-') {
        return Err(refuse("it must not end with a hyphen".into()));
    }
    if input.contains("--") {
        return Err(refuse(
            "it has two hyphens in a row, which RDS and ElastiCache refuse".into(),
        ));
    }
    Ok(InstallName(input.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_that_fit_every_service_are_accepted() {
        for ok in [
            "shop",
            "abc",
            "shop-eu2",
            "a1b",
            "x-y-z",
            "abcdefghijklmnop",
        ] {
            assert_eq!(parse_install_name(ok).unwrap().as_str(), ok);
        }
    }

    #[test]
    fn names_that_some_service_refuses_are_refused_saying_why() {
        let cases = [
            ("", "0 characters"),
            ("ab", "at least 3"),
            ("abcdefghijklmnopq", "at most 16"),
            ("Shop", "try 'shop'"),
            ("shop_eu", "'_' is not allowed"),
            ("shop.eu", "'.' is not allowed"),
            ("1shop", "start with a letter"),
            ("-shop", "start with a letter"),
            ("shop-", "end with a hyphen"),
            ("shop--eu", "two hyphens in a row"),
            ("ré-shop", "'é' is not allowed"),
        ];
        for (input, why) in cases {
            let msg = parse_install_name(input).unwrap_err().to_string();
            assert!(msg.contains(why), "{input:?}: {msg}");
            assert!(msg.contains("for example shop"), "{input:?}: {msg}");
        }
    }

    #[test]
    fn a_saved_name_is_validated_when_read() {
        #[derive(Debug, Deserialize)]
        struct A {
            #[allow(dead_code)]
            name: InstallName,
        }
        let err = toml::from_str::<A>("name = \"shop--eu\"\n").unwrap_err();
        assert!(err.to_string().contains("two hyphens"), "{err}");
    }
}
