//! Execution: plans (what each resource must do), the task walk on the
//! virtual clock, events, and the stage transitions of every operation.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, SystemTime};

use serde_json::Value;

use super::durations::{self, Op};
use super::ids;
use super::model::*;
use super::template::{Ctx, Template};
use crate::cloud::sandbox::faults::{FaultPhase, ResourceFault};
use crate::cloud::types::*;
use crate::core::secret::Secret;
use crate::core::stack::{ResourceStatus, StackStatus};

/// Where a stack lives: what its pseudo parameters and `Fn::GetAZs` say.
#[derive(Clone, Copy)]
pub struct Site<'a> {
    pub region: &'a str,
    pub account: &'a str,
    pub zones: &'a [String],
}

/// What the simulation needs besides the stack itself.
pub struct Env<'a> {
    pub account: &'a str,
    pub region: &'a str,
    /// The region's availability zones, as EC2 lists them.
    pub zones: &'a [String],
    /// The account's service-linked roles, by role name.
    pub service_roles: &'a [String],
    pub faults: &'a [ResourceFault],
    /// How often each fault has fired (key: `logical/phase`).
    pub fault_counts: &'a mut BTreeMap<String, u32>,
    pub secrets: &'a BTreeMap<String, Secret>,
}

impl Env<'_> {
    /// The reason `logical` (of stack `stack_id`) fails in `phase`, if a
    /// fault says so, worded as CloudFormation reports a resource handler's
    /// failure; counts the attempt the fault broke.
    fn take_fault(&mut self, stack_id: &str, logical: &str, phase: FaultPhase) -> Option<String> {
        let key = format!("{logical}/{phase:?}");
        let fired = self.fault_counts.get(&key).copied().unwrap_or(0);
        let f = self
            .faults
            .iter()
            .find(|f| f.resource == logical && f.during == phase && f.times.fires(fired))?;
        self.fault_counts.insert(key, fired + 1);
        let request_token = ids::uuid_like(&[stack_id, logical, &fired.to_string(), "handler"]);
        Some(handler_message(f, &request_token))
    }
}

/// A fault's reason as CloudFormation shows a resource handler's failure.
/// A reason already worded that way, or a template error, is kept as is.
pub fn handler_message(f: &ResourceFault, request_token: &str) -> String {
    if f.reason.starts_with("Resource handler returned message:")
        || f.reason.starts_with("Template error:")
    {
        return f.reason.clone();
    }
    format!(
        "Resource handler returned message: \"{}\" (RequestToken: {request_token}, \
         HandlerErrorCode: {})",
        f.reason,
        f.code.as_deref().unwrap_or("GeneralServiceException")
    )
}

/// The service-linked role OpenSearch Service needs to place a domain in a
/// VPC. Unlike most services, it is not created for the caller when a
/// domain is created through CloudFormation.
pub const OPENSEARCH_SERVICE_ROLE: &str = "AWSServiceRoleForAmazonOpenSearchService";

/// Why creating `res` fails in an account without a service-linked role it
/// needs, as the resource handler reports it.
fn missing_service_role(res: &Res, env: &Env<'_>, stack_id: &str, logical: &str) -> Option<String> {
    let in_vpc = res.rtype == "AWS::OpenSearchService::Domain"
        && res.props.get("VPCOptions").is_some_and(|v| !v.is_null());
    if !in_vpc
        || env
            .service_roles
            .iter()
            .any(|r| r == OPENSEARCH_SERVICE_ROLE)
    {
        return None;
    }
    let request_token = ids::uuid_like(&[stack_id, logical, "service-linked-role"]);
    Some(format!(
        "Resource handler returned message: \"Invalid request provided: Before you can proceed, \
         you must enable a service-linked role to give Amazon OpenSearch Service permissions \
         to access your VPC. (Service: OpenSearch, Status Code: 400)\" (RequestToken: \
         {request_token}, HandlerErrorCode: InvalidRequest)"
    ))
}

/// What CloudFormation says of an update that would replace a resource
/// while rollback is disabled: the call is accepted, the resource fails.
pub const REPLACEMENT_UNDER_DISABLED_ROLLBACK: &str =
    "Replacement type updates not supported on stack with disable-rollback.";

// ------------------------------------------------------------------ planning

/// Properties whose change replaces the resource, per type.
fn replaces(rtype: &str, prop: &str) -> bool {
    let props: &[&str] = match rtype {
        "AWS::EC2::VPC" => &["CidrBlock", "InstanceTenancy"],
        "AWS::EC2::Subnet" => &[
            "CidrBlock",
            "AvailabilityZone",
            "AvailabilityZoneId",
            "VpcId",
        ],
        "AWS::EC2::SecurityGroup" => &["GroupDescription", "GroupName", "VpcId"],
        "AWS::EC2::NatGateway" => &["SubnetId", "AllocationId", "ConnectivityType"],
        "AWS::EC2::RouteTable" => &["VpcId"],
        "AWS::EC2::Route" => &["RouteTableId", "DestinationCidrBlock"],
        "AWS::EC2::Instance" => &["AvailabilityZone", "ImageId", "SubnetId", "KeyName"],
        "AWS::RDS::DBInstance" => &[
            "Engine",
            "DBInstanceIdentifier",
            "DBName",
            "StorageEncrypted",
            "KmsKeyId",
            "MasterUsername",
            "AvailabilityZone",
        ],
        "AWS::EKS::Cluster" => &[
            "Name",
            "RoleArn",
            "EncryptionConfig",
            "KubernetesNetworkConfig",
        ],
        "AWS::EKS::Nodegroup" => &[
            "NodegroupName",
            "ClusterName",
            "Subnets",
            "InstanceTypes",
            "NodeRole",
            "AmiType",
            "DiskSize",
            "CapacityType",
        ],
        "AWS::ElastiCache::ReplicationGroup" => &[
            "ReplicationGroupId",
            "CacheSubnetGroupName",
            "Engine",
            "AtRestEncryptionEnabled",
            "KmsKeyId",
        ],
        "AWS::MSK::Cluster" => &["ClusterName", "EncryptionInfo", "KafkaVersion"],
        "AWS::OpenSearchService::Domain" => &["DomainName"],
        "AWS::IAM::Role" => &["RoleName", "Path"],
        "AWS::IAM::InstanceProfile" => &["InstanceProfileName", "Path"],
        "AWS::ElasticLoadBalancingV2::LoadBalancer" => &["Name", "Scheme", "Type"],
        "AWS::ElasticLoadBalancingV2::TargetGroup" => {
            &["Name", "Port", "Protocol", "VpcId", "TargetType"]
        }
        "AWS::S3::Bucket" => &["BucketName"],
        "AWS::Logs::LogGroup" => &["LogGroupName"],
        "AWS::SecretsManager::Secret" => &["Name"],
        "AWS::KMS::Alias" => &["AliasName"],
        _ => &[],
    };
    props.contains(&prop)
}

/// The parameter values intrinsic functions see: NoEcho ones as the real
/// value when `reveal` and it is known, else as their digest marker.
pub fn param_map(
    params: &[StoredParam],
    secrets: &BTreeMap<String, Secret>,
    reveal: bool,
) -> BTreeMap<String, String> {
    params
        .iter()
        .map(|p| {
            let v = match (&p.value, &p.digest) {
                (Some(v), _) => v.clone(),
                (None, Some(d)) if reveal => secrets
                    .get(d)
                    .map(|s| s.expose().to_string())
                    .unwrap_or_else(|| "****".to_string()),
                _ => p.comparable(),
            };
            (p.key.clone(), v)
        })
        .collect()
}

/// The resources a template asks for with these parameters, properties
/// normalised for comparison.
pub fn desired(
    tmpl: &Template,
    params: &[StoredParam],
    secrets: &BTreeMap<String, Secret>,
    stack_name: &str,
    stack_id: &str,
    site: &Site<'_>,
) -> Result<BTreeMap<String, Res>, String> {
    let Site {
        region: env_region,
        account: env_account,
        zones,
    } = *site;
    let revealed = param_map(params, secrets, true);
    let empty = BTreeMap::new();
    let ctx = Ctx {
        params: &revealed,
        conditions: &empty,
        region: env_region,
        account: env_account,
        stack_name,
        stack_id,
        zones,
        resources: None,
    };
    let conditions = tmpl.evaluate_conditions(&ctx)?;
    let comparable = param_map(params, secrets, false);
    let ctx = Ctx {
        params: &comparable,
        conditions: &conditions,
        region: env_region,
        account: env_account,
        stack_name,
        stack_id,
        zones,
        resources: None,
    };
    let active: BTreeSet<&str> = tmpl
        .resources
        .iter()
        .filter(|(_, r)| {
            r.condition
                .as_ref()
                .is_none_or(|c| conditions.get(c).copied().unwrap_or(false))
        })
        .map(|(k, _)| k.as_str())
        .collect();
    let mut out = BTreeMap::new();
    for (k, r) in &tmpl.resources {
        if !active.contains(k.as_str()) {
            continue;
        }
        let props = tmpl.resolve(&r.properties, &ctx)?.unwrap_or(Value::Null);
        out.insert(
            k.clone(),
            Res {
                rtype: r.rtype.clone(),
                physical: None,
                status: String::new(),
                props,
                metadata: r.metadata.clone(),
                deps: r
                    .deps
                    .iter()
                    .filter(|d| active.contains(d.as_str()))
                    .cloned()
                    .collect(),
                retain: matches!(
                    r.deletion_policy.as_deref(),
                    Some("Retain" | "RetainExceptOnCreate")
                ),
                generation: 0,
            },
        );
    }
    Ok(out)
}

/// One resource's planned action and its preview row.
pub struct Planned {
    pub action: Action,
    pub change: Option<ResourceChange>,
}

fn top_keys(v: &Value) -> BTreeMap<String, Value> {
    v.as_object()
        .map(|m| m.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
        .unwrap_or_default()
}

/// Compares what is with what is wanted.
pub fn classify(cur: Option<&Res>, want: &Res, logical: &str) -> Planned {
    let Some(cur) = cur.filter(|c| c.physical.is_some() && c.status != "CREATE_FAILED") else {
        return Planned {
            action: Action::Create,
            change: Some(ResourceChange {
                action: ResourceAction::Add,
                logical_id: logical.to_string(),
                physical_id: None,
                resource_type: want.rtype.clone(),
                replacement: None,
                scope: vec![],
                changed_properties: vec![],
            }),
        };
    };
    let (a, b) = (top_keys(&cur.props), top_keys(&want.props));
    let keys: BTreeSet<&String> = a.keys().chain(b.keys()).collect();
    let changed: Vec<String> = keys
        .into_iter()
        .filter(|k| a.get(*k) != b.get(*k))
        .cloned()
        .collect();
    let type_changed = cur.rtype != want.rtype;
    let mut scope = Vec::new();
    if changed.iter().any(|k| k != "Tags") {
        scope.push("Properties".to_string());
    }
    if changed.iter().any(|k| k == "Tags") {
        scope.push("Tags".to_string());
    }
    if cur.metadata != want.metadata {
        scope.push("Metadata".to_string());
    }
    if scope.is_empty() && !cur.failed() && !type_changed {
        return Planned {
            action: Action::Noop,
            change: None,
        };
    }
    let replace = type_changed || changed.iter().any(|k| replaces(&want.rtype, k));
    Planned {
        action: if replace {
            Action::Replace
        } else {
            Action::Update
        },
        change: Some(ResourceChange {
            action: ResourceAction::Modify,
            logical_id: logical.to_string(),
            physical_id: cur.physical.clone(),
            resource_type: want.rtype.clone(),
            replacement: Some(if replace {
                Replacement::True
            } else {
                Replacement::False
            }),
            scope,
            changed_properties: changed,
        }),
    }
}

/// The change-set preview of going from `current` to `want`.
pub fn preview(
    current: &BTreeMap<String, Res>,
    want: &BTreeMap<String, Res>,
) -> Vec<ResourceChange> {
    let mut out = Vec::new();
    for (k, w) in want {
        if let Some(c) = classify(current.get(k), w, k).change {
            out.push(c);
        }
    }
    for (k, c) in current {
        if !want.contains_key(k) {
            out.push(ResourceChange {
                action: ResourceAction::Remove,
                logical_id: k.clone(),
                physical_id: c.physical.clone(),
                resource_type: c.rtype.clone(),
                replacement: None,
                scope: vec![],
                changed_properties: vec![],
            });
        }
    }
    out
}

fn task(logical: &str, action: Action, deps: BTreeSet<String>, target: Res) -> Task {
    Task {
        logical: logical.to_string(),
        action,
        deps,
        state: TaskState::Pending,
        until: None,
        target,
        orphan: false,
        error: None,
    }
}

/// Apply tasks: every wanted resource, in dependency order.
pub fn apply_tasks(
    stack: &StackState,
    want: &BTreeMap<String, Res>,
    env: &Env<'_>,
) -> BTreeMap<String, Task> {
    let mut tasks = BTreeMap::new();
    for (k, w) in want {
        let cur = stack.resources.get(k);
        let action = classify(cur, w, k).action;
        let mut target = w.clone();
        let next_gen = cur.map(|c| c.generation + 1).unwrap_or(0);
        match action {
            Action::Create | Action::Replace => {
                target.generation = next_gen;
                target.physical = Some(ids::physical_id(
                    &w.rtype,
                    k,
                    &stack.name,
                    &stack.id,
                    next_gen,
                    env.region,
                    env.account,
                ));
            }
            _ => {
                let c = cur.expect("update and noop have a current resource");
                target.generation = c.generation;
                target.physical = c.physical.clone();
                if action == Action::Noop {
                    target.status = c.status.clone();
                }
            }
        }
        tasks.insert(k.clone(), task(k, action, w.deps.clone(), target));
    }
    tasks
}

/// Delete tasks for `which` resources, dependents first.
pub fn delete_tasks(
    resources: &BTreeMap<String, Res>,
    which: &BTreeSet<String>,
) -> BTreeMap<String, Task> {
    let mut tasks = BTreeMap::new();
    for k in which {
        let Some(r) = resources.get(k) else { continue };
        let deps: BTreeSet<String> = which
            .iter()
            .filter(|m| resources.get(*m).is_some_and(|mr| mr.deps.contains(k)))
            .cloned()
            .collect();
        tasks.insert(k.clone(), task(k, Action::Delete, deps, r.clone()));
    }
    tasks
}

/// Orphaned physical resources (replaced ones) to delete, in parallel.
fn orphan_tasks(orphans: &[(String, Res)], tasks: &mut BTreeMap<String, Task>) {
    for (l, r) in orphans {
        let key = format!("{l}#{}", r.physical.clone().unwrap_or_default());
        let mut t = task(l, Action::Delete, BTreeSet::new(), r.clone());
        t.orphan = true;
        tasks.insert(key, t);
    }
}

/// Revert tasks towards `to`, skipping `skip`; returns them and the
/// physical resources the revert leaves behind (for the cleanup).
pub fn revert_tasks(
    stack: &StackState,
    to: &Snapshot,
) -> (BTreeMap<String, Task>, Vec<(String, Res)>) {
    let mut tasks = BTreeMap::new();
    let mut orphans = Vec::new();
    for (k, t) in &to.resources {
        let deps = t
            .deps
            .iter()
            .filter(|d| to.resources.contains_key(*d))
            .cloned()
            .collect();
        let action = match stack.resources.get(k) {
            None => Action::Create,
            Some(c) => {
                if c.physical != t.physical {
                    if c.physical.is_some() {
                        orphans.push((k.clone(), c.clone()));
                    }
                    Action::Revert
                } else if c.props != t.props
                    || c.metadata != t.metadata
                    || c.failed()
                    || c.rtype != t.rtype
                {
                    Action::Revert
                } else {
                    Action::Noop
                }
            }
        };
        let mut target = t.clone();
        if action == Action::Noop {
            target.status = stack.resources[k].status.clone();
        }
        tasks.insert(k.clone(), task(k, action, deps, target));
    }
    (tasks, orphans)
}

// ------------------------------------------------------------------ events

impl StackState {
    #[allow(clippy::too_many_arguments)]
    pub fn push_event(
        &mut self,
        ts: SystemTime,
        logical: &str,
        physical: Option<String>,
        rtype: &str,
        status: &str,
        reason: Option<String>,
        token: Option<String>,
    ) {
        self.event_seq += 1;
        let seq = self.event_seq.to_string();
        self.events.push(StackEvent {
            event_id: ids::uuid_like(&[&self.id, &seq, "event"]),
            stack_id: self.id.clone(),
            stack_name: self.name.clone(),
            logical_id: logical.to_string(),
            physical_id: physical,
            resource_type: rtype.to_string(),
            timestamp: ts,
            status: ResourceStatus::new(status),
            status_reason: reason,
            client_request_token: token,
        });
    }

    /// Sets the stack's status and records the stack-level event.
    pub fn set_status(
        &mut self,
        ts: SystemTime,
        status: StackStatus,
        reason: Option<String>,
        token: Option<String>,
    ) {
        self.status = status;
        self.status_reason = reason.clone();
        let (name, id) = (self.name.clone(), self.id.clone());
        self.push_event(
            ts,
            &name,
            Some(id),
            "AWS::CloudFormation::Stack",
            status.as_str(),
            reason,
            token,
        );
    }

    fn set_change_set_execution(&mut self, status: ExecutionStatus) {
        let Some(id) = self.op.as_ref().and_then(|o| o.change_set.clone()) else {
            return;
        };
        if let Some(cs) = self.change_sets.iter_mut().find(|c| c.id == id) {
            cs.execution_status = status;
        }
    }
}

// ------------------------------------------------------------------ the walk

fn op_mut(stack: &mut StackState) -> &mut Operation {
    stack.op.as_mut().expect("an operation is in flight")
}

/// Runs the stack's operation up to `now`.
pub fn run(stack: &mut StackState, env: &mut Env<'_>, now: SystemTime) {
    loop {
        let Some(op) = stack.op.as_ref() else { return };
        if op.clock > now {
            return;
        }
        start_ready(stack, env);
        let op = stack.op.as_ref().expect("still in flight");
        let next = op
            .tasks
            .values()
            .filter(|t| t.state == TaskState::Running)
            .filter_map(|t| t.until)
            .min();
        match next {
            None => finish_stage(stack, env),
            Some(t) if t > now => return,
            Some(t) => {
                op_mut(stack).clock = t;
                complete_at(stack, env, t);
            }
        }
    }
}

/// When the stack's operation next changes something.
pub fn next_change(stack: &StackState) -> Option<SystemTime> {
    let op = stack.op.as_ref()?;
    op.tasks
        .values()
        .filter(|t| t.state == TaskState::Running)
        .filter_map(|t| t.until)
        .min()
        .or(Some(op.clock))
}

fn start_ready(stack: &mut StackState, env: &mut Env<'_>) {
    loop {
        let op = stack.op.as_ref().expect("in flight");
        let apply = op.stage == Stage::Apply;
        if apply && !op.failed.is_empty() && !op.disable_rollback {
            // Rolling back: nothing new starts.
            return;
        }
        if apply && op.disable_rollback {
            // A failure stops only its own path: what depends on it never starts.
            let stopped = |d: &String| {
                op.tasks.get(d).is_some_and(|dt| {
                    matches!(
                        dt.state,
                        TaskState::Failed | TaskState::Cancelled | TaskState::Blocked
                    )
                })
            };
            let blocked: Vec<String> = op
                .tasks
                .iter()
                .filter(|(_, t)| t.state == TaskState::Pending && t.deps.iter().any(stopped))
                .map(|(k, _)| k.clone())
                .collect();
            if !blocked.is_empty() {
                for k in blocked {
                    op_mut(stack).tasks.get_mut(&k).expect("task").state = TaskState::Blocked;
                }
                continue;
            }
        }
        let ready: Vec<String> = op
            .tasks
            .iter()
            .filter(|(_, t)| t.state == TaskState::Pending)
            .filter(|(_, t)| {
                t.deps
                    .iter()
                    .all(|d| op.tasks.get(d).is_none_or(|dt| dt.state == TaskState::Done))
            })
            .map(|(k, _)| k.clone())
            .collect();
        if ready.is_empty() {
            return;
        }
        for k in ready {
            start_task(stack, env, &k);
        }
    }
}

fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

fn start_task(stack: &mut StackState, env: &mut Env<'_>, key: &str) {
    let op = stack.op.as_ref().expect("in flight");
    let (clock, token, stage) = (op.clock, Some(op.token.clone()), op.stage);
    let t = op.tasks[key].clone();
    // CloudFormation builds a resource's properties when it starts it: an
    // intrinsic that fails on a live attribute fails the resource at once.
    let error = (stage == Stage::Apply
        && matches!(t.action, Action::Create | Action::Update | Action::Replace))
    .then(|| property_error(stack, env, &t.logical))
    .flatten();
    let l = t.logical.as_str();
    let rtype = t.target.rtype.clone();
    let md = &t.target.metadata;
    let mut dur = 0;
    let mut done_now = false;
    let disabled_rollback = stack.op.as_ref().is_some_and(|o| o.disable_rollback);
    if stage == Stage::Apply && t.action == Action::Replace && disabled_rollback {
        // Accepted by the call, refused by the resource: it fails as it
        // starts, and the resource it would have replaced stays.
        let current = stack
            .resources
            .get(l)
            .map(|r| (r.physical.clone(), r.generation));
        let tk = op_mut(stack).tasks.get_mut(key).expect("task");
        if let Some((physical, generation)) = current {
            tk.target.physical = physical;
            tk.target.generation = generation;
        }
        tk.error = Some(REPLACEMENT_UNDER_DISABLED_ROLLBACK.into());
        tk.state = TaskState::Running;
        tk.until = Some(clock);
        return;
    }
    match t.action {
        Action::Noop => done_now = true,
        Action::Create => {
            stack.push_event(
                clock,
                l,
                Some(String::new()),
                &rtype,
                "CREATE_IN_PROGRESS",
                None,
                token.clone(),
            );
            stack.push_event(
                clock,
                l,
                t.target.physical.clone(),
                &rtype,
                "CREATE_IN_PROGRESS",
                Some("Resource creation Initiated".into()),
                token,
            );
            let mut r = t.target.clone();
            r.status = "CREATE_IN_PROGRESS".into();
            stack.resources.insert(l.to_string(), r);
            dur = durations::seconds(&rtype, l, md, Op::Create);
        }
        Action::Update | Action::Revert => {
            stack.push_event(
                clock,
                l,
                t.target.physical.clone(),
                &rtype,
                "UPDATE_IN_PROGRESS",
                None,
                token,
            );
            if let Some(r) = stack.resources.get_mut(l) {
                r.status = "UPDATE_IN_PROGRESS".into();
            }
            dur = durations::seconds(&rtype, l, md, Op::Update);
        }
        Action::Replace => {
            let old = stack.resources.get(l).cloned();
            stack.push_event(
                clock,
                l,
                old.as_ref().and_then(|o| o.physical.clone()),
                &rtype,
                "UPDATE_IN_PROGRESS",
                None,
                token.clone(),
            );
            stack.push_event(
                clock,
                l,
                t.target.physical.clone(),
                &rtype,
                "UPDATE_IN_PROGRESS",
                Some(
                    "Requested update requires the creation of a new physical resource; hence creating one."
                        .into(),
                ),
                token,
            );
            if let Some(o) = old {
                op_mut(stack).orphans.push((l.to_string(), o));
            }
            let mut r = t.target.clone();
            r.status = "UPDATE_IN_PROGRESS".into();
            stack.resources.insert(l.to_string(), r);
            dur = durations::seconds(&rtype, l, md, Op::Create);
        }
        Action::Delete if t.target.physical.is_none() => {
            // Never created (its create failed or was cancelled): nothing to
            // delete, and CloudFormation reports it deleted at once.
            stack.push_event(
                clock,
                l,
                Some(String::new()),
                &rtype,
                "DELETE_COMPLETE",
                None,
                token,
            );
            if !t.orphan {
                stack.resources.remove(l);
            }
            done_now = true;
        }
        Action::Delete => {
            if t.target.retain {
                stack.push_event(
                    clock,
                    l,
                    t.target.physical.clone(),
                    &rtype,
                    "DELETE_SKIPPED",
                    None,
                    token,
                );
                if !t.orphan {
                    stack.resources.remove(l);
                }
                done_now = true;
            } else {
                stack.push_event(
                    clock,
                    l,
                    t.target.physical.clone(),
                    &rtype,
                    "DELETE_IN_PROGRESS",
                    None,
                    token,
                );
                if !t.orphan
                    && let Some(r) = stack.resources.get_mut(l)
                {
                    r.status = "DELETE_IN_PROGRESS".into();
                }
                dur = durations::seconds(&rtype, l, md, Op::Delete);
            }
        }
    }
    if error.is_some() {
        dur = 0;
    }
    let tk = op_mut(stack).tasks.get_mut(key).expect("task");
    tk.error = error;
    if done_now {
        tk.state = TaskState::Done;
    } else {
        tk.state = TaskState::Running;
        tk.until = Some(clock + secs(dur));
    }
}

fn complete_at(stack: &mut StackState, env: &mut Env<'_>, at: SystemTime) {
    let op = stack.op.as_ref().expect("in flight");
    let stage = op.stage;
    let token = Some(op.token.clone());
    let due: Vec<String> = op
        .tasks
        .iter()
        .filter(|(_, t)| t.state == TaskState::Running && t.until == Some(at))
        .map(|(k, _)| k.clone())
        .collect();
    for key in due {
        let t = stack.op.as_ref().expect("in flight").tasks[&key].clone();
        let l = t.logical.as_str();
        let rtype = t.target.rtype.clone();
        let phase = match (stage, t.action) {
            (Stage::Apply, Action::Create) => FaultPhase::Create,
            (Stage::Apply, _) => FaultPhase::Update,
            (Stage::Revert | Stage::RollbackDelete, _) => FaultPhase::Rollback,
            _ => FaultPhase::Delete,
        };
        let fault = t
            .error
            .clone()
            .or_else(|| {
                (phase == FaultPhase::Create)
                    .then(|| missing_service_role(&t.target, env, &stack.id, l))
                    .flatten()
            })
            .or_else(|| env.take_fault(&stack.id, l, phase));
        let ok = fault.is_none();
        // A create that failed leaves no physical resource behind.
        let physical = if !ok && t.action == Action::Create {
            Some(String::new())
        } else {
            t.target.physical.clone()
        };
        match t.action {
            Action::Create | Action::Update | Action::Replace | Action::Revert => {
                let status = match (t.action, ok) {
                    (Action::Create, true) => "CREATE_COMPLETE",
                    (Action::Create, false) => "CREATE_FAILED",
                    (_, true) => "UPDATE_COMPLETE",
                    (_, false) => "UPDATE_FAILED",
                };
                stack.push_event(
                    at,
                    l,
                    physical,
                    &rtype,
                    status,
                    fault.clone(),
                    token.clone(),
                );
                if ok {
                    let mut r = t.target.clone();
                    r.status = status.into();
                    stack.resources.insert(l.to_string(), r);
                } else if let Some(r) = stack.resources.get_mut(l) {
                    r.status = status.into();
                    if t.action == Action::Create {
                        r.physical = None;
                    }
                }
            }
            Action::Delete => {
                let status = if ok {
                    "DELETE_COMPLETE"
                } else {
                    "DELETE_FAILED"
                };
                stack.push_event(
                    at,
                    l,
                    physical,
                    &rtype,
                    status,
                    fault.clone(),
                    token.clone(),
                );
                if !t.orphan {
                    if ok {
                        stack.resources.remove(l);
                    } else if let Some(r) = stack.resources.get_mut(l) {
                        r.status = status.into();
                    }
                }
            }
            Action::Noop => {}
        }
        let op = op_mut(stack);
        let tk = op.tasks.get_mut(&key).expect("task");
        if ok {
            tk.state = TaskState::Done;
        } else {
            tk.state = TaskState::Failed;
            op.failed.push(l.to_string());
            if stage == Stage::Apply {
                if t.action == Action::Create {
                    op.failed_creates.push(l.to_string());
                } else {
                    op.failed_updates.push(l.to_string());
                }
            }
        }
    }
    // With rollback on, a failure during Apply cancels what is still in
    // flight; with rollback disabled the other paths go on.
    let op = stack.op.as_ref().expect("in flight");
    if stage == Stage::Apply && !op.failed.is_empty() && !op.disable_rollback {
        let running: Vec<String> = op
            .tasks
            .iter()
            .filter(|(_, t)| t.state == TaskState::Running)
            .map(|(k, _)| k.clone())
            .collect();
        for key in running {
            cancel_task(stack, &key, at, token.clone());
        }
    }
}

/// Cancels running task `key` at `at`: it fails with CloudFormation's
/// "cancelled" reason and is listed among the stack's failed resources.
pub fn cancel_task(stack: &mut StackState, key: &str, at: SystemTime, token: Option<String>) {
    let t = stack.op.as_ref().expect("in flight").tasks[key].clone();
    let creating = t.action == Action::Create;
    let (status, reason, physical) = if creating {
        (
            "CREATE_FAILED",
            "Resource creation cancelled",
            Some(String::new()),
        )
    } else {
        (
            "UPDATE_FAILED",
            "Resource update cancelled",
            t.target.physical.clone(),
        )
    };
    stack.push_event(
        at,
        &t.logical,
        physical,
        &t.target.rtype,
        status,
        Some(reason.into()),
        token,
    );
    if let Some(r) = stack.resources.get_mut(&t.logical) {
        r.status = status.into();
        if creating {
            r.physical = None;
        }
    }
    let op = op_mut(stack);
    if creating {
        op.failed_creates.push(t.logical.clone());
    } else {
        op.failed_updates.push(t.logical.clone());
    }
    let tk = op.tasks.get_mut(key).expect("task");
    tk.state = TaskState::Cancelled;
    tk.until = None;
}

fn list(names: &[String]) -> String {
    let mut v: Vec<&String> = names.iter().collect();
    v.sort();
    v.dedup();
    v.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", ")
}

fn failure_reason(op: &Operation) -> String {
    let mut parts = Vec::new();
    if !op.failed_creates.is_empty() {
        parts.push(format!(
            "The following resource(s) failed to create: [{}]. ",
            list(&op.failed_creates)
        ));
    }
    if !op.failed_updates.is_empty() {
        parts.push(format!(
            "The following resource(s) failed to update: [{}]. ",
            list(&op.failed_updates)
        ));
    }
    parts.concat()
}

fn begin_stage(stack: &mut StackState, stage: Stage, tasks: BTreeMap<String, Task>) {
    let op = op_mut(stack);
    op.stage = stage;
    op.tasks = tasks;
    op.failed.clear();
}

fn all_resources(stack: &StackState) -> BTreeSet<String> {
    stack.resources.keys().cloned().collect()
}

fn end_op(stack: &mut StackState, exec: Option<ExecutionStatus>) {
    if let Some(e) = exec {
        stack.set_change_set_execution(e);
    }
    stack.op = None;
}

/// What happens when every task of the current stage has settled.
fn finish_stage(stack: &mut StackState, env: &mut Env<'_>) {
    let op = stack.op.as_ref().expect("in flight").clone();
    let at = op.clock;
    let token = Some(op.token.clone());
    let ok = op.failed.is_empty();
    match op.stage {
        Stage::Apply if ok => match op.kind {
            OpKind::Create => {
                stack.outputs = compute_outputs(stack, env);
                stack.set_status(at, StackStatus::CreateComplete, None, token);
                stack.stable = Some(stack.snapshot());
                end_op(stack, Some(ExecutionStatus::ExecuteComplete));
            }
            _ => {
                stack.set_status(
                    at,
                    StackStatus::UpdateCompleteCleanupInProgress,
                    None,
                    token,
                );
                let want: BTreeSet<&String> = op.tasks.keys().collect();
                let removed: BTreeSet<String> = stack
                    .resources
                    .keys()
                    .filter(|k| !want.contains(k))
                    .cloned()
                    .collect();
                let mut tasks = delete_tasks(&stack.resources, &removed);
                orphan_tasks(&op.orphans, &mut tasks);
                begin_stage(stack, Stage::Cleanup, tasks);
            }
        },
        Stage::Apply => {
            let reason = failure_reason(&op);
            stack.set_change_set_execution(ExecutionStatus::ExecuteFailed);
            match (op.kind, op.disable_rollback) {
                (OpKind::Create, true) => {
                    stack.set_status(at, StackStatus::CreateFailed, Some(reason), token);
                    end_op(stack, None);
                }
                (OpKind::Create, false) if op.delete_on_failure => {
                    // OnStackFailure=DELETE: no rollback, straight to deleting.
                    stack.set_status(
                        at,
                        StackStatus::DeleteInProgress,
                        Some(format!("{reason}Delete requested by user.")),
                        token,
                    );
                    let tasks = delete_tasks(&stack.resources, &all_resources(stack));
                    begin_stage(stack, Stage::DeleteAll, tasks);
                }
                (OpKind::Create, false) => {
                    stack.set_status(
                        at,
                        StackStatus::RollbackInProgress,
                        Some(format!("{reason}Rollback requested by user.")),
                        token,
                    );
                    let tasks = delete_tasks(&stack.resources, &all_resources(stack));
                    begin_stage(stack, Stage::RollbackDelete, tasks);
                }
                (_, true) => {
                    stack.set_status(at, StackStatus::UpdateFailed, Some(reason), token);
                    end_op(stack, None);
                }
                (_, false) => {
                    stack.set_status(
                        at,
                        StackStatus::UpdateRollbackInProgress,
                        Some(reason),
                        token,
                    );
                    start_revert(stack);
                }
            }
        }
        Stage::Cleanup => {
            stack.outputs = compute_outputs(stack, env);
            stack.set_status(at, StackStatus::UpdateComplete, None, token);
            stack.stable = Some(stack.snapshot());
            end_op(stack, Some(ExecutionStatus::ExecuteComplete));
        }
        Stage::RollbackDelete if ok => {
            stack.set_status(at, StackStatus::RollbackComplete, None, token);
            end_op(stack, None);
        }
        Stage::RollbackDelete => {
            let reason = format!(
                "The following resource(s) failed to delete: [{}]. ",
                list(&op.failed)
            );
            stack.set_status(at, StackStatus::RollbackFailed, Some(reason), token);
            end_op(stack, None);
        }
        Stage::Revert if ok => {
            stack.set_status(
                at,
                StackStatus::UpdateRollbackCompleteCleanupInProgress,
                None,
                token,
            );
            let to = op.rollback_to.clone().expect("revert has a target");
            let extra: BTreeSet<String> = stack
                .resources
                .keys()
                .filter(|k| !to.resources.contains_key(*k))
                .cloned()
                .collect();
            let mut tasks = delete_tasks(&stack.resources, &extra);
            orphan_tasks(&op.orphans, &mut tasks);
            begin_stage(stack, Stage::RevertCleanup, tasks);
        }
        Stage::Revert => {
            let reason = format!(
                "The following resource(s) failed to update: [{}]. ",
                list(&op.failed)
            );
            stack.pending_rollback = op.rollback_to.clone();
            stack.set_status(at, StackStatus::UpdateRollbackFailed, Some(reason), token);
            end_op(stack, None);
        }
        Stage::RevertCleanup => {
            let to = op.rollback_to.clone().expect("revert has a target");
            stack.template = Some(to.template.clone());
            stack.params = to.params.clone();
            stack.pending_rollback = None;
            stack.outputs = compute_outputs(stack, env);
            stack.set_status(at, StackStatus::UpdateRollbackComplete, None, token);
            stack.stable = Some(stack.snapshot());
            end_op(stack, None);
        }
        Stage::DeleteAll if ok => {
            stack.set_status(at, StackStatus::DeleteComplete, None, token);
            stack.outputs.clear();
            end_op(stack, None);
        }
        Stage::DeleteAll => {
            let reason = format!(
                "The following resource(s) failed to delete: [{}]. ",
                list(&op.failed)
            );
            stack.set_status(at, StackStatus::DeleteFailed, Some(reason), token);
            end_op(stack, None);
        }
    }
}

/// Starts UPDATE_ROLLBACK_IN_PROGRESS's walk towards `op.rollback_to`.
pub fn start_revert(stack: &mut StackState) {
    let to = op_mut(stack)
        .rollback_to
        .clone()
        .expect("revert has a target");
    let (tasks, orphans) = revert_tasks(stack, &to);
    begin_stage(stack, Stage::Revert, tasks);
    op_mut(stack).orphans = orphans;
}

// ------------------------------------------------------------------ outputs

fn hosted_zone_for(region: &str) -> String {
    match region {
        "us-east-1" => "Z35SXDOTRQ7X7K".into(),
        "us-east-2" => "Z3AADJGX6KTTL2".into(),
        "us-west-1" => "Z368ELLRRE2KJ0".into(),
        "us-west-2" => "Z1H1FL5HABSF5".into(),
        "eu-west-1" => "Z32O12XQLNTSW2".into(),
        "eu-west-2" => "ZHURV8PSTC4K8".into(),
        "eu-central-1" => "Z215JYRZR1TBD5".into(),
        "ap-southeast-1" => "Z1LMS91P8CMLE5".into(),
        "ap-southeast-2" => "Z1GM3OXH4ZPM65".into(),
        "ap-northeast-1" => "Z14GRHDCWA56QT".into(),
        other => format!("Z{}", ids::hex(&[other, "elb-zone"], 13).to_uppercase()),
    }
}

/// A plausible value for `Fn::GetAtt logical.attr`.
pub fn fake_attr(stack: &StackState, env: &Env<'_>, logical: &str, attr: &str) -> Option<String> {
    let r = stack.resources.get(logical)?;
    let physical = r.physical.clone().unwrap_or_default();
    let (region, account) = (env.region, env.account);
    let digits = || (ids::fnv64(&[&physical, "dns"]) % 9_000_000_000 + 1_000_000_000).to_string();
    Some(match (r.rtype.as_str(), attr) {
        ("AWS::ElasticLoadBalancingV2::LoadBalancer", "DNSName") => format!(
            "{}-{}.{region}.elb.amazonaws.com",
            ids::lb_name(&stack.name, logical),
            digits()
        ),
        ("AWS::ElasticLoadBalancingV2::LoadBalancer", "CanonicalHostedZoneID") => {
            hosted_zone_for(region)
        }
        ("AWS::ElasticLoadBalancingV2::LoadBalancer", "LoadBalancerFullName") => physical
            .split_once(":loadbalancer/")
            .map(|(_, b)| b.to_string())
            .unwrap_or(physical.clone()),
        ("AWS::RDS::DBInstance", "Endpoint.Address") => format!(
            "{physical}.{}.{region}.rds.amazonaws.com",
            ids::hex(&[account, region, "rds"], 12)
        ),
        ("AWS::RDS::DBInstance", "Endpoint.Port") => "5432".into(),
        ("AWS::EKS::Cluster", "Endpoint") => format!(
            "https://{}.gr7.{region}.eks.amazonaws.com",
            ids::hex(&[&physical, "eks"], 32).to_uppercase()
        ),
        ("AWS::EKS::Cluster", "OpenIdConnectIssuerUrl") => format!(
            "https://oidc.eks.{region}.amazonaws.com/id/{}",
            ids::hex(&[&physical, "eks"], 32).to_uppercase()
        ),
        ("AWS::IAM::Role", "Arn") => format!("arn:aws:iam::{account}:role/{physical}"),
        ("AWS::IAM::InstanceProfile", "Arn") => {
            format!("arn:aws:iam::{account}:instance-profile/{physical}")
        }
        ("AWS::KMS::Key", "Arn") => format!("arn:aws:kms:{region}:{account}:key/{physical}"),
        (_, "Arn") if physical.starts_with("arn:") => physical,
        (_, "Arn") => format!(
            "arn:aws:{}:{region}:{account}:{}/{physical}",
            r.rtype
                .split("::")
                .nth(1)
                .unwrap_or("cloudformation")
                .to_lowercase(),
            logical.to_lowercase()
        ),
        (_, a) => match r.props.get(a) {
            Some(Value::String(s)) => s.clone(),
            _ => format!("{logical}-{a}"),
        },
    })
}

/// Runs `f` with the template in force and a context that resolves
/// intrinsics against the live resources, NoEcho values revealed only when
/// `reveal`. `None` when there is no usable template.
fn with_live_ctx<R>(
    stack: &StackState,
    env: &Env<'_>,
    reveal: bool,
    f: impl FnOnce(&super::template::Template, &Ctx<'_>) -> R,
) -> Option<R> {
    let tmpl = super::template::parse(stack.template.as_ref()?).ok()?;
    let params = param_map(&stack.params, env.secrets, reveal);
    let empty = BTreeMap::new();
    let base = Ctx {
        params: &params,
        conditions: &empty,
        region: env.region,
        account: env.account,
        stack_name: &stack.name,
        stack_id: &stack.id,
        zones: env.zones,
        resources: None,
    };
    let conditions = tmpl.evaluate_conditions(&base).ok()?;
    let lookup = |l: &str, attr: Option<&str>| -> Option<String> {
        match attr {
            None => stack.resources.get(l).and_then(|r| r.physical.clone()),
            Some(a) => fake_attr(stack, env, l, a),
        }
    };
    let ctx = Ctx {
        conditions: &conditions,
        resources: Some(&lookup),
        ..base
    };
    Some(f(&tmpl, &ctx))
}

/// Why CloudFormation could not build `logical`'s properties from the live
/// resources it depends on (an intrinsic that fails only at run time, such
/// as Fn::Select past the end of a split attribute), as its status reason.
/// NoEcho values stay masked: the reason is stored and shown.
fn property_error(stack: &StackState, env: &Env<'_>, logical: &str) -> Option<String> {
    with_live_ctx(stack, env, false, |tmpl, ctx| {
        let def = tmpl.resources.get(logical)?;
        tmpl.resolve(&def.properties, ctx).err().map(|e| {
            let e = e.strip_prefix("Template format error: ").unwrap_or(&e);
            format!("Template error: {e}")
        })
    })
    .flatten()
}

/// Outputs of the template in force, resolved against the live resources.
/// Outputs that cannot be resolved are left out.
pub fn compute_outputs(stack: &StackState, env: &Env<'_>) -> Vec<StackOutput> {
    with_live_ctx(stack, env, true, outputs_of).unwrap_or_default()
}

fn outputs_of(tmpl: &super::template::Template, ctx: &Ctx<'_>) -> Vec<StackOutput> {
    let conditions = ctx.conditions;
    let text = |v: &Value| -> Option<String> {
        match tmpl.resolve(v, ctx).ok()?? {
            Value::String(s) => Some(s),
            Value::Array(a) => Some(
                a.iter()
                    .map(|x| x.as_str().map(str::to_string).unwrap_or(x.to_string()))
                    .collect::<Vec<_>>()
                    .join(","),
            ),
            other => Some(other.to_string()),
        }
    };
    tmpl.outputs
        .iter()
        .filter(|(_, o)| {
            o.condition
                .as_ref()
                .is_none_or(|c| conditions.get(c).copied().unwrap_or(false))
        })
        .filter_map(|(k, o)| {
            Some(StackOutput {
                key: k.clone(),
                value: text(&o.value)?,
                description: o.description.clone(),
                export_name: o.export_name.as_ref().and_then(&text),
            })
        })
        .collect()
}
