//! The sandbox's fault script (`--sandbox-faults FILE`, TOML): what to break
//! and when, so failure, throttling and expiry can be rehearsed.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FaultScript {
    /// Resources that fail.
    #[serde(default)]
    pub fail: Vec<ResourceFault>,
    /// Throttle a share of calls.
    pub throttle: Option<Throttle>,
    /// Add latency to every call.
    pub latency: Option<Latency>,
    /// Expire the credentials at a point in time.
    pub expire_credentials: Option<CredentialExpiry>,
    /// Make simulated services slower (or faster) than their defaults.
    pub slow: Option<SlowServices>,
}

/// Service timings, in virtual seconds, that replace the sandbox's defaults
/// for this session (and are kept in the account if it is saved).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SlowServices {
    /// ACM: issued this long after the validation CNAME exists in a sandbox zone (default 60).
    pub acm_validation_seconds: Option<u64>,
    /// ACM: issued this long after the request when the domain's DNS is
    /// outside the sandbox, as with an external DNS provider (default 300).
    pub acm_external_validation_seconds: Option<u64>,
    /// Route 53: a change goes from PENDING to INSYNC after this long (default 30).
    pub dns_sync_seconds: Option<u64>,
    /// EC2: metadata options go from pending to applied after this long (default 4).
    pub metadata_apply_seconds: Option<u64>,
}

/// Fail resource `resource` (a logical id) with `reason`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResourceFault {
    #[serde(deserialize_with = "non_empty_resource")]
    pub resource: String,
    pub reason: String,
    #[serde(default)]
    pub times: FaultTimes,
    /// Which operation on the resource fails.
    #[serde(default)]
    pub during: FaultPhase,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FaultTimes {
    /// The first attempt fails; a retry succeeds.
    #[default]
    Once,
    Always,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FaultPhase {
    #[default]
    Create,
    Update,
    Delete,
    /// Undoing an update during UPDATE_ROLLBACK_IN_PROGRESS (leads to UPDATE_ROLLBACK_FAILED).
    Rollback,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Throttle {
    /// Share of calls refused with Throttling, 0.0 to 1.0.
    #[serde(deserialize_with = "share_in_range")]
    pub share: f64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Latency {
    /// Real milliseconds added to every call.
    pub ms: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CredentialExpiry {
    /// Real seconds after the sandbox process starts.
    pub after_seconds: u64,
}

/// Why a fault script was refused. `Display` names the line, the column and
/// the key, and what is accepted there.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", describe(.line, .column, .message))]
pub struct FaultScriptError {
    /// 1-based, when the position is known.
    pub line: Option<usize>,
    pub column: Option<usize>,
    pub message: String,
}

fn describe(line: &Option<usize>, column: &Option<usize>, message: &str) -> String {
    let at = match (line, column) {
        (Some(l), Some(c)) => format!(" at line {l}, column {c}"),
        (Some(l), None) => format!(" at line {l}"),
        _ => String::new(),
    };
    format!(
        "The sandbox fault script is not valid{at}: {message}. Fix it and run again; accepted \
         keys are [[fail]] (resource, reason, times = once|always, during = \
         create|update|delete|rollback), [throttle] share (0 to 1), [latency] ms, [slow] \
         acm_validation_seconds / acm_external_validation_seconds / dns_sync_seconds / \
         metadata_apply_seconds, [expire_credentials] after_seconds."
    )
}

impl FaultScript {
    /// Parses a fault script (TOML). Unknown keys, a share outside 0..=1 and
    /// an empty resource name are refused with the line and column.
    pub fn from_toml(text: &str) -> Result<FaultScript, FaultScriptError> {
        toml::from_str(text).map_err(|e| {
            let (line, column) = match e.span() {
                Some(span) => {
                    let (line, column) = crate::core::text::line_column(text, span.start);
                    (Some(line), Some(column))
                }
                None => (None, None),
            };
            FaultScriptError {
                line,
                column,
                message: e.message().trim().to_string(),
            }
        })
    }

    /// Whether the script breaks anything at all.
    pub fn is_empty(&self) -> bool {
        self.fail.is_empty()
            && self.throttle.is_none()
            && self.latency.is_none()
            && self.expire_credentials.is_none()
            && self.slow.is_none()
    }
}

fn share_in_range<'de, D: serde::Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
    let share = f64::deserialize(d)?;
    if (0.0..=1.0).contains(&share) {
        Ok(share)
    } else {
        Err(serde::de::Error::custom(format!(
            "throttle.share is {share}, but it is the share of calls to refuse and must be \
             between 0 and 1 (0.25 refuses one call in four)"
        )))
    }
}

fn non_empty_resource<'de, D: serde::Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    let resource = String::deserialize(d)?;
    if resource.trim().is_empty() {
        Err(serde::de::Error::custom(
            "fail.resource is empty; give the logical id of a template resource, e.g. \
             resource = \"MskCluster\"",
        ))
    } else {
        Ok(resource)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_fault_script_in_the_readme_parses_and_sets_every_section() {
        let readme = include_str!("../../../README.md");
        let start = readme
            .find("```toml\n# --sandbox-faults")
            .expect("README shows a fault script");
        let body = &readme[start + "```toml\n".len()..];
        let body = &body[..body.find("```").unwrap()];
        let s = FaultScript::from_toml(body).unwrap();
        assert!(!s.fail.is_empty());
        assert!(s.throttle.is_some() && s.latency.is_some());
        assert!(s.expire_credentials.is_some() && s.slow.is_some());
    }

    #[test]
    fn a_full_fault_script_parses() {
        let s = FaultScript::from_toml(
            r#"
[[fail]]
resource = "MskCluster"
reason = "Resource handler returned message: capacity"
times = "always"
during = "update"

[[fail]]
resource = "Alb"
reason = "boom"

[throttle]
share = 0.25

[latency]
ms = 40

[expire_credentials]
after_seconds = 90
"#,
        )
        .unwrap();
        assert_eq!(s.fail.len(), 2);
        assert_eq!(s.fail[0].times, FaultTimes::Always);
        assert_eq!(s.fail[0].during, FaultPhase::Update);
        assert_eq!(s.fail[1].times, FaultTimes::Once);
        assert_eq!(s.fail[1].during, FaultPhase::Create);
        assert_eq!(s.throttle, Some(Throttle { share: 0.25 }));
        assert_eq!(s.latency, Some(Latency { ms: 40 }));
        assert_eq!(
            s.expire_credentials,
            Some(CredentialExpiry { after_seconds: 90 })
        );
    }

    #[test]
    fn an_empty_fault_script_breaks_nothing() {
        let s = FaultScript::from_toml("").unwrap();
        assert!(s.is_empty());
    }

    #[test]
    fn an_unknown_key_is_refused_with_its_name_and_line() {
        let err = FaultScript::from_toml("[throttle]\nshare = 0.5\nrate = 3\n").unwrap_err();
        let msg = err.to_string();
        assert_eq!(err.line, Some(3), "{msg}");
        assert!(msg.contains("rate") && msg.contains("line 3"), "{msg}");
    }

    #[test]
    fn an_unknown_section_is_refused_with_its_name() {
        let err = FaultScript::from_toml("[drop_connections]\nafter = 3\n").unwrap_err();
        let msg = err.to_string();
        assert!(
            msg.contains("drop_connections") && msg.contains("line 1"),
            "{msg}"
        );
    }

    #[test]
    fn a_share_above_one_is_refused_naming_the_key_and_line() {
        let err = FaultScript::from_toml("# faults\n[throttle]\nshare = 1.5\n").unwrap_err();
        let msg = err.to_string();
        assert_eq!(err.line, Some(3), "{msg}");
        assert!(
            msg.contains("throttle.share") && msg.contains("1.5"),
            "{msg}"
        );
    }

    #[test]
    fn a_negative_share_is_refused() {
        assert!(FaultScript::from_toml("[throttle]\nshare = -0.1\n").is_err());
    }

    #[test]
    fn an_empty_resource_is_refused() {
        let err =
            FaultScript::from_toml("[[fail]]\nresource = \"\"\nreason = \"x\"\n").unwrap_err();
        let msg = err.to_string();
        assert!(
            msg.contains("fail.resource") && msg.contains("line 2"),
            "{msg}"
        );
    }

    #[test]
    fn broken_toml_names_the_line() {
        let err = FaultScript::from_toml("[latency]\nms = = 3\n").unwrap_err();
        assert_eq!(err.line, Some(2), "{err}");
        assert!(err.to_string().contains("line 2"));
    }

    #[test]
    fn an_unknown_times_value_is_refused() {
        let err = FaultScript::from_toml(
            "[[fail]]\nresource = \"A\"\nreason = \"x\"\ntimes = \"twice\"\n",
        )
        .unwrap_err();
        assert!(err.to_string().contains("twice"), "{err}");
    }
}
