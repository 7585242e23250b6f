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
}

/// Fail resource `resource` (a logical id) with `reason`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResourceFault {
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
