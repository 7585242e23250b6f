//! The sandbox's CloudFormation: change sets, and execution that walks a
//! template's resources in dependency order on a virtual clock.
//!
//! The engine is a synchronous state machine. Every method takes `now` (the
//! sandbox's virtual time); the engine first advances its simulation to
//! `now`, then acts. Its whole state is serde so the sandbox can persist it.
//!
//! NoEcho parameter values are never part of that state: the engine keeps
//! a salted SHA-256 digest of each, and the values themselves in a map that
//! serde skips. The sandbox account persists them separately (with the
//! secrets, 0600) through [`CfnEngine::noecho_values`] and gives them back
//! after a reload with [`CfnEngine::restore_noecho_values`].

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
use crate::cloud::sandbox::faults::{FaultPhase, ResourceFault};
use crate::cloud::types::*;
use crate::core::secret::Secret;
use crate::core::stack::StackStatus;

use exec::Env;
use model::*;

/// How long a change set stays CREATE_IN_PROGRESS.
const CHANGE_SET_SECONDS: u64 = 2;

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
    /// `Once` faults that have fired.
    #[serde(default)]
    fired: Vec<(String, FaultPhase)>,
    #[serde(default)]
    stacks: Vec<StackState>,
    /// NoEcho values by digest. Never serialized.
    #[serde(skip)]
    secrets: BTreeMap<String, Secret>,
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

    /// Replaces the resource faults to apply (from the fault script). Which
    /// `Once` faults have already fired is remembered in the engine's state.
    pub fn set_faults(&mut self, faults: Vec<ResourceFault>) {
        self.faults = faults;
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
            faults,
            fired,
            stacks,
            secrets,
            ..
        } = self;
        let mut env = Env {
            account,
            region,
            faults,
            fired,
            secrets,
        };
        for s in stacks.iter_mut() {
            exec::run(s, &mut env, now);
            for cs in s.change_sets.iter_mut() {
                if cs.status == ChangeSetStatus::CreateInProgress && cs.ready_at <= now {
                    if cs.changes.is_empty() {
                        cs.status = ChangeSetStatus::Failed;
                        cs.execution_status = ExecutionStatus::Unavailable;
                        cs.status_reason = Some(
                            "The submitted information didn't contain changes. Submit different \
                             information to create a change set."
                                .into(),
                        );
                    } else {
                        cs.status = ChangeSetStatus::CreateComplete;
                        cs.execution_status = ExecutionStatus::Available;
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
                        .filter(|c| c.status == ChangeSetStatus::CreateInProgress)
                        .map(|c| c.ready_at),
                )
            })
            .min()
    }

    fn env(&mut self) -> (Env<'_>, &mut Vec<StackState>) {
        let CfnEngine {
            account,
            region,
            faults,
            fired,
            stacks,
            secrets,
            ..
        } = self;
        (
            Env {
                account,
                region,
                faults,
                fired,
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

    fn find_or_err(&self, action: &str, name_or_id: &str) -> CloudResult<usize> {
        self.find(name_or_id).ok_or_else(|| {
            invalid(
                action,
                format!(
                    "Stack [{name_or_id}] does not exist. Check the stack name and region, or \
                     create the stack first."
                ),
            )
        })
    }

    fn next_uuid(&mut self, kind: &str, name: &str) -> String {
        self.seq += 1;
        let seq = self.seq.to_string();
        ids::uuid_like(&[&self.account, &self.region, kind, name, &seq])
    }

    pub fn describe_stack(&mut self, now: SystemTime, name: &str) -> CloudResult<Option<Stack>> {
        self.advance(now);
        Ok(self.find(name).map(|i| self.stacks[i].to_stack()))
    }

    pub fn list_stacks(&mut self, now: SystemTime) -> CloudResult<Vec<Stack>> {
        self.advance(now);
        Ok(self
            .stacks
            .iter()
            .filter(|s| !s.deleted())
            .map(|s| s.to_stack())
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
        let i = self
            .find(stack)
            .ok_or_else(|| CloudError::not_found(format!("Stack {stack}")))?;
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
            &self.region,
            &self.account,
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
                if req.client_token.is_some() && cs.client_token == req.client_token {
                    return Ok(ChangeSetRef {
                        id: cs.id.clone(),
                        stack_id: s.id.clone(),
                    });
                }
                return Err(invalid(
                    A,
                    format!(
                        "ChangeSet [{}] already exists. Delete it or choose another change set \
                         name.",
                        req.change_set_name
                    ),
                ));
            }
        }
        match (req.kind, existing) {
            (ChangeSetKind::Update, None) => {
                return Err(invalid(
                    A,
                    format!(
                        "Stack [{}] does not exist. Create it with a change set of type CREATE.",
                        req.stack_name
                    ),
                ));
            }
            (ChangeSetKind::Update, Some(i))
                if self.stacks[i].status == StackStatus::ReviewInProgress =>
            {
                return Err(invalid(
                    A,
                    format!(
                        "Stack [{}] does not exist yet (it is in REVIEW_IN_PROGRESS). Use a \
                         change set of type CREATE.",
                        req.stack_name
                    ),
                ));
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
            (_, Some(i)) => Self::check_updatable(A, &self.stacks[i])?,
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
            status: ChangeSetStatus::CreateInProgress,
            status_reason: None,
            execution_status: ExecutionStatus::Unavailable,
            changes,
            ready_at: now + Duration::from_secs(CHANGE_SET_SECONDS),
            client_token: req.client_token.clone(),
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
                    tokens: vec![],
                    event_seq: 0,
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
        let not_found =
            || CloudError::not_found(format!("Change set {change_set} of stack {stack}"));
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

    fn token_used(&self, i: usize, token: &str, action: &str) -> CloudResult<bool> {
        match self.stacks[i].tokens.iter().find(|(t, _)| t == token) {
            Some((_, a)) if a == action => Ok(true),
            Some((_, a)) => Err(invalid(
                action,
                format!(
                    "ClientRequestToken {token} was already used for {a} on this stack. Use a new \
                     token for each operation."
                ),
            )),
            None => Ok(false),
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
        self.stacks[i]
            .tokens
            .push((token.to_string(), action.to_string()));
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
        if !creating {
            if tasks.values().all(|t| t.action == model::Action::Noop)
                && self.stacks[i].resources.len() == want.len()
            {
                return Err(invalid(
                    action,
                    "No updates are to be performed. Change the template or its parameters first.",
                ));
            }
            let replaced: Vec<&str> = tasks
                .values()
                .filter(|t| t.action == model::Action::Replace)
                .map(|t| t.logical.as_str())
                .collect();
            if disable_rollback && !replaced.is_empty() {
                return Err(invalid(
                    action,
                    format!(
                        "Stack [{name}]: an update that replaces resources ([{}]) cannot run with \
                         rollback disabled. Run it with rollback enabled, or change the template \
                         so they are updated in place.",
                        replaced.join(", ")
                    ),
                ));
            }
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
        if let Some(cs) = &change_set {
            for c in s.change_sets.iter_mut() {
                c.execution_status = if &c.id == cs {
                    ExecutionStatus::ExecuteInProgress
                } else {
                    ExecutionStatus::Obsolete
                };
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
        if cs.status != ChangeSetStatus::CreateComplete
            || cs.execution_status != ExecutionStatus::Available
        {
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
                    "ChangeSet [{}] cannot be executed in its current execution status of [{st}]. \
                     Wait until it is AVAILABLE, or create a new change set.",
                    cs.id
                ),
            ));
        }
        Self::check_updatable(A, s)?;
        let creating = s.status == StackStatus::ReviewInProgress;
        let (disable, delete) = if creating {
            (
                req.disable_rollback || cs.on_stack_failure == Some(OnStackFailure::DoNothing),
                cs.on_stack_failure == Some(OnStackFailure::Delete),
            )
        } else {
            (req.disable_rollback, false)
        };
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
        )
    }

    pub fn update_stack(&mut self, now: SystemTime, req: &UpdateRequest) -> CloudResult<()> {
        const A: &str = "UpdateStack";
        self.advance(now);
        let i = self.find_or_err(A, &req.stack_name)?;
        if self.token_used(i, &req.client_request_token, A)? {
            return Ok(());
        }
        let s = &self.stacks[i];
        if s.status == StackStatus::ReviewInProgress {
            return Err(invalid(
                A,
                format!(
                    "Stack [{}] does not exist yet (it is in REVIEW_IN_PROGRESS). Execute its \
                     CREATE change set first.",
                    s.name
                ),
            ));
        }
        Self::check_updatable(A, s)?;
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
        )
    }

    pub fn stack_events(
        &mut self,
        now: SystemTime,
        stack: &str,
        after_event_id: Option<&str>,
    ) -> CloudResult<Vec<StackEvent>> {
        self.advance(now);
        let i = self
            .find(stack)
            .ok_or_else(|| CloudError::not_found(format!("Stack {stack}")))?;
        let events = &self.stacks[i].events;
        let start = after_event_id
            .and_then(|id| events.iter().position(|e| e.event_id == id))
            .map(|p| p + 1)
            .unwrap_or(0);
        Ok(events[start..].to_vec())
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
        let i = self.find_or_err(A, stack)?;
        if self.token_used(i, token, A)? {
            return Ok(());
        }
        let s = &self.stacks[i];
        if s.status != StackStatus::UpdateRollbackFailed {
            return Err(invalid(
                A,
                format!(
                    "Stack:{} is in {} state and can not continue an update rollback; only \
                     UPDATE_ROLLBACK_FAILED stacks can.",
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
        Ok(())
    }

    pub fn rollback_stack(&mut self, now: SystemTime, stack: &str, token: &str) -> CloudResult<()> {
        const A: &str = "RollbackStack";
        self.advance(now);
        let i = self.find_or_err(A, stack)?;
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
        Ok(())
    }

    /// Like AWS, deleting a stack that does not exist succeeds and does nothing.
    pub fn delete_stack(&mut self, now: SystemTime, stack: &str, token: &str) -> CloudResult<()> {
        const A: &str = "DeleteStack";
        self.advance(now);
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
            return Err(busy(A, s));
        }
        if s.termination_protection {
            return Err(invalid(
                A,
                format!(
                    "Stack [{}] cannot be deleted while TerminationProtection is enabled. Disable \
                     termination protection first if you really mean to delete it.",
                    s.name
                ),
            ));
        }
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
        s.op = Some(op);
        self.advance_stack(now, i);
        Ok(())
    }

    pub fn set_termination_protection(
        &mut self,
        now: SystemTime,
        stack: &str,
        enabled: bool,
    ) -> CloudResult<()> {
        self.advance(now);
        let i = self.find_or_err("UpdateTerminationProtection", stack)?;
        self.stacks[i].termination_protection = enabled;
        Ok(())
    }
}

#[cfg(test)]
mod tests;
