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
    /// Make DescribeStacks lag behind the calls that change a stack.
    pub lag: Option<Lag>,
    /// Change sets that fail to be created.
    #[serde(default)]
    pub fail_change_set: Vec<ChangeSetFault>,
    /// Calls that fail on the wire: a lost response or a server error.
    #[serde(default)]
    pub interrupt: Vec<Interrupt>,
    /// Calls the caller's IAM policy does not allow.
    #[serde(default)]
    pub deny: Vec<Deny>,
}

/// As AWS's reads are eventually consistent: for `seconds` (virtual) after
/// a call that changes a stack (ExecuteChangeSet, UpdateStack, DeleteStack,
/// the rollback calls), DescribeStacks still reports the stack as it was
/// before the call. Events are never late.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Lag {
    pub seconds: u64,
}

/// Fail the change sets created for stacks whose name matches `stack` (`*`
/// matches any run of characters) with `reason`, as CloudFormation does for
/// a template it cannot validate or a capability not acknowledged.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChangeSetFault {
    #[serde(default = "any_stack")]
    pub stack: String,
    pub reason: String,
    #[serde(default)]
    pub times: FaultTimes,
}

fn any_stack() -> String {
    "*".into()
}

/// How a call fails on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InterruptKind {
    /// AWS applied the call but its answer never arrived: the caller sees a
    /// timeout. A retry must be recognised as the same operation.
    ResponseLost,
    /// AWS answered HTTP 500 InternalFailure and applied nothing.
    ServerError,
}

/// Interrupt calls of `action` (as IAM names it, e.g.
/// `cloudformation:ExecuteChangeSet`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Interrupt {
    #[serde(deserialize_with = "known_action")]
    pub action: String,
    pub kind: InterruptKind,
    #[serde(default)]
    pub times: FaultTimes,
}

/// Refuse every call of `action` with AccessDenied.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Deny {
    #[serde(deserialize_with = "known_action")]
    pub action: String,
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
/// The reason reads as the resource handler's message, the way
/// CloudFormation reports it: `Resource handler returned message: "<reason>"
/// (RequestToken: ..., HandlerErrorCode: <code>)`; a reason that already
/// starts that way, or a `Template error:`, is reported as written.
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
    /// The handler's error code, e.g. `ServiceLimitExceeded`, `AlreadyExists`,
    /// `InvalidRequest` (default `GeneralServiceException`).
    #[serde(default)]
    pub code: Option<String>,
}

/// How many attempts a fault breaks: `"once"`, `"always"` or a number.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum FaultTimes {
    /// The first attempt fails; a retry succeeds.
    #[default]
    Once,
    Always,
    /// The first `n` attempts fail.
    Count(u32),
}

impl FaultTimes {
    /// Whether the attempt after `fired` failed ones fails too.
    pub fn fires(self, fired: u32) -> bool {
        match self {
            FaultTimes::Once => fired < 1,
            FaultTimes::Always => true,
            FaultTimes::Count(n) => fired < n,
        }
    }
}

impl Serialize for FaultTimes {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            FaultTimes::Once => s.serialize_str("once"),
            FaultTimes::Always => s.serialize_str("always"),
            FaultTimes::Count(n) => s.serialize_u32(*n),
        }
    }
}

impl<'de> Deserialize<'de> for FaultTimes {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Word(String),
            Number(i64),
        }
        let bad = |what: String| {
            serde::de::Error::custom(format!(
                "times is {what}; give \"once\", \"always\" or a number of attempts from 1 up"
            ))
        };
        match Raw::deserialize(d)? {
            Raw::Word(w) if w == "once" => Ok(FaultTimes::Once),
            Raw::Word(w) if w == "always" => Ok(FaultTimes::Always),
            Raw::Word(w) => Err(bad(format!("{w:?}"))),
            Raw::Number(n) if n >= 1 => Ok(FaultTimes::Count(u32::try_from(n).unwrap_or(u32::MAX))),
            Raw::Number(n) => Err(bad(n.to_string())),
        }
    }
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
         create|update|delete|rollback, code), [throttle] share (0 to 1), [latency] ms, \
         [slow] acm_validation_seconds / acm_external_validation_seconds / dns_sync_seconds / \
         metadata_apply_seconds, [expire_credentials] after_seconds, [lag] seconds, \
         [[fail_change_set]] (stack, reason, times), [[interrupt]] (action, kind = \
         response_lost|server_error, times), [[deny]] action; times is \"once\", \"always\" \
         or a number."
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
            && self.lag.is_none()
            && self.fail_change_set.is_empty()
            && self.interrupt.is_empty()
            && self.deny.is_empty()
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

fn known_action<'de, D: serde::Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    let action = String::deserialize(d)?;
    if crate::cloud::actions::ALL.contains(&action.as_str()) {
        Ok(action)
    } else {
        Err(serde::de::Error::custom(format!(
            "action {action:?} is not a call the installer makes; name it as IAM does, one of: {}",
            crate::cloud::actions::ALL.join(", ")
        )))
    }
}

/// Whether `name` matches `pattern`, where `*` matches any run of characters.
pub fn glob_matches(pattern: &str, name: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    if parts.len() == 1 {
        return pattern == name;
    }
    let (first, last) = (parts[0], parts[parts.len() - 1]);
    if !name.starts_with(first) || name.len() < first.len() + last.len() || !name.ends_with(last) {
        return false;
    }
    let mut rest = &name[first.len()..name.len() - last.len()];
    for part in &parts[1..parts.len() - 1] {
        match rest.find(part) {
            Some(i) => rest = &rest[i + part.len()..],
            None => return false,
        }
    }
    true
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
        assert!(s.lag.is_some() && !s.fail_change_set.is_empty());
        assert!(!s.interrupt.is_empty() && !s.deny.is_empty());
        assert!(s.fail.iter().any(|f| f.code.is_some()));
        // Every section the script knows is shown: a new one must join the README.
        let shown = serde_json::to_value(&s).unwrap();
        for (key, value) in shown.as_object().unwrap() {
            assert!(
                !(value.is_null() || value.as_array().is_some_and(Vec::is_empty)),
                "the README's fault script leaves out [{key}]"
            );
        }
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
    fn times_is_once_always_or_a_count() {
        let parse = |t: &str| {
            FaultScript::from_toml(&format!(
                "[[fail]]\nresource = \"A\"\nreason = \"x\"\ntimes = {t}\n"
            ))
            .map(|s| s.fail[0].times)
        };
        assert_eq!(parse("\"once\""), Ok(FaultTimes::Once));
        assert_eq!(parse("\"always\""), Ok(FaultTimes::Always));
        assert_eq!(parse("2"), Ok(FaultTimes::Count(2)));
        let err = parse("0").unwrap_err();
        assert!(err.to_string().contains("number of attempts"), "{err}");
        assert!(FaultTimes::Count(2).fires(1) && !FaultTimes::Count(2).fires(2));
        assert!(FaultTimes::Once.fires(0) && !FaultTimes::Once.fires(1));
    }

    #[test]
    fn interrupts_and_denials_name_calls_as_iam_does() {
        let s = FaultScript::from_toml(
            "[[interrupt]]\naction = \"cloudformation:ExecuteChangeSet\"\nkind = \"response_lost\"\n\
             [[deny]]\naction = \"ec2:ModifyInstanceMetadataOptions\"\n",
        )
        .unwrap();
        assert_eq!(s.interrupt[0].kind, InterruptKind::ResponseLost);
        assert_eq!(s.deny[0].action, "ec2:ModifyInstanceMetadataOptions");
        let err = FaultScript::from_toml("[[deny]]\naction = \"CreateChangeSet\"\n").unwrap_err();
        assert!(
            err.to_string().contains("cloudformation:CreateChangeSet") && err.line == Some(2),
            "{err}"
        );
    }

    #[test]
    fn stack_patterns_match_with_stars() {
        assert!(glob_matches("*", "ph-demo-rds"));
        assert!(glob_matches("ph-*-rds", "ph-demo-rds"));
        assert!(glob_matches("ph-demo-rds", "ph-demo-rds"));
        assert!(!glob_matches("ph-*-rds", "ph-demo-msk"));
        assert!(!glob_matches("ph-*-rds", "ph-rds"));
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
