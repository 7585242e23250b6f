//! The sandbox's CloudFormation: change sets, and execution that walks a
//! template's resources in dependency order on a virtual clock.
//!
//! The engine is a synchronous state machine. Every method takes `now` (the
//! sandbox's virtual time); the engine first advances its simulation to
//! `now`, then acts. Its whole state is serde so the sandbox can persist it.
//!
//! NoEcho parameter values are never part of that state: the engine keeps
//! a salted SHA-256 digest of each, and the values themselves in a map that
//! serde skips. The sandbox account keeps them in a file of their own
//! (`noecho.json`, 0600) through [`CfnEngine::noecho_values`] and gives them
//! back after a reload with [`CfnEngine::restore_noecho_values`], as AWS
//! keeps a stack's NoEcho values for UsePrevious and resumed operations.

pub mod durations;
mod exec;
pub mod ids;
mod model;
pub mod template;

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};

use crate::cloud::CloudResult;
use crate::cloud::error::CloudError;
use crate::cloud::sandbox::faults::{ChangeSetFault, FaultScript, ResourceFault, glob_matches};
use crate::cloud::types::*;
use crate::core::secret::Secret;
use crate::core::stack::StackStatus;

use exec::Env;
use model::*;

/// How long a change set stays CREATE_PENDING, then CREATE_IN_PROGRESS.
const CHANGE_SET_PENDING_SECONDS: u64 = 1;
const CHANGE_SET_SECONDS: u64 = 1;

/// A resource of a stack as the sandbox's other services see it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LiveResource {
    pub logical_id: String,
    pub resource_type: String,
    pub physical_id: Option<String>,
    /// e.g. `CREATE_COMPLETE`, `UPDATE_IN_PROGRESS`.
    pub status: String,
    /// Properties with parameters substituted (NoEcho ones as a digest
    /// marker, never in clear); references to other resources left as is.
    pub properties: serde_json::Value,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct CfnEngine {
    account: String,
    region: String,
    #[serde(default)]
    now: Option<SystemTime>,
    #[serde(default)]
    seq: u64,
    /// Random per engine; salts the NoEcho digests.
    #[serde(default)]
    salt: String,
    #[serde(default)]
    faults: Vec<ResourceFault>,
    /// How often each resource fault has fired, so `times` holds across
    /// retries and restarts (key: `logical/phase`).
    #[serde(default)]
    fault_counts: BTreeMap<String, u32>,
    /// Change sets that fail (from the fault script).
    #[serde(skip)]
    change_set_faults: Vec<ChangeSetFault>,
    /// DescribeStacks lags this many virtual seconds behind changing calls.
    #[serde(skip)]
    lag_secs: u64,
    /// The region's availability zones as EC2 lists them (`Fn::GetAZs`).
    #[serde(default)]
    zones: Vec<String>,
    /// The service-linked roles the account has (their role names), which
    /// some resources need before they can be created.
    #[serde(skip)]
    service_roles: Vec<String>,
    #[serde(default)]
    stacks: Vec<StackState>,
    /// Every ClientRequestToken used in this region, by stack name.
    #[serde(default)]
    tokens: Vec<TokenUse>,
    /// NoEcho values by digest. Never serialized with the engine: the
    /// sandbox account keeps them in a file of their own (0600).
    #[serde(skip)]
    secrets: BTreeMap<String, Secret>,
}

/// DescribeStackEvents' page size.
pub const EVENTS_PAGE: usize = 100;

/// A ClientRequestToken, as CloudFormation checks it before anything else.
fn check_token(action: &str, token: &str) -> CloudResult<()> {
    let ok = token.len() <= 128
        && token
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphanumeric())
        && token.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
    if ok {
        return Ok(());
    }
    Err(invalid(
        action,
        format!(
            "1 validation error detected: Value '{token}' at 'clientRequestToken' failed to \
             satisfy constraint: Member must satisfy regular expression pattern: \
             [a-zA-Z0-9][-a-zA-Z0-9]* (at most 128 characters). Use letters, digits and hyphens."
        ),
    ))
}

/// A stack that does not exist, worded as CloudFormation's write calls say it.
fn no_stack(name: &str) -> CloudError {
    CloudError::NotFound {
        what: format!("Stack [{name}] does not exist."),
    }
}

fn no_change_set(name: &str) -> CloudError {
    CloudError::NotFound {
        what: format!("ChangeSet [{name}] does not exist."),
    }
}

fn invalid(action: &str, message: impl Into<String>) -> CloudError {
    CloudError::invalid(action, message)
}

fn stack_name_ok(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '-')
        && name.len() <= 128
}

fn busy(action: &str, s: &StackState) -> CloudError {
    invalid(
        action,
        format!(
            "Stack:{} is in {} state and can not be updated. Wait until the operation in \
             progress ends, then try again.",
            s.id, s.status
        ),
    )
}

impl CfnEngine {
    /// `account` and `region` go into stack and change-set ARNs.
    pub fn new(account: &str, region: &str) -> Self {
        CfnEngine {
            account: account.into(),
            region: region.into(),
            salt: uuid::Uuid::new_v4().to_string(),
            ..Default::default()
        }
    }

    /// Takes the faults to apply from the fault script. How often each has
    /// already fired is remembered in the engine's state.
    pub fn set_faults(&mut self, script: &FaultScript) {
        self.faults = script.fail.clone();
        self.change_set_faults = script.fail_change_set.clone();
        self.lag_secs = script.lag.as_ref().map_or(0, |l| l.seconds);
    }

    /// The region's availability zones, as EC2 lists them, for `Fn::GetAZs`.
    pub fn set_zones(&mut self, zones: Vec<String>) {
        self.zones = zones;
    }

    /// The account's service-linked roles, by role name.
    pub fn set_service_roles(&mut self, roles: Vec<String>) {
        self.service_roles = roles;
    }

    /// NoEcho parameter values the engine holds, by digest, for the sandbox
    /// account to persist separately from the engine's state.
    pub fn noecho_values(&self) -> Vec<(String, Secret)> {
        self.secrets
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    }

    /// Gives back NoEcho values after a reload. Values whose digest does not
    /// match are ignored.
    pub fn restore_noecho_values(&mut self, values: impl IntoIterator<Item = (String, Secret)>) {
        for (d, v) in values {
            if self.digest(v.expose()) == d {
                self.secrets.insert(d, v);
            }
        }
    }

    fn digest(&self, value: &str) -> String {
        ids::sha256_hex(format!("{}\0{}", self.salt, value).as_bytes())
    }

    /// Runs the simulation up to `now`.
    pub fn advance(&mut self, now: SystemTime) {
        if self.now.is_some_and(|n| n > now) {
            return;
        }
        self.now = Some(now);
        let CfnEngine {
            account,
            region,
            zones,
            service_roles,
            faults,
            fault_counts,
            change_set_faults,
            stacks,
            secrets,
            ..
        } = self;
        let mut env = Env {
            account,
            region,
            zones,
            service_roles,
            faults,
            fault_counts,
            secrets,
        };
        for s in stacks.iter_mut() {
            exec::run(s, &mut env, now);
            for cs in s.change_sets.iter_mut() {
                if cs.status == ChangeSetStatus::CreatePending
                    && cs.pending_until.is_none_or(|t| t <= now)
                {
                    cs.status = ChangeSetStatus::CreateInProgress;
                }
                if cs.status == ChangeSetStatus::CreateInProgress && cs.ready_at <= now {
                    let fault = take_change_set_fault(change_set_faults, env.fault_counts, &s.name);
                    let reason = match (fault, cs.changes.is_empty()) {
                        (Some(reason), _) => Some(reason),
                        (None, true) if cs.transform => {
                            Some("No updates are to be performed.".to_string())
                        }
                        (None, true) => Some(
                            "The submitted information didn't contain changes. Submit different \
                             information to create a change set."
                                .to_string(),
                        ),
                        (None, false) => None,
                    };
                    match reason {
                        Some(reason) => {
                            cs.status = ChangeSetStatus::Failed;
                            cs.execution_status = ExecutionStatus::Unavailable;
                            cs.status_reason = Some(reason);
                            cs.changes.clear();
                        }
                        None => {
                            cs.status = ChangeSetStatus::CreateComplete;
                            cs.execution_status = ExecutionStatus::Available;
                        }
                    }
                }
            }
        }
    }

    /// When the simulation next changes something, if anything is in flight.
    pub fn next_change_at(&self) -> Option<SystemTime> {
        self.stacks
            .iter()
            .flat_map(|s| {
                exec::next_change(s).into_iter().chain(
                    s.change_sets
                        .iter()
                        .filter(|c| {
                            matches!(
                                c.status,
                                ChangeSetStatus::CreatePending | ChangeSetStatus::CreateInProgress
                            )
                        })
                        .map(|c| match (c.status, c.pending_until) {
                            (ChangeSetStatus::CreatePending, Some(t)) => t,
                            _ => c.ready_at,
                        }),
                )
            })
            .min()
    }

    fn env(&mut self) -> (Env<'_>, &mut Vec<StackState>) {
        let CfnEngine {
            account,
            region,
            zones,
            service_roles,
            faults,
            fault_counts,
            stacks,
            secrets,
            ..
        } = self;
        (
            Env {
                account,
                region,
                zones,
                service_roles,
                faults,
                fault_counts,
                secrets,
            },
            stacks,
        )
    }

    /// A live stack by name, or any stack (even deleted) by id.
    fn find(&self, name_or_id: &str) -> Option<usize> {
        if name_or_id.starts_with("arn:") {
            self.stacks.iter().position(|s| s.id == name_or_id)
        } else {
            self.stacks
                .iter()
                .position(|s| s.name == name_or_id && !s.deleted())
        }
    }

    /// A stack CloudFormation's write calls accept: one that exists and
    /// has been created (a stack still in REVIEW_IN_PROGRESS has no template
    /// or resources, and CloudFormation says it does not exist).
    fn find_or_err(&self, name_or_id: &str) -> CloudResult<usize> {
        self.find(name_or_id)
            .filter(|&i| {
                !matches!(
                    self.stacks[i].status,
                    StackStatus::ReviewInProgress | StackStatus::DeleteComplete
                )
            })
            .ok_or_else(|| no_stack(name_or_id))
    }

    /// What DescribeStacks shows of stack `i` now, lag included.
    fn visible(&self, i: usize, now: SystemTime) -> Option<Stack> {
        let s = &self.stacks[i];
        match &s.stale {
            Some((until, view)) if now < *until => Some(view.clone()),
            _ if s.deleted() => None,
            _ => Some(s.to_stack()),
        }
    }

    /// After a call changed stack `i`, DescribeStacks goes on showing
    /// `before` for the scripted lag.
    fn lag_behind(&mut self, i: usize, now: SystemTime, before: Option<Stack>) {
        if self.lag_secs == 0 {
            return;
        }
        self.stacks[i].stale = before.map(|b| (now + Duration::from_secs(self.lag_secs), b));
    }

    fn next_uuid(&mut self, kind: &str, name: &str) -> String {
        self.seq += 1;
        let seq = self.seq.to_string();
        ids::uuid_like(&[&self.account, &self.region, kind, name, &seq])
    }

    /// `None` for a stack that does not exist, by name, and for a deleted
    /// one, also by id (as the port promises). With `[lag]`, a stack that
    /// a call just changed still shows how it was.
    pub fn describe_stack(&mut self, now: SystemTime, name: &str) -> CloudResult<Option<Stack>> {
        self.advance(now);
        let lagging = self.stacks.iter().rposition(|s| {
            (s.name == name || s.id == name) && s.stale.as_ref().is_some_and(|(t, _)| now < *t)
        });
        Ok(lagging
            .or_else(|| self.find(name))
            .and_then(|i| self.visible(i, now)))
    }

    pub fn list_stacks(&mut self, now: SystemTime) -> CloudResult<Vec<Stack>> {
        self.advance(now);
        Ok((0..self.stacks.len())
            .filter_map(|i| self.visible(i, now))
            .collect())
    }

    /// The resources of a stack as they stand (for the sandbox's other
    /// services, e.g. EC2 instances a stack created).
    pub fn live_resources(
        &mut self,
        now: SystemTime,
        stack: &str,
    ) -> CloudResult<Vec<LiveResource>> {
        self.advance(now);
        let i = self.find(stack).ok_or_else(|| no_stack(stack))?;
        Ok(self.stacks[i]
            .resources
            .iter()
            .map(|(k, r)| LiveResource {
                logical_id: k.clone(),
                resource_type: r.rtype.clone(),
                physical_id: r.physical.clone(),
                status: r.status.clone(),
                properties: r.props.clone(),
            })
            .collect())
    }

    /// Resolves a request's parameters against a template (and the stack's
    /// previous values for UsePrevious).
    fn resolve_params(
        &mut self,
        action: &str,
        tmpl: &template::Template,
        given: &[ParameterInput],
        previous: Option<&[StoredParam]>,
    ) -> CloudResult<Vec<StoredParam>> {
        let unknown: Vec<&str> = given
            .iter()
            .filter(|g| tmpl.param(&g.key).is_none())
            .map(|g| g.key.as_str())
            .collect();
        if !unknown.is_empty() {
            return Err(invalid(
                action,
                format!(
                    "Parameters: [{}] do not exist in the template. Remove them from the request \
                     or add them to the template's Parameters.",
                    unknown.join(", ")
                ),
            ));
        }
        let mut out = Vec::new();
        let mut missing = Vec::new();
        for (name, def) in &tmpl.parameters {
            let g = given.iter().find(|g| &g.key == name);
            let stored = match g.map(|g| &g.value) {
                Some(ParameterValue::UsePrevious) => {
                    let prev = previous
                        .and_then(|p| p.iter().find(|p| &p.key == name))
                        .ok_or_else(|| {
                            invalid(
                                action,
                                format!(
                                    "Invalid input for parameter key {name}. Cannot specify \
                                     usePreviousValue as true for a parameter key not in the \
                                     previous template. Give the parameter a value."
                                ),
                            )
                        })?;
                    if def.no_echo != prev.no_echo {
                        // NoEcho changed: re-store under the new masking.
                        let value = match (&prev.value, &prev.digest) {
                            (Some(v), _) => Some(v.clone()),
                            (None, Some(d)) => self.secrets.get(d).map(|s| s.expose().to_string()),
                            _ => None,
                        };
                        match value {
                            Some(v) => self.store_param(name, &v, def.no_echo),
                            None => {
                                return Err(invalid(
                                    action,
                                    format!(
                                        "The previous value of parameter {name} is not \
                                         available in this sandbox session; give it again."
                                    ),
                                ));
                            }
                        }
                    } else {
                        prev.clone()
                    }
                }
                Some(given @ (ParameterValue::Value(_) | ParameterValue::Secret(_))) => {
                    let v = given.expose().unwrap_or_default();
                    self.check_value(action, name, def, v)?;
                    self.store_param(name, v, def.no_echo)
                }
                None => match &def.default {
                    Some(d) => {
                        self.check_value(action, name, def, d)?;
                        self.store_param(name, d, def.no_echo)
                    }
                    None => {
                        missing.push(name.clone());
                        continue;
                    }
                },
            };
            out.push(stored);
        }
        if !missing.is_empty() {
            return Err(invalid(
                action,
                format!(
                    "Parameters: [{}] must have values. Give them a value in the request or a \
                     Default in the template.",
                    missing.join(", ")
                ),
            ));
        }
        Ok(out)
    }

    fn check_value(
        &self,
        action: &str,
        name: &str,
        def: &template::ParamDef,
        v: &str,
    ) -> CloudResult<()> {
        if !def.allowed_values.is_empty() && !def.allowed_values.iter().any(|a| a == v) {
            return Err(invalid(
                action,
                format!(
                    "Parameter '{name}' must be one of AllowedValues: {}.",
                    def.allowed_values.join(", ")
                ),
            ));
        }
        if def.ptype == "Number" && v.parse::<f64>().is_err() {
            return Err(invalid(
                action,
                format!("Parameter '{name}' must be a number."),
            ));
        }
        Ok(())
    }

    fn store_param(&mut self, key: &str, value: &str, no_echo: bool) -> StoredParam {
        if no_echo {
            let d = self.digest(value);
            self.secrets.insert(d.clone(), Secret::new(value));
            StoredParam {
                key: key.into(),
                value: None,
                no_echo: true,
                digest: Some(d),
            }
        } else {
            StoredParam {
                key: key.into(),
                value: Some(value.into()),
                no_echo: false,
                digest: None,
            }
        }
    }

    fn parse_template(
        action: &str,
        body: &str,
        capabilities: &[String],
    ) -> CloudResult<template::Template> {
        let t = template::parse(body).map_err(|m| invalid(action, m))?;
        let named = t.resources.values().any(|r| {
            r.rtype.starts_with("AWS::IAM::")
                && r.properties.as_object().is_some_and(|p| {
                    [
                        "RoleName",
                        "GroupName",
                        "UserName",
                        "ManagedPolicyName",
                        "InstanceProfileName",
                    ]
                    .iter()
                    .any(|k| p.contains_key(*k))
                })
        });
        let iam = t
            .resources
            .values()
            .any(|r| r.rtype.starts_with("AWS::IAM::"));
        let has = |c: &str| capabilities.iter().any(|x| x == c);
        if named && !has("CAPABILITY_NAMED_IAM") {
            return Err(invalid(
                action,
                "Requires capabilities : [CAPABILITY_NAMED_IAM]. Acknowledge them in the request.",
            ));
        }
        if iam && !has("CAPABILITY_IAM") && !has("CAPABILITY_NAMED_IAM") {
            return Err(invalid(
                action,
                "Requires capabilities : [CAPABILITY_IAM]. Acknowledge them in the request.",
            ));
        }
        Ok(t)
    }

    /// Refuses to change a stack whose status does not allow it.
    fn check_updatable(action: &str, s: &StackState) -> CloudResult<()> {
        let what_to_do = match s.status {
            StackStatus::ReviewInProgress => return Ok(()),
            StackStatus::DeleteComplete => {
                return Err(invalid(
                    action,
                    format!(
                        "Stack [{}] does not exist (it was deleted). Create it again.",
                        s.name
                    ),
                ));
            }
            st if st.in_progress() => return Err(busy(action, s)),
            StackStatus::UpdateRollbackFailed => {
                "Continue the rollback first (ContinueUpdateRollback, skipping resources that \
                 cannot roll back), then update."
            }
            StackStatus::RollbackComplete
            | StackStatus::RollbackFailed
            | StackStatus::DeleteFailed => "Delete the stack, then create it again.",
            _ => return Ok(()),
        };
        Err(invalid(
            action,
            format!(
                "Stack:{} is in {} state and can not be updated. {what_to_do}",
                s.id, s.status
            ),
        ))
    }

    fn desired_for(
        &self,
        action: &str,
        tmpl: &template::Template,
        params: &[StoredParam],
        name: &str,
        id: &str,
    ) -> CloudResult<BTreeMap<String, Res>> {
        exec::desired(
            tmpl,
            params,
            &self.secrets,
            name,
            id,
            &exec::Site {
                region: &self.region,
                account: &self.account,
                zones: &self.zones,
            },
        )
        .map_err(|m| invalid(action, m))
    }

    pub fn create_change_set(
        &mut self,
        now: SystemTime,
        req: &ChangeSetRequest,
    ) -> CloudResult<ChangeSetRef> {
        const A: &str = "CreateChangeSet";
        self.advance(now);
        if !stack_name_ok(&req.change_set_name) {
            return Err(invalid(
                A,
                format!(
                    "1 validation error detected: Value '{}' at 'changeSetName' failed to satisfy \
                     constraint: Member must satisfy regular expression pattern: \
                     [a-zA-Z][-a-zA-Z0-9]* (at most 128 characters). Choose another name.",
                    req.change_set_name
                ),
            ));
        }
        if let Some(t) = &req.client_token
            && (t.is_empty() || t.len() > 128)
        {
            return Err(invalid(
                A,
                format!(
                    "1 validation error detected: Value '{t}' at 'clientToken' failed to satisfy \
                     constraint: Member must have length between 1 and 128."
                ),
            ));
        }
        if !stack_name_ok(&req.stack_name) {
            return Err(invalid(
                A,
                format!(
                    "1 validation error detected: Value '{}' at 'stackName' failed to satisfy \
                     constraint: Member must satisfy regular expression pattern: \
                     [a-zA-Z][-a-zA-Z0-9]* (at most 128 characters). Choose another name.",
                    req.stack_name
                ),
            ));
        }
        let existing = self.find(&req.stack_name);
        if let Some(i) = existing {
            let s = &self.stacks[i];
            if let Some(cs) = s.change_sets.iter().find(|c| c.name == req.change_set_name) {
                // The same request again is the same change set; any
                // difference is refused, naming the first one.
                let mismatch = if cs.client_token != req.client_token {
                    Some("ClientToken")
                } else if cs.template != req.template_body {
                    Some("Template")
                } else {
                    None
                };
                return match mismatch {
                    None if req.client_token.is_some() => Ok(ChangeSetRef {
                        id: cs.id.clone(),
                        stack_id: s.id.clone(),
                    }),
                    _ => Err(invalid(
                        A,
                        format!(
                            "ChangeSet {} cannot be created due to a mismatch with existing \
                             attribute {}. Delete it or choose another change set name.",
                            req.change_set_name,
                            mismatch.unwrap_or("ClientToken")
                        ),
                    )),
                };
            }
        }
        match (req.kind, existing) {
            // A stack in REVIEW_IN_PROGRESS does not exist for an update.
            (ChangeSetKind::Update, None) => return Err(no_stack(&req.stack_name)),
            (ChangeSetKind::Update, Some(i))
                if self.stacks[i].status == StackStatus::ReviewInProgress =>
            {
                return Err(no_stack(&req.stack_name));
            }
            (ChangeSetKind::Create, Some(i))
                if self.stacks[i].status != StackStatus::ReviewInProgress =>
            {
                return Err(invalid(
                    A,
                    format!(
                        "Stack [{}] already exists and cannot be created again with the \
                         changeSet [{}]. Use a change set of type UPDATE.",
                        req.stack_name, req.change_set_name
                    ),
                ));
            }
            (_, Some(i)) => {
                Self::check_updatable(A, &self.stacks[i])?;
                Self::check_do_nothing(A, &self.stacks[i])?;
            }
            _ => {}
        }
        let tmpl = Self::parse_template(A, &req.template_body, &req.capabilities)?;
        let previous = existing.map(|i| self.stacks[i].params.clone());
        let params = self.resolve_params(A, &tmpl, &req.parameters, previous.as_deref())?;
        let (name, id) = match existing {
            Some(i) => (self.stacks[i].name.clone(), self.stacks[i].id.clone()),
            None => {
                let u = self.next_uuid("stack", &req.stack_name);
                (
                    req.stack_name.clone(),
                    format!(
                        "arn:aws:cloudformation:{}:{}:stack/{}/{u}",
                        self.region, self.account, req.stack_name
                    ),
                )
            }
        };
        let want = self.desired_for(A, &tmpl, &params, &name, &id)?;
        let current = existing
            .map(|i| self.stacks[i].resources.clone())
            .unwrap_or_default();
        let changes = exec::preview(&current, &want);
        let u = self.next_uuid("changeSet", &req.change_set_name);
        let cs_id = format!(
            "arn:aws:cloudformation:{}:{}:changeSet/{}/{u}",
            self.region, self.account, req.change_set_name
        );
        let cs = ChangeSetState {
            id: cs_id.clone(),
            name: req.change_set_name.clone(),
            kind: req.kind,
            template: req.template_body.clone(),
            params,
            tags: req.tags.clone(),
            on_stack_failure: req.on_stack_failure,
            status: ChangeSetStatus::CreatePending,
            status_reason: None,
            execution_status: ExecutionStatus::Unavailable,
            changes,
            pending_until: Some(now + Duration::from_secs(CHANGE_SET_PENDING_SECONDS)),
            ready_at: now + Duration::from_secs(CHANGE_SET_PENDING_SECONDS + CHANGE_SET_SECONDS),
            client_token: req.client_token.clone(),
            transform: tmpl.transform,
        };
        let i = match existing {
            Some(i) => i,
            None => {
                let mut s = StackState {
                    name,
                    id: id.clone(),
                    status: StackStatus::ReviewInProgress,
                    status_reason: None,
                    created: now,
                    last_updated: None,
                    tags: req.tags.clone(),
                    disable_rollback: false,
                    termination_protection: false,
                    template: None,
                    params: vec![],
                    resources: BTreeMap::new(),
                    outputs: vec![],
                    change_sets: vec![],
                    events: vec![],
                    op: None,
                    stable: None,
                    pending_rollback: None,
                    event_seq: 0,
                    stale: None,
                    on_failure_do_nothing: false,
                };
                s.set_status(
                    now,
                    StackStatus::ReviewInProgress,
                    Some("User Initiated".into()),
                    None,
                );
                self.stacks.push(s);
                self.stacks.len() - 1
            }
        };
        self.stacks[i].change_sets.push(cs);
        Ok(ChangeSetRef {
            id: cs_id,
            stack_id: id,
        })
    }

    fn find_change_set(&self, stack: &str, change_set: &str) -> CloudResult<(usize, usize)> {
        let i = if change_set.starts_with("arn:") {
            self.stacks
                .iter()
                .position(|s| s.change_sets.iter().any(|c| c.id == change_set))
        } else {
            self.find(stack)
        };
        let not_found = || no_change_set(change_set);
        let i = i.ok_or_else(not_found)?;
        let j = self.stacks[i]
            .change_sets
            .iter()
            .position(|c| c.id == change_set || c.name == change_set)
            .ok_or_else(not_found)?;
        Ok((i, j))
    }

    pub fn describe_change_set(
        &mut self,
        now: SystemTime,
        stack: &str,
        change_set: &str,
    ) -> CloudResult<ChangeSet> {
        self.advance(now);
        let (i, j) = self.find_change_set(stack, change_set)?;
        let s = &self.stacks[i];
        let c = &s.change_sets[j];
        Ok(ChangeSet {
            id: c.id.clone(),
            name: c.name.clone(),
            stack_id: s.id.clone(),
            stack_name: s.name.clone(),
            status: c.status,
            status_reason: c.status_reason.clone(),
            execution_status: c.execution_status,
            changes: if c.status == ChangeSetStatus::CreateComplete {
                c.changes.clone()
            } else {
                vec![]
            },
        })
    }

    pub fn delete_change_set(
        &mut self,
        now: SystemTime,
        stack: &str,
        change_set: &str,
    ) -> CloudResult<()> {
        self.advance(now);
        let (i, j) = self.find_change_set(stack, change_set)?;
        if self.stacks[i].change_sets[j].execution_status == ExecutionStatus::ExecuteInProgress {
            return Err(invalid(
                "DeleteChangeSet",
                format!(
                    "ChangeSet [{change_set}] cannot be deleted while it is being executed. Wait \
                     for the stack operation to end."
                ),
            ));
        }
        self.stacks[i].change_sets.remove(j);
        Ok(())
    }

    /// Whether `token` already started `action` on stack `i` (a retry of
    /// the same call, which changes nothing). A token used for another
    /// call, or for an earlier stack of the same name, is refused.
    fn token_used(&self, i: usize, token: &str, action: &str) -> CloudResult<bool> {
        check_token(action, token)?;
        let s = &self.stacks[i];
        let mut uses = self
            .tokens
            .iter()
            .filter(|u| u.stack_name == s.name && u.token == token);
        match uses.next() {
            None => Ok(false),
            Some(u) if u.stack_id == s.id && u.action == action => Ok(true),
            Some(_) => Err(CloudError::InvalidInput {
                action: action.into(),
                message: format!(
                    "TokenAlreadyExistsException: The client request token {token} has already \
                     been used for this stack. Retry the request with a different client \
                     request token."
                ),
            }),
        }
    }

    fn start_op(
        &mut self,
        now: SystemTime,
        i: usize,
        kind: OpKind,
        token: &str,
        action: &str,
    ) -> Operation {
        self.tokens.push(TokenUse {
            stack_name: self.stacks[i].name.clone(),
            stack_id: self.stacks[i].id.clone(),
            token: token.to_string(),
            action: action.to_string(),
        });
        Operation {
            kind,
            stage: Stage::Apply,
            token: token.to_string(),
            clock: now,
            tasks: BTreeMap::new(),
            disable_rollback: false,
            delete_on_failure: false,
            failed: vec![],
            failed_creates: vec![],
            failed_updates: vec![],
            orphans: vec![],
            rollback_to: None,
            change_set: None,
        }
    }

    /// Starts applying `template`/`params` to stack `i` (create or update).
    #[allow(clippy::too_many_arguments)]
    fn begin_apply(
        &mut self,
        now: SystemTime,
        i: usize,
        action: &str,
        template: String,
        params: Vec<StoredParam>,
        tags: &[Tag],
        disable_rollback: bool,
        delete_on_failure: bool,
        token: &str,
        change_set: Option<String>,
    ) -> CloudResult<()> {
        let tmpl = Self::parse_template(action, &template, &["CAPABILITY_NAMED_IAM".into()])?;
        let (name, id) = (self.stacks[i].name.clone(), self.stacks[i].id.clone());
        let want = self.desired_for(action, &tmpl, &params, &name, &id)?;
        let creating = self.stacks[i].status == StackStatus::ReviewInProgress;
        let tasks = {
            let (env, stacks) = self.env();
            exec::apply_tasks(&stacks[i], &want, &env)
        };
        // (A replacement with rollback disabled is accepted here and fails
        // its resource once the update reaches it.)
        if !creating
            && tasks.values().all(|t| t.action == model::Action::Noop)
            && self.stacks[i].resources.len() == want.len()
        {
            return Err(invalid(
                action,
                "No updates are to be performed. Change the template or its parameters first.",
            ));
        }
        let kind = if creating {
            OpKind::Create
        } else {
            OpKind::Update
        };
        let mut op = self.start_op(now, i, kind, token, action);
        op.tasks = tasks;
        op.disable_rollback = disable_rollback;
        op.delete_on_failure = delete_on_failure;
        op.change_set = change_set.clone();
        let s = &mut self.stacks[i];
        if !creating {
            op.rollback_to = Some(s.stable.clone().unwrap_or_else(|| s.snapshot()));
            s.last_updated = Some(now);
        }
        s.template = Some(template);
        s.params = params;
        if !tags.is_empty() {
            s.tags = tags.to_vec();
        }
        s.disable_rollback = disable_rollback;
        match &change_set {
            // Executing one change set deletes the stack's others.
            Some(cs) => {
                s.change_sets.retain(|c| &c.id == cs);
                for c in s.change_sets.iter_mut() {
                    c.execution_status = ExecutionStatus::ExecuteInProgress;
                }
            }
            // A direct update leaves them describable but obsolete.
            None => {
                for c in s.change_sets.iter_mut() {
                    c.execution_status = ExecutionStatus::Obsolete;
                }
            }
        }
        s.set_status(
            now,
            if creating {
                StackStatus::CreateInProgress
            } else {
                StackStatus::UpdateInProgress
            },
            Some("User Initiated".into()),
            Some(token.to_string()),
        );
        s.op = Some(op);
        self.advance_stack(now, i);
        Ok(())
    }

    fn advance_stack(&mut self, now: SystemTime, i: usize) {
        let (mut env, stacks) = self.env();
        exec::run(&mut stacks[i], &mut env, now);
    }

    pub fn execute_change_set(&mut self, now: SystemTime, req: &ExecuteRequest) -> CloudResult<()> {
        const A: &str = "ExecuteChangeSet";
        self.advance(now);
        let (i, j) = self.find_change_set(&req.stack_name, &req.change_set_name)?;
        if self.token_used(i, &req.client_request_token, A)? {
            return Ok(());
        }
        let s = &self.stacks[i];
        if s.status.in_progress() && s.status != StackStatus::ReviewInProgress {
            return Err(busy(A, s));
        }
        let cs = s.change_sets[j].clone();
        if cs.status != ChangeSetStatus::CreateComplete {
            let st = match cs.status {
                ChangeSetStatus::CreatePending => "CREATE_PENDING",
                ChangeSetStatus::CreateInProgress => "CREATE_IN_PROGRESS",
                _ => "FAILED",
            };
            return Err(invalid(
                A,
                format!(
                    "InvalidChangeSetStatus: ChangeSet [{}] cannot be executed in its current \
                     status of [{st}]. Wait until it is CREATE_COMPLETE, or create a new one.",
                    cs.id
                ),
            ));
        }
        if cs.execution_status != ExecutionStatus::Available {
            let st = match cs.execution_status {
                ExecutionStatus::Unavailable => "UNAVAILABLE",
                ExecutionStatus::Available => "AVAILABLE",
                ExecutionStatus::ExecuteInProgress => "EXECUTE_IN_PROGRESS",
                ExecutionStatus::ExecuteComplete => "EXECUTE_COMPLETE",
                ExecutionStatus::ExecuteFailed => "EXECUTE_FAILED",
                ExecutionStatus::Obsolete => "OBSOLETE",
            };
            return Err(invalid(
                A,
                format!(
                    "InvalidChangeSetStatus: ChangeSet [{}] cannot be executed in its current \
                     execution status of [{st}]. Create a new change set.",
                    cs.id
                ),
            ));
        }
        if cs.on_stack_failure.is_some() && req.disable_rollback.is_some() {
            return Err(invalid(
                A,
                "Either DisableRollback or OnStackFailure can be specified, but not both. \
                 Validation error as OnStackFailure parameter was specified during \
                 CreateChangeSet.",
            ));
        }
        Self::check_updatable(A, s)?;
        let creating = s.status == StackStatus::ReviewInProgress;
        let asked = req.disable_rollback.unwrap_or(false);
        let (disable, delete) = if creating {
            (
                asked || cs.on_stack_failure == Some(OnStackFailure::DoNothing),
                cs.on_stack_failure == Some(OnStackFailure::Delete),
            )
        } else {
            (asked, false)
        };
        let before = self.visible(i, now);
        self.begin_apply(
            now,
            i,
            A,
            cs.template,
            cs.params,
            &cs.tags,
            disable,
            delete && !disable,
            &req.client_request_token,
            Some(cs.id),
        )?;
        if creating {
            self.stacks[i].on_failure_do_nothing =
                cs.on_stack_failure == Some(OnStackFailure::DoNothing);
        }
        self.lag_behind(i, now, before);
        Ok(())
    }

    /// A CREATE_FAILED stack created with OnStackFailure=DO_NOTHING cannot
    /// be updated (CloudFormation asks for DisableRollback at creation
    /// instead), so a failed create can only be retried by deleting it.
    fn check_do_nothing(action: &str, s: &StackState) -> CloudResult<()> {
        if s.status == StackStatus::CreateFailed && s.on_failure_do_nothing {
            return Err(invalid(
                action,
                "This stack cannot be updated from [CREATE_FAILED] state because it contains \
                 [on-failure: DO_NOTHING]. Please use disable-rollback option instead during \
                 stack creation.",
            ));
        }
        Ok(())
    }

    pub fn update_stack(&mut self, now: SystemTime, req: &UpdateRequest) -> CloudResult<()> {
        const A: &str = "UpdateStack";
        self.advance(now);
        let i = self.find_or_err(&req.stack_name)?;
        if self.token_used(i, &req.client_request_token, A)? {
            return Ok(());
        }
        let s = &self.stacks[i];
        Self::check_updatable(A, s)?;
        Self::check_do_nothing(A, s)?;
        if s.status == StackStatus::CreateFailed && !s.disable_rollback {
            return Err(invalid(
                A,
                format!(
                    "Stack:{} is in CREATE_FAILED state and can not be updated. Delete it and \
                     create it again.",
                    s.id
                ),
            ));
        }
        let tmpl = Self::parse_template(A, &req.template_body, &req.capabilities)?;
        let previous = self.stacks[i].params.clone();
        let params = self.resolve_params(A, &tmpl, &req.parameters, Some(&previous))?;
        let before = self.visible(i, now);
        self.begin_apply(
            now,
            i,
            A,
            req.template_body.clone(),
            params,
            &req.tags,
            req.disable_rollback,
            false,
            &req.client_request_token,
            None,
        )?;
        self.lag_behind(i, now, before);
        Ok(())
    }

    /// One page of DescribeStackEvents: at most [`EVENTS_PAGE`] events,
    /// newest first, from the start (`next` `None`) or from where the page
    /// before ended. A deleted stack's events are found by its id only.
    pub fn stack_events_page(
        &mut self,
        now: SystemTime,
        stack: &str,
        next: Option<&str>,
    ) -> CloudResult<EventPage> {
        self.advance(now);
        let i = self.find(stack).ok_or_else(|| no_stack(stack))?;
        let events = &self.stacks[i].events;
        let end = match next {
            None => events.len(),
            Some(token) => events
                .iter()
                .position(|e| e.event_id == token)
                .ok_or_else(|| {
                    invalid(
                        "DescribeStackEvents",
                        format!("Invalid NextToken {token}. Start again from the first page."),
                    )
                })?,
        };
        let start = end.saturating_sub(EVENTS_PAGE);
        let page: Vec<StackEvent> = events[start..end].iter().rev().cloned().collect();
        Ok(EventPage {
            next: (start > 0).then(|| events[start].event_id.clone()),
            events: page,
        })
    }

    pub fn continue_update_rollback(
        &mut self,
        now: SystemTime,
        stack: &str,
        skip: &[String],
        token: &str,
    ) -> CloudResult<()> {
        const A: &str = "ContinueUpdateRollback";
        self.advance(now);
        let i = self.find_or_err(stack)?;
        if self.token_used(i, token, A)? {
            return Ok(());
        }
        let s = &self.stacks[i];
        if s.status != StackStatus::UpdateRollbackFailed {
            return Err(invalid(
                A,
                format!(
                    "ContinueUpdateRollback cannot be called from current stack status: Stack:{} \
                     is in {} state; only UPDATE_ROLLBACK_FAILED stacks can continue a rollback.",
                    s.id, s.status
                ),
            ));
        }
        let Some(mut to) = s.pending_rollback.clone() else {
            return Err(invalid(A, "The stack has nothing left to roll back."));
        };
        let failed: BTreeSet<&String> = s
            .resources
            .iter()
            .filter(|(_, r)| r.failed())
            .map(|(k, _)| k)
            .collect();
        let bad: Vec<&String> = skip.iter().filter(|k| !failed.contains(k)).collect();
        if !bad.is_empty() {
            return Err(invalid(
                A,
                format!(
                    "Resources [{}] cannot be skipped: only resources in UPDATE_FAILED state can. \
                     Skip only the resources the rollback failed on.",
                    bad.iter()
                        .map(|s| s.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            ));
        }
        let before = self.visible(i, now);
        let mut op = self.start_op(now, i, OpKind::RollbackUpdate, token, A);
        let s = &mut self.stacks[i];
        s.set_status(
            now,
            StackStatus::UpdateRollbackInProgress,
            Some("User Initiated".into()),
            Some(token.to_string()),
        );
        for k in skip {
            // Skipped resources are taken as they are and marked consistent.
            if let Some(r) = s.resources.get_mut(k) {
                r.status = "UPDATE_COMPLETE".into();
                let r = r.clone();
                to.resources.insert(k.clone(), r.clone());
                s.push_event(
                    now,
                    k,
                    r.physical.clone(),
                    &r.rtype,
                    "UPDATE_COMPLETE",
                    Some("Resource skipped during UPDATE_ROLLBACK".into()),
                    Some(token.to_string()),
                );
            }
        }
        op.rollback_to = Some(to);
        s.op = Some(op);
        exec::start_revert(s);
        self.advance_stack(now, i);
        self.lag_behind(i, now, before);
        Ok(())
    }

    /// Stops an update in progress and rolls it back.
    pub fn cancel_update_stack(
        &mut self,
        now: SystemTime,
        stack: &str,
        token: &str,
    ) -> CloudResult<()> {
        const A: &str = "CancelUpdateStack";
        self.advance(now);
        let i = self.find_or_err(stack)?;
        if self.token_used(i, token, A)? {
            return Ok(());
        }
        let s = &self.stacks[i];
        let updating = s.status == StackStatus::UpdateInProgress
            && s.op.as_ref().is_some_and(|o| o.stage == Stage::Apply);
        if !updating {
            return Err(invalid(
                A,
                format!(
                    "CancelUpdateStack cannot be called from current stack status: Stack:{} is \
                     in {} state; only an update in progress (UPDATE_IN_PROGRESS) can be \
                     cancelled.",
                    s.id, s.status
                ),
            ));
        }
        let before = self.visible(i, now);
        self.tokens.push(TokenUse {
            stack_name: self.stacks[i].name.clone(),
            stack_id: self.stacks[i].id.clone(),
            token: token.to_string(),
            action: A.to_string(),
        });
        let s = &mut self.stacks[i];
        let t = Some(token.to_string());
        let running: Vec<String> =
            s.op.as_ref()
                .expect("updating")
                .tasks
                .iter()
                .filter(|(_, t)| t.state == TaskState::Running)
                .map(|(k, _)| k.clone())
                .collect();
        for key in running {
            exec::cancel_task(s, &key, now, t.clone());
        }
        let op = s.op.as_mut().expect("updating");
        op.kind = OpKind::RollbackUpdate;
        op.token = token.to_string();
        op.clock = now;
        s.set_status(
            now,
            StackStatus::UpdateRollbackInProgress,
            Some("User Initiated".into()),
            t,
        );
        exec::start_revert(s);
        self.advance_stack(now, i);
        self.lag_behind(i, now, before);
        Ok(())
    }

    pub fn rollback_stack(&mut self, now: SystemTime, stack: &str, token: &str) -> CloudResult<()> {
        const A: &str = "RollbackStack";
        self.advance(now);
        let i = self.find_or_err(stack)?;
        if self.token_used(i, token, A)? {
            return Ok(());
        }
        let s = &self.stacks[i];
        if !matches!(
            s.status,
            StackStatus::CreateFailed | StackStatus::UpdateFailed
        ) {
            return Err(invalid(
                A,
                format!(
                    "Stack:{} is in {} state; only CREATE_FAILED and UPDATE_FAILED stacks can be \
                     rolled back.",
                    s.id, s.status
                ),
            ));
        }
        let stable = s.stable.clone();
        let before = self.visible(i, now);
        let mut op = self.start_op(now, i, OpKind::RollbackCreate, token, A);
        let s = &mut self.stacks[i];
        let t = Some(token.to_string());
        match stable {
            None => {
                s.set_status(
                    now,
                    StackStatus::RollbackInProgress,
                    Some("User Initiated".into()),
                    t,
                );
                op.stage = Stage::RollbackDelete;
                let all = s.resources.keys().cloned().collect();
                op.tasks = exec::delete_tasks(&s.resources, &all);
                s.op = Some(op);
            }
            Some(to) => {
                s.set_status(
                    now,
                    StackStatus::UpdateRollbackInProgress,
                    Some("User Initiated".into()),
                    t,
                );
                op.kind = OpKind::RollbackUpdate;
                op.rollback_to = Some(to);
                s.op = Some(op);
                exec::start_revert(s);
            }
        }
        self.advance_stack(now, i);
        self.lag_behind(i, now, before);
        Ok(())
    }

    /// Like AWS, deleting a stack that does not exist succeeds and does
    /// nothing. `retain` (logical ids) is for a DELETE_FAILED stack only:
    /// those resources are left in the account and the stack goes.
    pub fn delete_stack(&mut self, now: SystemTime, req: &DeleteRequest) -> CloudResult<()> {
        const A: &str = "DeleteStack";
        self.advance(now);
        let stack = req.stack_name.as_str();
        let token = req.client_request_token.as_str();
        check_token(A, token)?;
        let Some(i) = self.find(stack) else {
            return Ok(());
        };
        let s = &self.stacks[i];
        if s.deleted() || s.status == StackStatus::DeleteInProgress {
            return Ok(());
        }
        if self.token_used(i, token, A)? {
            return Ok(());
        }
        let s = &self.stacks[i];
        if s.status.in_progress() && s.status != StackStatus::ReviewInProgress {
            return Err(invalid(
                A,
                format!(
                    "Stack cannot be deleted while in status {}. Wait until the operation in \
                     progress ends, then delete it.",
                    s.status
                ),
            ));
        }
        if s.termination_protection {
            return Err(invalid(
                A,
                format!(
                    "Stack [{stack}] cannot be deleted while TerminationProtection is enabled. \
                     Disable termination protection first if you really mean to delete it."
                ),
            ));
        }
        if !req.retain_resources.is_empty() {
            if s.status != StackStatus::DeleteFailed {
                return Err(invalid(
                    A,
                    format!(
                        "Invalid operation on stack {}. When you delete a stack, specify which \
                         resources to retain only when the stack is in the DELETE_FAILED state.",
                        s.id
                    ),
                ));
            }
            let bad: Vec<&str> = req
                .retain_resources
                .iter()
                .filter(|k| !s.resources.get(*k).is_some_and(|r| r.failed()))
                .map(String::as_str)
                .collect();
            if !bad.is_empty() {
                return Err(invalid(
                    A,
                    format!(
                        "The specified resources to retain must be in a valid state. Do not \
                         specify resources that are in the DELETE_COMPLETE state ([{}] are not \
                         resources that failed to delete).",
                        bad.join(", ")
                    ),
                ));
            }
        }
        let before = self.visible(i, now);
        let mut op = self.start_op(now, i, OpKind::Delete, token, A);
        let s = &mut self.stacks[i];
        s.set_status(
            now,
            StackStatus::DeleteInProgress,
            Some("User Initiated".into()),
            Some(token.to_string()),
        );
        op.stage = Stage::DeleteAll;
        let all = s.resources.keys().cloned().collect();
        op.tasks = exec::delete_tasks(&s.resources, &all);
        for k in &req.retain_resources {
            if let Some(t) = op.tasks.get_mut(k) {
                t.target.retain = true;
            }
        }
        s.op = Some(op);
        self.advance_stack(now, i);
        self.lag_behind(i, now, before);
        Ok(())
    }

    pub fn set_termination_protection(
        &mut self,
        now: SystemTime,
        stack: &str,
        enabled: bool,
    ) -> CloudResult<()> {
        self.advance(now);
        let i = self.find_or_err(stack)?;
        self.stacks[i].termination_protection = enabled;
        Ok(())
    }

    /// Records a stack this engine never ran, as DescribeStacks reports it
    /// once CREATE_COMPLETE (the installer's bootstrap stack, deployed from
    /// the console before the installer existed): its tags, its outputs and
    /// the stack's own two events, the second `took` after the first. It has
    /// no template or resources here, so the sandbox's other services see
    /// nothing of it. Returns its id.
    pub fn adopt_complete_stack(
        &mut self,
        name: &str,
        created: SystemTime,
        took: Duration,
        tags: Vec<Tag>,
        outputs: Vec<StackOutput>,
    ) -> String {
        let u = self.next_uuid("stack", name);
        let id = format!(
            "arn:aws:cloudformation:{}:{}:stack/{name}/{u}",
            self.region, self.account
        );
        let mut s = StackState {
            name: name.to_string(),
            id: id.clone(),
            status: StackStatus::CreateInProgress,
            status_reason: None,
            created,
            last_updated: None,
            tags,
            disable_rollback: false,
            termination_protection: false,
            template: None,
            params: vec![],
            resources: BTreeMap::new(),
            outputs,
            change_sets: vec![],
            events: vec![],
            op: None,
            stable: None,
            pending_rollback: None,
            event_seq: 0,
            stale: None,
            on_failure_do_nothing: false,
        };
        s.set_status(
            created,
            StackStatus::CreateInProgress,
            Some("User Initiated".into()),
            None,
        );
        s.set_status(created + took, StackStatus::CreateComplete, None, None);
        self.stacks.push(s);
        id
    }
}

/// The reason a change set for `stack` fails, if a change-set fault says so
/// (and has attempts left); counts the attempt.
fn take_change_set_fault(
    faults: &[ChangeSetFault],
    counts: &mut BTreeMap<String, u32>,
    stack: &str,
) -> Option<String> {
    faults.iter().enumerate().find_map(|(n, f)| {
        if !glob_matches(&f.stack, stack) {
            return None;
        }
        let key = format!("changeset#{n}/{}", f.stack);
        let fired = counts.get(&key).copied().unwrap_or(0);
        f.times.fires(fired).then(|| {
            counts.insert(key, fired + 1);
            f.reason.clone()
        })
    })
}

#[cfg(test)]
mod tests;
