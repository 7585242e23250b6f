use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::*;
use crate::cloud::sandbox::faults::{FaultPhase, FaultTimes, ResourceFault};

const SECRET: &str = "hunter2-Very-Secret-Pw";

const TEMPLATE: &str = r#"
Parameters:
  DbPassword:
    Type: String
    NoEcho: true
  Env:
    Type: String
    Default: prod
    AllowedValues: [prod, dev]
Resources:
  Vpc:
    Type: AWS::EC2::VPC
    Metadata: {SandboxDurationSeconds: 10}
    Properties:
      CidrBlock: 10.0.0.0/16
  SubnetA:
    Type: AWS::EC2::Subnet
    Metadata: {SandboxDurationSeconds: 5}
    Properties:
      VpcId: !Ref Vpc
      CidrBlock: 10.0.1.0/24
  SubnetB:
    Type: AWS::EC2::Subnet
    Metadata: {SandboxDurationSeconds: 7}
    Properties:
      VpcId: !Ref Vpc
      CidrBlock: 10.0.2.0/24
  Sg:
    Type: AWS::EC2::SecurityGroup
    Metadata: {SandboxDurationSeconds: 3}
    Properties:
      VpcId: !GetAtt Vpc.VpcId
      GroupDescription: !Sub "${AWS::StackName} ${Env}"
  Db:
    Type: AWS::RDS::DBInstance
    Metadata: {SandboxDurationSeconds: 20}
    Properties:
      Engine: postgres
      MasterUserPassword: !Ref DbPassword
      SubnetIds: [!Ref SubnetA, !Ref SubnetB]
  Lb:
    Type: AWS::ElasticLoadBalancingV2::LoadBalancer
    Metadata: {SandboxDurationSeconds: 8}
    Properties:
      Subnets: [!Ref SubnetA, !Ref SubnetB]
      SecurityGroups: [!Ref Sg]
Outputs:
  VpcId:
    Value: !Ref Vpc
  LbDns:
    Value: !GetAtt Lb.DNSName
  LbZone:
    Value: !GetAtt Lb.CanonicalHostedZoneID
  Url:
    Value: !Sub "https://${Env}.${AWS::Region}.example/${Lb.DNSName}"
  EnvOut:
    Value: !Join ["-", [!Ref Env, !Select [1, [a, b]]]]
"#;

fn at(s: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(1_700_000_000 + s)
}

fn secs(t: SystemTime) -> u64 {
    t.duration_since(at(0)).unwrap().as_secs()
}

fn engine() -> CfnEngine {
    CfnEngine::new("123456789012", "eu-west-1")
}

fn params() -> Vec<ParameterInput> {
    vec![ParameterInput {
        key: "DbPassword".into(),
        value: ParameterValue::Value(SECRET.into()),
    }]
}

fn cs_req(
    kind: ChangeSetKind,
    name: &str,
    body: &str,
    params: Vec<ParameterInput>,
) -> ChangeSetRequest {
    ChangeSetRequest {
        stack_name: "app".into(),
        change_set_name: name.into(),
        kind,
        template_body: body.into(),
        parameters: params,
        tags: vec![Tag::new("owner", "ph")],
        capabilities: vec![],
        on_stack_failure: None,
        client_token: None,
        description: None,
    }
}

fn exec_req(cs: &str, token: &str, disable_rollback: bool) -> ExecuteRequest {
    ExecuteRequest {
        stack_name: "app".into(),
        change_set_name: cs.into(),
        disable_rollback: disable_rollback.then_some(true),
        client_request_token: token.into(),
    }
}

fn delete_req(stack: &str, token: &str) -> DeleteRequest {
    DeleteRequest {
        stack_name: stack.into(),
        retain_resources: vec![],
        client_request_token: token.into(),
    }
}

fn script(fail: Vec<ResourceFault>) -> FaultScript {
    FaultScript {
        fail,
        ..FaultScript::default()
    }
}

impl CfnEngine {
    /// Every event newer than `after`, oldest first, paged as the port pages.
    fn stack_events(
        &mut self,
        now: SystemTime,
        stack: &str,
        after: Option<&str>,
    ) -> CloudResult<Vec<StackEvent>> {
        let mut newest_first = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let page = self.stack_events_page(now, stack, token.as_deref())?;
            for e in page.events {
                if after == Some(e.event_id.as_str()) {
                    newest_first.reverse();
                    return Ok(newest_first);
                }
                newest_first.push(e);
            }
            match page.next {
                Some(t) => token = Some(t),
                None => break,
            }
        }
        newest_first.reverse();
        Ok(newest_first)
    }
}

fn update_req(
    body: &str,
    params: Vec<ParameterInput>,
    token: &str,
    disable_rollback: bool,
) -> UpdateRequest {
    UpdateRequest {
        stack_name: "app".into(),
        template_body: body.into(),
        parameters: params,
        capabilities: vec![],
        tags: vec![],
        disable_rollback,
        client_request_token: token.into(),
    }
}

/// Runs the simulation until nothing is in flight; returns the time.
fn settle(e: &mut CfnEngine) -> SystemTime {
    let mut last = e.now.unwrap_or(at(0));
    while let Some(t) = e.next_change_at() {
        assert!(t >= last, "time never goes back");
        e.advance(t);
        last = t;
    }
    last
}

fn status(e: &mut CfnEngine, now: SystemTime) -> StackStatus {
    e.describe_stack(now, "app").unwrap().unwrap().status
}

/// Creates the stack through a change set (executed at t=2) and lets it run.
fn create(
    e: &mut CfnEngine,
    body: &str,
    disable_rollback: bool,
    on_failure: Option<OnStackFailure>,
) -> SystemTime {
    let mut req = cs_req(ChangeSetKind::Create, "cs1", body, params());
    req.on_stack_failure = on_failure;
    e.create_change_set(at(0), &req).unwrap();
    e.execute_change_set(at(2), &exec_req("cs1", "tok-create", disable_rollback))
        .unwrap();
    settle(e)
}

fn events(e: &mut CfnEngine, now: SystemTime) -> Vec<StackEvent> {
    e.stack_events(now, "app", None).unwrap()
}

fn find<'a>(ev: &'a [StackEvent], logical: &str, status: &str) -> Vec<&'a StackEvent> {
    ev.iter()
        .filter(|x| x.logical_id == logical && x.status.as_str() == status)
        .collect()
}

fn fault(resource: &str, during: FaultPhase, times: FaultTimes) -> ResourceFault {
    ResourceFault {
        resource: resource.into(),
        reason: format!("{resource} broke (sandbox fault)"),
        times,
        during,
        code: None,
    }
}

fn stack_statuses(ev: &[StackEvent]) -> Vec<String> {
    ev.iter()
        .filter(|x| x.is_stack_event())
        .map(|x| x.status.as_str().to_string())
        .collect()
}

#[test]
fn create_runs_resources_in_dependency_order_and_in_parallel_to_create_complete() {
    let mut e = engine();
    let done = create(&mut e, TEMPLATE, false, None);
    assert_eq!(secs(done), 2 + 37);
    assert_eq!(status(&mut e, done), StackStatus::CreateComplete);
    let ev = events(&mut e, done);
    let start = |l: &str| secs(find(&ev, l, "CREATE_IN_PROGRESS")[0].timestamp);
    let end = |l: &str| secs(find(&ev, l, "CREATE_COMPLETE")[0].timestamp);
    for l in ["Vpc", "SubnetA", "SubnetB", "Sg", "Db", "Lb"] {
        assert_eq!(find(&ev, l, "CREATE_IN_PROGRESS").len(), 2, "{l}");
        assert_eq!(
            find(&ev, l, "CREATE_IN_PROGRESS")[1]
                .status_reason
                .as_deref(),
            Some("Resource creation Initiated")
        );
        assert_eq!(find(&ev, l, "CREATE_COMPLETE").len(), 1, "{l}");
    }
    let deps = [
        ("SubnetA", "Vpc"),
        ("SubnetB", "Vpc"),
        ("Sg", "Vpc"),
        ("Db", "SubnetA"),
        ("Db", "SubnetB"),
        ("Lb", "Sg"),
        ("Lb", "SubnetB"),
    ];
    for (a, b) in deps {
        assert!(start(a) >= end(b), "{a} started before {b} completed");
    }
    // Independent resources overlap.
    assert_eq!(start("SubnetA"), start("SubnetB"));
    assert_eq!(start("Db"), start("Lb"));
    let st = stack_statuses(&ev);
    assert_eq!(
        st,
        [
            "REVIEW_IN_PROGRESS",
            "CREATE_IN_PROGRESS",
            "CREATE_COMPLETE"
        ]
    );
    let vpc = find(&ev, "Vpc", "CREATE_COMPLETE")[0];
    assert!(vpc.physical_id.as_deref().unwrap().starts_with("vpc-"));
    assert_eq!(vpc.resource_type, "AWS::EC2::VPC");
    let ids: BTreeSet<&str> = ev.iter().map(|x| x.event_id.as_str()).collect();
    assert_eq!(ids.len(), ev.len(), "event ids are unique");
    let live = e.live_resources(done, "app").unwrap();
    assert_eq!(live.len(), 6);
    assert!(live.iter().all(|r| r.status == "CREATE_COMPLETE"));
}

#[test]
fn depends_on_and_sub_references_alone_order_creation() {
    // Log is needed by Topic only through DependsOn, and by Param only
    // through a ${Log} inside Fn::Sub; neither refers to it any other way.
    let body = r#"
Resources:
  Log:
    Type: AWS::Logs::LogGroup
    Metadata: {SandboxDurationSeconds: 30}
  Topic:
    Type: AWS::SNS::Topic
    DependsOn: Log
    Metadata: {SandboxDurationSeconds: 5}
  Param:
    Type: AWS::SSM::Parameter
    Metadata: {SandboxDurationSeconds: 5}
    Properties:
      Type: String
      Value: !Sub "logs go to ${Log}"
  Free:
    Type: AWS::SNS::Topic
    Metadata: {SandboxDurationSeconds: 5}
"#;
    let mut e = engine();
    let mut req = cs_req(ChangeSetKind::Create, "cs1", body, vec![]);
    req.on_stack_failure = None;
    e.create_change_set(at(0), &req).unwrap();
    e.execute_change_set(at(2), &exec_req("cs1", "tok", true))
        .unwrap();
    let done = settle(&mut e);
    assert_eq!(status(&mut e, done), StackStatus::CreateComplete);
    let ev = events(&mut e, done);
    let start = |l: &str| secs(find(&ev, l, "CREATE_IN_PROGRESS")[0].timestamp);
    let end = |l: &str| secs(find(&ev, l, "CREATE_COMPLETE")[0].timestamp);
    assert!(start("Topic") >= end("Log"), "DependsOn was not waited for");
    assert!(
        start("Param") >= end("Log"),
        "the Fn::Sub reference was not waited for"
    );
    assert_eq!(
        start("Free"),
        start("Log"),
        "an independent resource waited"
    );
}

#[test]
fn outputs_are_resolved_and_noecho_values_are_masked_everywhere() {
    let mut e = engine();
    let done = create(&mut e, TEMPLATE, false, None);
    let s = e.describe_stack(done, "app").unwrap().unwrap();
    let out = |k: &str| s.outputs.iter().find(|o| o.key == k).unwrap().value.clone();
    assert!(out("VpcId").starts_with("vpc-"));
    let dns = out("LbDns");
    assert!(
        dns.starts_with("app-Lb-") && dns.ends_with(".eu-west-1.elb.amazonaws.com"),
        "{dns}"
    );
    assert_eq!(out("LbZone"), "Z32O12XQLNTSW2");
    assert_eq!(out("Url"), format!("https://prod.eu-west-1.example/{dns}"));
    assert_eq!(out("EnvOut"), "prod-b");
    let pw = s.parameters.iter().find(|p| p.key == "DbPassword").unwrap();
    assert_eq!(pw.value, "****");
    assert_eq!(
        s.parameters.iter().find(|p| p.key == "Env").unwrap().value,
        "prod"
    );
    let ev = events(&mut e, done);
    assert!(!format!("{ev:?}").contains(SECRET));
    let json = serde_json::to_string(&e).unwrap();
    assert!(!json.contains(SECRET), "the secret is not persisted");
    assert!(!format!("{e:?}").contains(SECRET), "nor shown by Debug");
    let live = e.live_resources(done, "app").unwrap();
    assert!(!format!("{live:?}").contains(SECRET));
    // The values can be carried over separately.
    let carried = e.noecho_values();
    assert_eq!(carried.len(), 1);
    assert_eq!(carried[0].1.expose(), SECRET);
}

#[test]
fn use_previous_keeps_a_noecho_value_across_a_reload_without_revealing_it() {
    let mut e = engine();
    let done = create(&mut e, TEMPLATE, false, None);
    let mut e2: CfnEngine = serde_json::from_str(&serde_json::to_string(&e).unwrap()).unwrap();
    let mut req = cs_req(
        ChangeSetKind::Update,
        "cs2",
        TEMPLATE,
        vec![
            ParameterInput {
                key: "DbPassword".into(),
                value: ParameterValue::UsePrevious,
            },
            ParameterInput {
                key: "Env".into(),
                value: ParameterValue::Value("dev".into()),
            },
        ],
    );
    e2.create_change_set(done, &req).unwrap();
    let cs = e2
        .describe_change_set(done + Duration::from_secs(5), "app", "cs2")
        .unwrap();
    // Only the security group (whose description uses Env) changes.
    let names: Vec<&str> = cs.changes.iter().map(|c| c.logical_id.as_str()).collect();
    assert_eq!(names, ["Sg"]);
    // The same password again is no change either.
    req.change_set_name = "cs3".into();
    req.parameters = params();
    e2.create_change_set(done, &req).unwrap();
    let cs = e2
        .describe_change_set(done + Duration::from_secs(5), "app", "cs3")
        .unwrap();
    assert_eq!(cs.status, ChangeSetStatus::Failed, "{:?}", cs.changes);
    // A different password is a change to the database only.
    req.change_set_name = "cs4".into();
    req.parameters = vec![ParameterInput {
        key: "DbPassword".into(),
        value: ParameterValue::Value("another-Secret-9".into()),
    }];
    e2.create_change_set(done, &req).unwrap();
    let cs = e2
        .describe_change_set(done + Duration::from_secs(5), "app", "cs4")
        .unwrap();
    let names: Vec<&str> = cs.changes.iter().map(|c| c.logical_id.as_str()).collect();
    assert_eq!(names, ["Db"]);
    assert_eq!(cs.changes[0].changed_properties, ["MasterUserPassword"]);
    assert!(
        !serde_json::to_string(&e2)
            .unwrap()
            .contains("another-Secret-9")
    );
}

#[test]
fn change_set_preview_shows_add_modify_remove_and_replacement() {
    let mut e = engine();
    let done = create(&mut e, TEMPLATE, false, None);
    let changed = TEMPLATE
        .replace("CidrBlock: 10.0.2.0/24", "CidrBlock: 10.0.3.0/24")
        .replace(
            "      Engine: postgres\n",
            "      Engine: postgres\n      AllocatedStorage: 50\n      Tags: [{Key: a, Value: b}]\n",
        )
        .replace(
            "  Lb:\n",
            "  Logs:\n    Type: AWS::Logs::LogGroup\n  Lb:\n",
        )
        .replace("      SecurityGroups: [!Ref Sg]\n", "")
        .replace(
            "  Sg:\n    Type: AWS::EC2::SecurityGroup\n    Metadata: {SandboxDurationSeconds: 3}\n    Properties:\n      VpcId: !GetAtt Vpc.VpcId\n      GroupDescription: !Sub \"${AWS::StackName} ${Env}\"\n",
            "",
        );
    e.create_change_set(
        done,
        &cs_req(ChangeSetKind::Update, "cs2", &changed, params()),
    )
    .unwrap();
    let pending = e.describe_change_set(done, "app", "cs2").unwrap();
    assert_eq!(pending.status, ChangeSetStatus::CreatePending);
    let working = e
        .describe_change_set(done + Duration::from_secs(1), "app", "cs2")
        .unwrap();
    assert_eq!(working.status, ChangeSetStatus::CreateInProgress);
    assert!(
        working.changes.is_empty(),
        "no preview before it is complete"
    );
    let cs = e
        .describe_change_set(done + Duration::from_secs(2), "app", "cs2")
        .unwrap();
    assert_eq!(cs.status, ChangeSetStatus::CreateComplete);
    assert_eq!(cs.execution_status, ExecutionStatus::Available);
    let row = |l: &str| {
        cs.changes
            .iter()
            .find(|c| c.logical_id == l)
            .unwrap()
            .clone()
    };
    assert_eq!(row("Logs").action, ResourceAction::Add);
    assert_eq!(row("Sg").action, ResourceAction::Remove);
    let sub = row("SubnetB");
    assert_eq!(sub.action, ResourceAction::Modify);
    assert_eq!(sub.replacement, Some(Replacement::True));
    assert_eq!(sub.changed_properties, ["CidrBlock"]);
    let db = row("Db");
    assert_eq!(db.replacement, Some(Replacement::False));
    assert_eq!(db.scope, ["Properties", "Tags"]);
    assert_eq!(db.changed_properties, ["AllocatedStorage", "Tags"]);
    assert_eq!(row("Lb").changed_properties, ["SecurityGroups"]);
    assert!(cs.changes.iter().all(|c| c.logical_id != "Vpc"));
    // Executing runs it; the replaced subnet's old physical id goes away in cleanup.
    let old_subnet = e
        .live_resources(done, "app")
        .unwrap()
        .into_iter()
        .find(|r| r.logical_id == "SubnetB")
        .unwrap()
        .physical_id
        .unwrap();
    e.execute_change_set(
        done + Duration::from_secs(3),
        &exec_req("cs2", "tok-up", false),
    )
    .unwrap();
    let end = settle(&mut e);
    assert_eq!(status(&mut e, end), StackStatus::UpdateComplete);
    let ev = events(&mut e, end);
    let st = stack_statuses(&ev);
    assert_eq!(
        &st[st.len() - 3..],
        [
            "UPDATE_IN_PROGRESS",
            "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS",
            "UPDATE_COMPLETE"
        ]
    );
    assert!(ev.iter().any(|x| x.logical_id == "SubnetB"
        && x.status.as_str() == "DELETE_COMPLETE"
        && x.physical_id.as_deref() == Some(old_subnet.as_str())));
    assert_eq!(find(&ev, "Sg", "DELETE_COMPLETE").len(), 1);
    let live = e.live_resources(end, "app").unwrap();
    assert!(live.iter().all(|r| r.logical_id != "Sg"));
    assert!(live.iter().any(|r| r.logical_id == "Logs"));
    let new_subnet = live.iter().find(|r| r.logical_id == "SubnetB").unwrap();
    assert_ne!(new_subnet.physical_id.as_deref(), Some(old_subnet.as_str()));
}

#[test]
fn change_set_without_changes_fails_with_the_aws_reason() {
    let mut e = engine();
    let done = create(&mut e, TEMPLATE, false, None);
    e.create_change_set(
        done,
        &cs_req(ChangeSetKind::Update, "same", TEMPLATE, params()),
    )
    .unwrap();
    let cs = e
        .describe_change_set(done + Duration::from_secs(3), "app", "same")
        .unwrap();
    assert_eq!(cs.status, ChangeSetStatus::Failed);
    assert_eq!(cs.execution_status, ExecutionStatus::Unavailable);
    assert_eq!(
        cs.status_reason.as_deref(),
        Some(
            "The submitted information didn't contain changes. Submit different information to \
             create a change set."
        )
    );
    let err = e
        .execute_change_set(done + Duration::from_secs(4), &exec_req("same", "t", false))
        .unwrap_err();
    assert!(err.to_string().contains("status of [FAILED]"), "{err}");

    // A template with a macro says it the other way CloudFormation does.
    let with_macro = format!("Transform: AWS::Serverless-2016-10-31\n{TEMPLATE}");
    let t = done + Duration::from_secs(10);
    e.create_change_set(
        t,
        &cs_req(ChangeSetKind::Update, "macro", &with_macro, params()),
    )
    .unwrap();
    let cs = e
        .describe_change_set(t + Duration::from_secs(3), "app", "macro")
        .unwrap();
    assert_eq!(cs.status, ChangeSetStatus::Failed);
    assert_eq!(
        cs.status_reason.as_deref(),
        Some("No updates are to be performed.")
    );
}

#[test]
fn failed_resource_leaves_stack_create_failed_when_rollback_disabled_and_update_retry_completes() {
    let mut e = engine();
    e.set_faults(&script(vec![fault(
        "Db",
        FaultPhase::Create,
        FaultTimes::Once,
    )]));
    let done = create(&mut e, TEMPLATE, true, None);
    let s = e.describe_stack(done, "app").unwrap().unwrap();
    assert_eq!(s.status, StackStatus::CreateFailed);
    assert_eq!(
        s.status_reason.as_deref(),
        Some("The following resource(s) failed to create: [Db]. ")
    );
    let ev = events(&mut e, done);
    let reason = find(&ev, "Db", "CREATE_FAILED")[0]
        .status_reason
        .clone()
        .unwrap();
    // Worded as CloudFormation reports a resource handler's failure.
    assert!(
        reason.starts_with(
            "Resource handler returned message: \"Db broke (sandbox fault)\" (RequestToken: "
        ) && reason.ends_with(", HandlerErrorCode: GeneralServiceException)"),
        "{reason}"
    );
    // Lb (17-25) finished before Db failed (at 37) and stays; nothing is deleted.
    let live = e.live_resources(done, "app").unwrap();
    let st = |l: &str| {
        live.iter()
            .find(|r| r.logical_id == l)
            .unwrap()
            .status
            .clone()
    };
    assert_eq!(st("Vpc"), "CREATE_COMPLETE");
    assert_eq!(st("Lb"), "CREATE_COMPLETE");
    assert_eq!(st("Db"), "CREATE_FAILED");
    assert!(find(&ev, "Vpc", "DELETE_IN_PROGRESS").is_empty());
    let vpc_id = find(&ev, "Vpc", "CREATE_COMPLETE")[0].physical_id.clone();

    e.update_stack(done, &update_req(TEMPLATE, params(), "tok-retry", true))
        .unwrap();
    let end = settle(&mut e);
    assert_eq!(status(&mut e, end), StackStatus::UpdateComplete);
    assert_eq!(secs(end) - secs(done), 20, "only Db runs again");
    let ev = e
        .stack_events(end, "app", Some(&ev.last().unwrap().event_id))
        .unwrap();
    assert_eq!(find(&ev, "Db", "CREATE_COMPLETE").len(), 1);
    assert!(find(&ev, "Vpc", "CREATE_IN_PROGRESS").is_empty());
    assert!(
        ev.iter()
            .all(|x| x.client_request_token.as_deref() == Some("tok-retry"))
    );
    let live = e.live_resources(end, "app").unwrap();
    let vpc = live.iter().find(|r| r.logical_id == "Vpc").unwrap();
    assert_eq!(vpc.physical_id, vpc_id);
    assert!(live.iter().all(|r| r.status.ends_with("_COMPLETE")));
}

#[test]
fn an_intrinsic_that_fails_on_a_live_attribute_fails_its_resource_like_cloudformation() {
    // Splitting the load balancer's DNS name on a separator it does not
    // contain leaves one element: Fn::Select 1 can only fail at run time.
    let body = TEMPLATE.replace(
        "Outputs:",
        "  Alias:\n    Type: AWS::SSM::Parameter\n    Properties:\n      Type: String\n      \
         Value: !Select [1, !Split [\"::\", !GetAtt Lb.DNSName]]\nOutputs:",
    );
    let mut e = engine();
    let done = create(&mut e, &body, true, None);
    assert_eq!(status(&mut e, done), StackStatus::CreateFailed);
    let ev = events(&mut e, done);
    let failed = find(&ev, "Alias", "CREATE_FAILED");
    let reason = failed[0].status_reason.as_deref().unwrap_or_default();
    assert!(
        reason.starts_with("Template error:") && reason.contains("Fn::Select"),
        "{reason}"
    );
    // It fails as it starts, not after its creation time has passed.
    assert_eq!(
        failed[0].timestamp,
        find(&ev, "Alias", "CREATE_IN_PROGRESS")[0].timestamp
    );
    // What it depended on was created; only the broken resource failed.
    assert_eq!(find(&ev, "Lb", "CREATE_COMPLETE").len(), 1);
}

#[test]
fn with_rollback_disabled_a_failure_stops_only_what_depends_on_it() {
    let mut e = engine();
    e.set_faults(&script(vec![fault(
        "SubnetA",
        FaultPhase::Create,
        FaultTimes::Once,
    )]));
    let done = create(&mut e, TEMPLATE, true, None);
    let ev = events(&mut e, done);
    // SubnetA fails at 15 (10 + 5). SubnetB (10-17) is independent of it and
    // finishes after the failure; Sg (10-13) too. Db and Lb need SubnetA and
    // never start.
    let b = find(&ev, "SubnetB", "CREATE_COMPLETE");
    assert_eq!(secs(b[0].timestamp), 2 + 17, "{ev:#?}");
    assert!(secs(find(&ev, "SubnetA", "CREATE_FAILED")[0].timestamp) < secs(b[0].timestamp));
    assert_eq!(find(&ev, "Sg", "CREATE_COMPLETE").len(), 1);
    assert!(find(&ev, "Db", "CREATE_IN_PROGRESS").is_empty());
    assert!(find(&ev, "Lb", "CREATE_IN_PROGRESS").is_empty());
    assert!(
        ev.iter()
            .all(|x| x.status_reason.as_deref() != Some("Resource creation cancelled"))
    );
    let stack = e.describe_stack(done, "app").unwrap().unwrap();
    assert_eq!(stack.status, StackStatus::CreateFailed);
    assert_eq!(
        secs(done),
        2 + 17,
        "CREATE_FAILED only once nothing is in flight"
    );
    assert_eq!(
        stack.status_reason.as_deref(),
        Some("The following resource(s) failed to create: [SubnetA]. ")
    );
    // What succeeded stays, and the failed resource left nothing behind.
    let failed = find(&ev, "SubnetA", "CREATE_FAILED");
    assert_eq!(failed[0].physical_id.as_deref(), Some(""));
    let live = e.live_resources(done, "app").unwrap();
    let subnet_b = live.iter().find(|r| r.logical_id == "SubnetB").unwrap();
    assert_eq!(subnet_b.status, "CREATE_COMPLETE");
}

#[test]
fn with_rollback_on_a_failure_cancels_what_is_in_flight_and_lists_it() {
    let mut e = engine();
    e.set_faults(&script(vec![fault(
        "SubnetA",
        FaultPhase::Create,
        FaultTimes::Once,
    )]));
    let done = create(&mut e, TEMPLATE, false, None);
    let ev = events(&mut e, done);
    let b = find(&ev, "SubnetB", "CREATE_FAILED");
    assert_eq!(
        b[0].status_reason.as_deref(),
        Some("Resource creation cancelled")
    );
    assert_eq!(b[0].physical_id.as_deref(), Some(""));
    assert_eq!(secs(b[0].timestamp), 2 + 15);
    let rb = ev
        .iter()
        .find(|x| x.status.as_str() == "ROLLBACK_IN_PROGRESS")
        .unwrap();
    assert_eq!(
        rb.status_reason.as_deref(),
        Some(
            "The following resource(s) failed to create: [SubnetA, SubnetB]. Rollback requested \
             by user."
        )
    );
    assert_eq!(status(&mut e, done), StackStatus::RollbackComplete);
    // Never created, so deleted at once: no DELETE_IN_PROGRESS for them.
    assert!(find(&ev, "SubnetB", "DELETE_IN_PROGRESS").is_empty());
    assert_eq!(find(&ev, "SubnetB", "DELETE_COMPLETE").len(), 1);
}

#[test]
fn once_fault_fails_only_the_first_attempt_and_always_fault_every_attempt() {
    let mut e = engine();
    e.set_faults(&script(vec![
        fault("Db", FaultPhase::Create, FaultTimes::Always),
        fault("Lb", FaultPhase::Create, FaultTimes::Once),
    ]));
    let done = create(&mut e, TEMPLATE, true, None);
    assert_eq!(status(&mut e, done), StackStatus::CreateFailed);
    e.update_stack(done, &update_req(TEMPLATE, params(), "retry-1", true))
        .unwrap();
    let end = settle(&mut e);
    assert_eq!(status(&mut e, end), StackStatus::UpdateFailed);
    let live = e.live_resources(end, "app").unwrap();
    let st = |l: &str| {
        live.iter()
            .find(|r| r.logical_id == l)
            .unwrap()
            .status
            .clone()
    };
    assert_eq!(
        st("Lb"),
        "CREATE_COMPLETE",
        "the Once fault does not fire again"
    );
    assert_eq!(st("Db"), "CREATE_FAILED", "the Always fault fires again");
    // The fired Once fault is remembered across a reload.
    let mut e2: CfnEngine = serde_json::from_str(&serde_json::to_string(&e).unwrap()).unwrap();
    e2.set_faults(&script(vec![fault(
        "Lb",
        FaultPhase::Create,
        FaultTimes::Once,
    )]));
    e2.update_stack(end, &update_req(TEMPLATE, params(), "retry-2", true))
        .unwrap();
    let end2 = settle(&mut e2);
    assert_eq!(status(&mut e2, end2), StackStatus::UpdateComplete);
}

#[test]
fn failed_create_with_rollback_ends_rollback_complete_then_only_delete_works() {
    let mut e = engine();
    e.set_faults(&script(vec![fault(
        "Db",
        FaultPhase::Create,
        FaultTimes::Once,
    )]));
    let done = create(&mut e, TEMPLATE, false, None);
    let s = e.describe_stack(done, "app").unwrap().unwrap();
    assert_eq!(s.status, StackStatus::RollbackComplete);
    let ev = events(&mut e, done);
    assert_eq!(
        stack_statuses(&ev),
        [
            "REVIEW_IN_PROGRESS",
            "CREATE_IN_PROGRESS",
            "ROLLBACK_IN_PROGRESS",
            "ROLLBACK_COMPLETE"
        ]
    );
    let rb = ev
        .iter()
        .find(|x| x.status.as_str() == "ROLLBACK_IN_PROGRESS")
        .unwrap();
    assert_eq!(
        rb.status_reason.as_deref(),
        Some("The following resource(s) failed to create: [Db]. Rollback requested by user.")
    );
    // Deleted in reverse order: subnets after Db and Lb, Vpc last.
    let del = |l: &str| secs(find(&ev, l, "DELETE_COMPLETE")[0].timestamp);
    let del_start = |l: &str| secs(find(&ev, l, "DELETE_IN_PROGRESS")[0].timestamp);
    assert!(del_start("SubnetA") >= del("Db") && del_start("SubnetA") >= del("Lb"));
    assert!(del_start("Vpc") >= del("SubnetA") && del_start("Vpc") >= del("Sg"));
    assert!(e.live_resources(done, "app").unwrap().is_empty());

    let err = e
        .create_change_set(
            done,
            &cs_req(ChangeSetKind::Update, "again", TEMPLATE, params()),
        )
        .unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.contains("ROLLBACK_COMPLETE") && msg.contains("Delete the stack"),
        "{msg}"
    );
    let err = e
        .create_change_set(
            done,
            &cs_req(ChangeSetKind::Create, "again", TEMPLATE, params()),
        )
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("already exists and cannot be created again"),
        "{err}"
    );

    e.delete_stack(done, &delete_req("app", "tok-del")).unwrap();
    let gone = settle(&mut e);
    assert!(e.describe_stack(gone, "app").unwrap().is_none());
    assert!(e.list_stacks(gone).unwrap().is_empty());
    // Created again from scratch under the same name.
    e.create_change_set(
        gone,
        &cs_req(ChangeSetKind::Create, "cs1", TEMPLATE, params()),
    )
    .unwrap();
    assert_eq!(status(&mut e, gone), StackStatus::ReviewInProgress);
}

#[test]
fn on_stack_failure_delete_goes_from_the_failed_create_straight_to_deleting() {
    let mut e = engine();
    e.set_faults(&script(vec![fault(
        "Sg",
        FaultPhase::Create,
        FaultTimes::Once,
    )]));
    let mut req = cs_req(ChangeSetKind::Create, "cs1", TEMPLATE, params());
    req.on_stack_failure = Some(OnStackFailure::Delete);
    let r = e.create_change_set(at(0), &req).unwrap();
    e.execute_change_set(at(2), &exec_req("cs1", "tok", false))
        .unwrap();
    let done = settle(&mut e);
    assert!(e.describe_stack(done, "app").unwrap().is_none());
    let ev = e.stack_events(done, &r.stack_id, None).unwrap();
    assert_eq!(
        &stack_statuses(&ev)[2..],
        ["DELETE_IN_PROGRESS", "DELETE_COMPLETE"]
    );
    let deleting = ev
        .iter()
        .find(|x| x.is_stack_event() && x.status.as_str() == "DELETE_IN_PROGRESS")
        .unwrap();
    assert!(
        deleting.status_reason.as_deref().is_some_and(|r| r
            .starts_with("The following resource(s) failed to create: [Sg")
            && r.ends_with("Delete requested by user.")),
        "{deleting:?}"
    );
    // The call that set OnStackFailure may not also say DisableRollback.
    let mut e = engine();
    e.create_change_set(at(0), &req).unwrap();
    let err = e
        .execute_change_set(at(2), &exec_req("cs1", "tok", true))
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("Either DisableRollback or OnStackFailure"),
        "{err}"
    );
}

#[test]
fn on_stack_failure_delete_can_end_delete_failed() {
    let mut e = engine();
    e.set_faults(&script(vec![
        fault("Sg", FaultPhase::Create, FaultTimes::Once),
        fault("Vpc", FaultPhase::Delete, FaultTimes::Once),
    ]));
    let mut req = cs_req(ChangeSetKind::Create, "cs1", TEMPLATE, params());
    req.on_stack_failure = Some(OnStackFailure::Delete);
    e.create_change_set(at(0), &req).unwrap();
    e.execute_change_set(at(2), &exec_req("cs1", "tok", false))
        .unwrap();
    let done = settle(&mut e);
    assert_eq!(status(&mut e, done), StackStatus::DeleteFailed);
}

#[test]
fn a_create_failed_by_on_stack_failure_do_nothing_cannot_be_updated() {
    let mut e = engine();
    e.set_faults(&script(vec![fault(
        "Db",
        FaultPhase::Create,
        FaultTimes::Once,
    )]));
    let done = create(&mut e, TEMPLATE, false, Some(OnStackFailure::DoNothing));
    assert_eq!(status(&mut e, done), StackStatus::CreateFailed);
    let err = e
        .update_stack(done, &update_req(TEMPLATE, params(), "retry", true))
        .unwrap_err();
    assert!(
        err.to_string().contains("[on-failure: DO_NOTHING]"),
        "{err}"
    );
}

fn updated_template() -> String {
    TEMPLATE
        .replace(
            "      Engine: postgres\n",
            "      Engine: postgres\n      AllocatedStorage: 50\n",
        )
        .replace(
            "      SecurityGroups: [!Ref Sg]\n",
            "      SecurityGroups: [!Ref Sg]\n      IpAddressType: dualstack\n",
        )
}

#[test]
fn update_failure_rolls_back_to_update_rollback_complete() {
    let mut e = engine();
    let done = create(&mut e, TEMPLATE, false, None);
    e.set_faults(&script(vec![fault(
        "Db",
        FaultPhase::Update,
        FaultTimes::Once,
    )]));
    e.update_stack(
        done,
        &update_req(&updated_template(), params(), "up", false),
    )
    .unwrap();
    let end = settle(&mut e);
    let s = e.describe_stack(end, "app").unwrap().unwrap();
    assert_eq!(s.status, StackStatus::UpdateRollbackComplete);
    let ev = events(&mut e, end);
    let st = stack_statuses(&ev);
    assert_eq!(
        &st[st.len() - 4..],
        [
            "UPDATE_IN_PROGRESS",
            "UPDATE_ROLLBACK_IN_PROGRESS",
            "UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS",
            "UPDATE_ROLLBACK_COMPLETE"
        ]
    );
    // Lb was updated and is put back.
    assert_eq!(find(&ev, "Lb", "UPDATE_COMPLETE").len(), 2);
    // The stack is usable again: the same update now succeeds.
    e.update_stack(
        end,
        &update_req(&updated_template(), params(), "up2", false),
    )
    .unwrap();
    let end = settle(&mut e);
    assert_eq!(status(&mut e, end), StackStatus::UpdateComplete);
    assert!(!s.outputs.is_empty(), "outputs survive the rollback");
}

#[test]
fn failed_rollback_ends_update_rollback_failed_and_continue_with_skip_completes() {
    let mut e = engine();
    let done = create(&mut e, TEMPLATE, false, None);
    e.set_faults(&script(vec![
        fault("Db", FaultPhase::Update, FaultTimes::Once),
        fault("Lb", FaultPhase::Rollback, FaultTimes::Always),
    ]));
    e.update_stack(
        done,
        &update_req(&updated_template(), params(), "up", false),
    )
    .unwrap();
    let end = settle(&mut e);
    let s = e.describe_stack(end, "app").unwrap().unwrap();
    assert_eq!(s.status, StackStatus::UpdateRollbackFailed);
    assert_eq!(
        s.status_reason.as_deref(),
        Some("The following resource(s) failed to update: [Lb]. ")
    );
    let err = e
        .create_change_set(end, &cs_req(ChangeSetKind::Update, "x", TEMPLATE, params()))
        .unwrap_err();
    assert!(err.to_string().contains("ContinueUpdateRollback"), "{err}");
    // Continuing without skipping fails again (the fault is Always).
    e.continue_update_rollback(end, "app", &[], "cont-1")
        .unwrap();
    let end = settle(&mut e);
    assert_eq!(status(&mut e, end), StackStatus::UpdateRollbackFailed);
    // Skipping something that did not fail is refused.
    assert!(
        e.continue_update_rollback(end, "app", &["Vpc".into()], "cont-x")
            .is_err()
    );
    e.continue_update_rollback(end, "app", &["Lb".into()], "cont-2")
        .unwrap();
    let end = settle(&mut e);
    assert_eq!(status(&mut e, end), StackStatus::UpdateRollbackComplete);
    let ev = events(&mut e, end);
    assert!(ev.iter().any(|x| x.logical_id == "Lb"
        && x.status_reason.as_deref() == Some("Resource skipped during UPDATE_ROLLBACK")));
    let st = stack_statuses(&ev);
    assert_eq!(st.last().unwrap(), "UPDATE_ROLLBACK_COMPLETE");
}

#[test]
fn update_failure_with_rollback_disabled_ends_update_failed_and_rollback_stack_restores() {
    let mut e = engine();
    let done = create(&mut e, TEMPLATE, false, None);
    e.set_faults(&script(vec![fault(
        "Db",
        FaultPhase::Update,
        FaultTimes::Once,
    )]));
    e.update_stack(done, &update_req(&updated_template(), params(), "up", true))
        .unwrap();
    let end = settle(&mut e);
    let s = e.describe_stack(end, "app").unwrap().unwrap();
    assert_eq!(s.status, StackStatus::UpdateFailed);
    assert_eq!(
        s.status_reason.as_deref(),
        Some("The following resource(s) failed to update: [Db]. ")
    );
    e.rollback_stack(end, "app", "rb").unwrap();
    let end = settle(&mut e);
    assert_eq!(status(&mut e, end), StackStatus::UpdateRollbackComplete);
}

#[test]
fn rollback_stack_from_create_failed_deletes_everything_to_rollback_complete() {
    let mut e = engine();
    e.set_faults(&script(vec![fault(
        "Db",
        FaultPhase::Create,
        FaultTimes::Once,
    )]));
    let done = create(&mut e, TEMPLATE, true, None);
    assert_eq!(status(&mut e, done), StackStatus::CreateFailed);
    e.rollback_stack(done, "app", "rb").unwrap();
    assert_eq!(status(&mut e, done), StackStatus::RollbackInProgress);
    let end = settle(&mut e);
    assert_eq!(status(&mut e, end), StackStatus::RollbackComplete);
    assert!(e.live_resources(end, "app").unwrap().is_empty());
}

#[test]
fn an_update_that_replaces_with_rollback_disabled_is_accepted_then_fails_the_resource() {
    let mut e = engine();
    let done = create(&mut e, TEMPLATE, false, None);
    let before = e.live_resources(done, "app").unwrap();
    let old = |l: &str| {
        before
            .iter()
            .find(|r| r.logical_id == l)
            .unwrap()
            .physical_id
            .clone()
    };
    let replacing = TEMPLATE
        .replace("CidrBlock: 10.0.2.0/24", "CidrBlock: 10.0.9.0/24")
        .replace(
            "Engine: postgres\n",
            "Engine: postgres\n      AllocatedStorage: 50\n",
        );
    e.update_stack(done, &update_req(&replacing, params(), "up", true))
        .unwrap();
    let end = settle(&mut e);
    assert_eq!(status(&mut e, end), StackStatus::UpdateFailed);
    let ev = events(&mut e, end);
    let failed = find(&ev, "SubnetB", "UPDATE_FAILED");
    assert_eq!(
        failed[0].status_reason.as_deref(),
        Some("Replacement type updates not supported on stack with disable-rollback.")
    );
    assert_eq!(
        failed[0].physical_id,
        old("SubnetB"),
        "the old subnet stays"
    );
    // What does not depend on it (Sg, untouched) stays as it was, and the
    // subnet is still the one it was.
    let after = e.live_resources(end, "app").unwrap();
    let subnet = after.iter().find(|r| r.logical_id == "SubnetB").unwrap();
    assert_eq!(subnet.physical_id, old("SubnetB"));
    assert_eq!(
        e.describe_stack(end, "app")
            .unwrap()
            .unwrap()
            .status_reason
            .as_deref(),
        Some("The following resource(s) failed to update: [SubnetB]. ")
    );
}

#[test]
fn delete_completes_and_a_delete_fault_leaves_delete_failed() {
    let mut e = engine();
    let done = create(&mut e, TEMPLATE, false, None);
    let id = e.describe_stack(done, "app").unwrap().unwrap().id;
    e.set_faults(&script(vec![fault(
        "Vpc",
        FaultPhase::Delete,
        FaultTimes::Once,
    )]));
    e.delete_stack(done, &delete_req("app", "del-1")).unwrap();
    let end = settle(&mut e);
    let s = e.describe_stack(end, "app").unwrap().unwrap();
    assert_eq!(s.status, StackStatus::DeleteFailed);
    assert_eq!(
        s.status_reason.as_deref(),
        Some("The following resource(s) failed to delete: [Vpc]. ")
    );
    let live = e.live_resources(end, "app").unwrap();
    assert_eq!(live.len(), 1);
    assert_eq!(live[0].status, "DELETE_FAILED");
    e.delete_stack(end, &delete_req("app", "del-2")).unwrap();
    let end = settle(&mut e);
    assert!(e.describe_stack(end, "app").unwrap().is_none());
    assert!(e.list_stacks(end).unwrap().is_empty());
    // By id it is gone too, as the port promises; its events stay.
    assert!(e.describe_stack(end, &id).unwrap().is_none());
    let ev = e.stack_events(end, &id, None).unwrap();
    assert_eq!(ev.last().unwrap().status.as_str(), "DELETE_COMPLETE");
    assert!(matches!(
        e.stack_events(end, "app", None),
        Err(CloudError::NotFound { .. })
    ));
    // A deleted stack cannot be updated through its id.
    let mut up = update_req(TEMPLATE, params(), "late", false);
    up.stack_name = id.clone();
    let err = e.update_stack(end, &up).unwrap_err();
    assert!(err.to_string().contains("does not exist"), "{err}");
}

#[test]
fn a_delete_failed_stack_goes_when_what_cannot_be_deleted_is_retained() {
    let mut e = engine();
    let done = create(&mut e, TEMPLATE, false, None);
    // RetainResources is for a DELETE_FAILED stack only.
    let mut req = delete_req("app", "del-early");
    req.retain_resources = vec!["Vpc".into()];
    let err = e.delete_stack(done, &req).unwrap_err();
    assert!(
        err.to_string()
            .contains("only when the stack is in the DELETE_FAILED state"),
        "{err}"
    );
    e.set_faults(&script(vec![fault(
        "Vpc",
        FaultPhase::Delete,
        FaultTimes::Always,
    )]));
    e.delete_stack(done, &delete_req("app", "del-1")).unwrap();
    let failed = settle(&mut e);
    assert_eq!(status(&mut e, failed), StackStatus::DeleteFailed);
    // Retrying as is fails again; retaining the VPC lets the stack go.
    let mut req = delete_req("app", "del-2");
    req.retain_resources = vec!["Sg".into()];
    let err = e.delete_stack(failed, &req).unwrap_err();
    assert!(
        err.to_string()
            .contains("resources to retain must be in a valid state"),
        "{err}"
    );
    req.retain_resources = vec!["Vpc".into()];
    e.delete_stack(failed, &req).unwrap();
    let end = settle(&mut e);
    assert!(e.describe_stack(end, "app").unwrap().is_none());
    let id = e.stacks[0].id.clone();
    let ev = e.stack_events(end, &id, None).unwrap();
    assert_eq!(find(&ev, "Vpc", "DELETE_SKIPPED").len(), 1);
}

#[test]
fn termination_protection_refuses_delete_until_disabled() {
    let mut e = engine();
    let done = create(&mut e, TEMPLATE, false, None);
    e.set_termination_protection(done, "app", true).unwrap();
    assert!(
        e.describe_stack(done, "app")
            .unwrap()
            .unwrap()
            .termination_protection
    );
    let err = e.delete_stack(done, &delete_req("app", "d")).unwrap_err();
    assert!(
        err.to_string()
            .contains("Stack [app] cannot be deleted while TerminationProtection is enabled"),
        "{err}"
    );
    assert_eq!(status(&mut e, done), StackStatus::CreateComplete);
    e.set_termination_protection(done, "app", false).unwrap();
    e.delete_stack(done, &delete_req("app", "d2")).unwrap();
    assert_eq!(status(&mut e, done), StackStatus::DeleteInProgress);
}

#[test]
fn operations_on_a_stack_in_progress_are_refused() {
    let mut e = engine();
    e.create_change_set(
        at(0),
        &cs_req(ChangeSetKind::Create, "cs1", TEMPLATE, params()),
    )
    .unwrap();
    e.execute_change_set(at(2), &exec_req("cs1", "tok", false))
        .unwrap();
    let now = at(5);
    assert_eq!(status(&mut e, now), StackStatus::CreateInProgress);
    let id = e.describe_stack(now, "app").unwrap().unwrap().id;
    let err = e
        .update_stack(now, &update_req(TEMPLATE, params(), "u", false))
        .unwrap_err();
    assert!(
        err.to_string().contains(&format!(
            "Stack:{id} is in CREATE_IN_PROGRESS state and can not be updated."
        )),
        "{err}"
    );
    assert!(e.delete_stack(now, &delete_req("app", "d")).is_err());
    assert!(
        e.create_change_set(
            now,
            &cs_req(ChangeSetKind::Update, "cs2", TEMPLATE, params())
        )
        .is_err()
    );
    assert!(e.rollback_stack(now, "app", "r").is_err());
}

#[test]
fn every_event_of_an_operation_carries_its_token_and_reuse_is_idempotent() {
    let mut e = engine();
    let done = create(&mut e, TEMPLATE, false, None);
    let ev = events(&mut e, done);
    let op_events: Vec<_> = ev
        .iter()
        .filter(|x| x.status.as_str() != "REVIEW_IN_PROGRESS")
        .collect();
    assert!(op_events.len() > 10);
    assert!(
        op_events
            .iter()
            .all(|x| x.client_request_token.as_deref() == Some("tok-create"))
    );
    // Executing again with the same token changes nothing.
    e.execute_change_set(done, &exec_req("cs1", "tok-create", false))
        .unwrap();
    assert_eq!(events(&mut e, done).len(), ev.len());
    // Events after an id are the newer ones only.
    let mid = &ev[5].event_id;
    let newer = e.stack_events(done, "app", Some(mid)).unwrap();
    assert_eq!(newer.len(), ev.len() - 6);
    assert_eq!(newer[0].event_id, ev[6].event_id);
}

#[test]
fn executing_a_change_set_deletes_the_others_and_a_direct_update_makes_them_obsolete() {
    let mut e = engine();
    let done = create(&mut e, TEMPLATE, false, None);
    let up = updated_template();
    e.create_change_set(done, &cs_req(ChangeSetKind::Update, "a", &up, params()))
        .unwrap();
    e.create_change_set(done, &cs_req(ChangeSetKind::Update, "b", &up, params()))
        .unwrap();
    let t = done + Duration::from_secs(3);
    e.execute_change_set(t, &exec_req("a", "x", false)).unwrap();
    let err = e.describe_change_set(t, "app", "b").unwrap_err();
    assert!(matches!(err, CloudError::NotFound { .. }), "{err:?}");
    assert_eq!(err.to_string(), "ChangeSet [b] does not exist.");
    assert_eq!(
        e.describe_change_set(t, "app", "a")
            .unwrap()
            .execution_status,
        ExecutionStatus::ExecuteInProgress
    );
    let end = settle(&mut e);
    assert_eq!(
        e.describe_change_set(end, "app", "a")
            .unwrap()
            .execution_status,
        ExecutionStatus::ExecuteComplete
    );

    // UpdateStack leaves change sets in place, OBSOLETE: they cannot run.
    e.create_change_set(end, &cs_req(ChangeSetKind::Update, "c", TEMPLATE, params()))
        .unwrap();
    let t = end + Duration::from_secs(3);
    e.update_stack(t, &update_req(TEMPLATE, params(), "direct", false))
        .unwrap();
    let c = e.describe_change_set(t, "app", "c").unwrap();
    assert_eq!(c.execution_status, ExecutionStatus::Obsolete);
    let end = settle(&mut e);
    let err = e
        .execute_change_set(end, &exec_req("c", "run-c", false))
        .unwrap_err();
    assert!(
        err.to_string().contains("execution status of [OBSOLETE]"),
        "{err}"
    );
}

#[test]
fn a_reloaded_engine_continues_an_operation_identically() {
    let mut a = engine();
    a.set_faults(&script(vec![fault(
        "Db",
        FaultPhase::Create,
        FaultTimes::Once,
    )]));
    a.create_change_set(
        at(0),
        &cs_req(ChangeSetKind::Create, "cs1", TEMPLATE, params()),
    )
    .unwrap();
    a.execute_change_set(at(2), &exec_req("cs1", "tok", false))
        .unwrap();
    a.advance(at(20));
    let json = serde_json::to_string(&a).unwrap();
    let mut b: CfnEngine = serde_json::from_str(&json).unwrap();
    let end_a = settle(&mut a);
    let end_b = settle(&mut b);
    assert_eq!(end_a, end_b);
    assert_eq!(events(&mut a, end_a), events(&mut b, end_b));
    assert_eq!(status(&mut b, end_b), StackStatus::RollbackComplete);
    assert_eq!(
        serde_json::to_string(&a).unwrap(),
        serde_json::to_string(&b).unwrap()
    );
}

#[test]
fn change_set_kind_must_match_whether_the_stack_exists() {
    let mut e = engine();
    let err = e
        .create_change_set(
            at(0),
            &cs_req(ChangeSetKind::Update, "u", TEMPLATE, params()),
        )
        .unwrap_err();
    assert!(
        err.to_string().contains("Stack [app] does not exist"),
        "{err}"
    );
    let r = e
        .create_change_set(
            at(0),
            &cs_req(ChangeSetKind::Create, "c", TEMPLATE, params()),
        )
        .unwrap();
    assert!(
        r.stack_id
            .starts_with("arn:aws:cloudformation:eu-west-1:123456789012:stack/app/")
    );
    assert!(r.id.starts_with("arn:aws:cloudformation:eu-west-1:123456789012:changeSet/c/"));
    let cs = e.describe_change_set(at(3), "app", "c").unwrap();
    assert_eq!(cs.changes.len(), 6);
    assert!(cs.changes.iter().all(|c| c.action == ResourceAction::Add));
}

#[test]
fn template_and_parameter_errors_read_like_aws_validation_errors() {
    let mut e = engine();
    let try_cs = |e: &mut CfnEngine, body: &str, params: Vec<ParameterInput>| {
        e.create_change_set(at(0), &cs_req(ChangeSetKind::Create, "c", body, params))
            .unwrap_err()
            .to_string()
    };
    let msg = try_cs(&mut e, TEMPLATE, vec![]);
    assert!(
        msg.contains("Parameters: [DbPassword] must have values"),
        "{msg}"
    );
    let mut p = params();
    p.push(ParameterInput {
        key: "Nope".into(),
        value: ParameterValue::Value("x".into()),
    });
    let msg = try_cs(&mut e, TEMPLATE, p);
    assert!(
        msg.contains("Parameters: [Nope] do not exist in the template"),
        "{msg}"
    );
    let mut p = params();
    p.push(ParameterInput {
        key: "Env".into(),
        value: ParameterValue::Value("staging".into()),
    });
    let msg = try_cs(&mut e, TEMPLATE, p);
    assert!(
        msg.contains("Parameter 'Env' must be one of AllowedValues"),
        "{msg}"
    );
    let msg = try_cs(&mut e, &TEMPLATE.replace("!Ref Sg", "!Ref Sgg"), params());
    assert!(
        msg.contains("Template format error: Unresolved resource dependencies [Sgg] in the Resources block of the template"),
        "{msg}"
    );
    let circular = TEMPLATE.replace(
        "      CidrBlock: 10.0.0.0/16\n",
        "      CidrBlock: 10.0.0.0/16\n      Tags: [{Key: x, Value: !Ref Lb}]\n",
    );
    let msg = try_cs(&mut e, &circular, params());
    assert!(
        msg.contains("Circular dependency between resources: ["),
        "{msg}"
    );
    let big = format!("{TEMPLATE}\n#{}\n", "x".repeat(60_000));
    let msg = try_cs(&mut e, &big, params());
    assert!(
        msg.contains("Member must have length less than or equal to 51200"),
        "{msg}"
    );
    let iam = "Resources:\n  R:\n    Type: AWS::IAM::Role\n    Properties: {RoleName: x}\n";
    let msg = try_cs(&mut e, iam, vec![]);
    assert!(msg.contains("CAPABILITY_NAMED_IAM"), "{msg}");
    // Nothing was created by the failed requests.
    assert!(e.list_stacks(at(1)).unwrap().is_empty());
}

#[test]
fn conditions_skip_resources_and_outputs() {
    let body = r#"
Parameters:
  WithCache: {Type: String, Default: "false"}
Conditions:
  Cache: !Equals [!Ref WithCache, "true"]
  NoCache: !Not [!Condition Cache]
Resources:
  Topic:
    Type: AWS::SNS::Topic
    Metadata: {SandboxDurationSeconds: 1}
  Redis:
    Type: AWS::ElastiCache::ReplicationGroup
    Condition: Cache
    Properties: {Description: x}
Outputs:
  CacheOut:
    Condition: Cache
    Value: !GetAtt Redis.PrimaryEndPoint.Address
  Plain:
    Condition: NoCache
    Value: !If [Cache, yes, no]
"#;
    let mut e = engine();
    e.create_change_set(at(0), &cs_req(ChangeSetKind::Create, "c", body, vec![]))
        .unwrap();
    e.execute_change_set(at(2), &exec_req("c", "t", false))
        .unwrap();
    let end = settle(&mut e);
    let s = e.describe_stack(end, "app").unwrap().unwrap();
    assert_eq!(s.status, StackStatus::CreateComplete);
    let live = e.live_resources(end, "app").unwrap();
    assert_eq!(live.len(), 1);
    assert_eq!(s.outputs.len(), 1);
    assert_eq!(s.outputs[0].key, "Plain");
    assert_eq!(s.outputs[0].value, "no");
}

// ------------------------------------------------ issue-8 semantics

fn lagging(seconds: u64) -> FaultScript {
    FaultScript {
        lag: Some(crate::cloud::sandbox::faults::Lag { seconds }),
        ..FaultScript::default()
    }
}

#[test]
fn with_lag_describe_stacks_shows_the_status_before_execute_and_delete_for_a_while() {
    let mut e = engine();
    e.set_faults(&lagging(10));
    e.create_change_set(
        at(0),
        &cs_req(ChangeSetKind::Create, "cs1", TEMPLATE, params()),
    )
    .unwrap();
    e.execute_change_set(at(2), &exec_req("cs1", "tok", true))
        .unwrap();
    // The stack is creating, and its events say so, but the read lags.
    assert_eq!(status(&mut e, at(3)), StackStatus::ReviewInProgress);
    assert!(
        events(&mut e, at(3))
            .iter()
            .any(|x| x.is_stack_event() && x.status.as_str() == "CREATE_IN_PROGRESS")
    );
    assert_eq!(status(&mut e, at(12)), StackStatus::CreateInProgress);
    let done = settle(&mut e);
    assert_eq!(status(&mut e, done), StackStatus::CreateComplete);
    e.delete_stack(done, &delete_req("app", "del")).unwrap();
    assert_eq!(
        status(&mut e, done + Duration::from_secs(1)),
        StackStatus::CreateComplete
    );
    assert_eq!(
        status(&mut e, done + Duration::from_secs(11)),
        StackStatus::DeleteInProgress
    );
}

#[test]
fn tokens_are_checked_and_belong_to_the_stack_name_even_after_a_delete() {
    let mut e = engine();
    e.create_change_set(
        at(0),
        &cs_req(ChangeSetKind::Create, "cs1", TEMPLATE, params()),
    )
    .unwrap();
    let err = e
        .execute_change_set(at(2), &exec_req("cs1", "bad_token!", false))
        .unwrap_err();
    assert!(
        err.to_string().contains("[a-zA-Z0-9][-a-zA-Z0-9]*"),
        "{err}"
    );
    let long = "t".repeat(129);
    assert!(
        e.execute_change_set(at(2), &exec_req("cs1", &long, false))
            .is_err()
    );
    e.execute_change_set(at(2), &exec_req("cs1", "op-1", false))
        .unwrap();
    let done = settle(&mut e);
    // The same token for another call on this stack is refused.
    let err = e
        .update_stack(
            done,
            &update_req(&updated_template(), params(), "op-1", false),
        )
        .unwrap_err();
    assert!(
        err.to_string().contains("TokenAlreadyExistsException"),
        "{err}"
    );
    // The very same call again is accepted and changes nothing.
    let before = events(&mut e, done).len();
    e.execute_change_set(done, &exec_req("cs1", "op-1", false))
        .unwrap();
    assert_eq!(events(&mut e, done).len(), before);
    // Deleted and created again under the same name: the old tokens stay used.
    e.delete_stack(done, &delete_req("app", "op-2")).unwrap();
    let gone = settle(&mut e);
    e.create_change_set(
        gone,
        &cs_req(ChangeSetKind::Create, "cs1", TEMPLATE, params()),
    )
    .unwrap();
    let t = gone + Duration::from_secs(3);
    let err = e
        .execute_change_set(t, &exec_req("cs1", "op-1", false))
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("has already been used for this stack"),
        "{err}"
    );
    e.execute_change_set(t, &exec_req("cs1", "op-3", false))
        .unwrap();
    // A change set name must start with a letter.
    let mut bad = cs_req(ChangeSetKind::Update, "1st", TEMPLATE, params());
    bad.stack_name = "app".into();
    let err = e.create_change_set(t, &bad).unwrap_err();
    assert!(err.to_string().contains("'changeSetName'"), "{err}");
}

#[test]
fn the_fault_script_can_fail_change_sets_of_matching_stacks() {
    let mut e = engine();
    e.set_faults(&FaultScript {
        fail_change_set: vec![crate::cloud::sandbox::faults::ChangeSetFault {
            stack: "ap*".into(),
            reason: "Requires capabilities : [CAPABILITY_NAMED_IAM]".into(),
            times: FaultTimes::Once,
        }],
        ..FaultScript::default()
    });
    e.create_change_set(
        at(0),
        &cs_req(ChangeSetKind::Create, "cs1", TEMPLATE, params()),
    )
    .unwrap();
    let cs = e.describe_change_set(at(3), "app", "cs1").unwrap();
    assert_eq!(cs.status, ChangeSetStatus::Failed);
    assert_eq!(cs.execution_status, ExecutionStatus::Unavailable);
    assert_eq!(
        cs.status_reason.as_deref(),
        Some("Requires capabilities : [CAPABILITY_NAMED_IAM]")
    );
    assert!(cs.changes.is_empty());
    // Once: the next change set is fine.
    e.create_change_set(
        at(4),
        &cs_req(ChangeSetKind::Create, "cs2", TEMPLATE, params()),
    )
    .unwrap();
    let cs = e.describe_change_set(at(7), "app", "cs2").unwrap();
    assert_eq!(cs.status, ChangeSetStatus::CreateComplete);
}

/// A template of `n` independent wait conditions: 2n + 4 events to create.
fn many_resources(n: usize) -> String {
    let mut t = String::from("Resources:\n");
    for i in 0..n {
        t.push_str(&format!(
            "  R{i:03}:\n    Type: AWS::CloudFormation::WaitConditionHandle\n"
        ));
    }
    t
}

#[test]
fn events_come_in_pages_of_100_newest_first() {
    let mut e = engine();
    let body = many_resources(80);
    let req = ChangeSetRequest {
        parameters: vec![],
        ..cs_req(ChangeSetKind::Create, "cs1", &body, vec![])
    };
    e.create_change_set(at(0), &req).unwrap();
    e.execute_change_set(at(2), &exec_req("cs1", "tok", false))
        .unwrap();
    let done = settle(&mut e);
    let first = e.stack_events_page(done, "app", None).unwrap();
    assert_eq!(first.events.len(), EVENTS_PAGE);
    assert!(
        first
            .events
            .windows(2)
            .all(|w| w[0].timestamp >= w[1].timestamp)
    );
    assert_eq!(first.events[0].status.as_str(), "CREATE_COMPLETE");
    assert!(first.events[0].is_stack_event());
    let second = e
        .stack_events_page(done, "app", first.next.as_deref())
        .unwrap();
    let third = e
        .stack_events_page(done, "app", second.next.as_deref())
        .unwrap();
    assert!(third.next.is_none());
    let total = first.events.len() + second.events.len() + third.events.len();
    // REVIEW_IN_PROGRESS, CREATE_IN_PROGRESS, three for each resource, CREATE_COMPLETE.
    assert_eq!(total, 3 * 80 + 3);
    assert_eq!(
        third.events.last().unwrap().status.as_str(),
        "REVIEW_IN_PROGRESS"
    );
    // A resource's first CREATE_IN_PROGRESS has an empty physical id.
    let all = events(&mut e, done);
    let starts = find(&all, "R000", "CREATE_IN_PROGRESS");
    assert_eq!(starts[0].physical_id.as_deref(), Some(""));
    assert_eq!(starts[0].status_reason, None);
    assert_eq!(
        starts[1].status_reason.as_deref(),
        Some("Resource creation Initiated")
    );
    assert!(
        starts[1]
            .physical_id
            .as_deref()
            .is_some_and(|p| !p.is_empty())
    );
}

#[test]
fn cancelling_an_update_rolls_it_back() {
    let mut e = engine();
    let done = create(&mut e, TEMPLATE, false, None);
    let err = e.cancel_update_stack(done, "app", "cancel-0").unwrap_err();
    assert!(
        err.to_string()
            .contains("CancelUpdateStack cannot be called from current stack status"),
        "{err}"
    );
    e.update_stack(
        done,
        &update_req(&updated_template(), params(), "up", false),
    )
    .unwrap();
    let t = done + Duration::from_secs(1);
    assert_eq!(status(&mut e, t), StackStatus::UpdateInProgress);
    e.cancel_update_stack(t, "app", "cancel-1").unwrap();
    assert_eq!(status(&mut e, t), StackStatus::UpdateRollbackInProgress);
    let end = settle(&mut e);
    assert_eq!(status(&mut e, end), StackStatus::UpdateRollbackComplete);
    let ev = events(&mut e, end);
    let rolled: Vec<_> = ev
        .iter()
        .filter(|x| x.is_stack_event() && x.status.as_str().starts_with("UPDATE_ROLLBACK"))
        .collect();
    assert!(
        rolled
            .iter()
            .all(|x| x.client_request_token.as_deref() == Some("cancel-1"))
    );
    assert!(matches!(
        e.cancel_update_stack(end, "nothing", "c"),
        Err(CloudError::NotFound { .. })
    ));
}

#[test]
fn a_fault_with_times_2_fails_two_attempts_and_the_third_succeeds() {
    let mut e = engine();
    e.set_faults(&script(vec![fault(
        "Db",
        FaultPhase::Create,
        FaultTimes::Count(2),
    )]));
    let done = create(&mut e, TEMPLATE, true, None);
    assert_eq!(status(&mut e, done), StackStatus::CreateFailed);
    e.update_stack(done, &update_req(TEMPLATE, params(), "retry-1", true))
        .unwrap();
    let end = settle(&mut e);
    assert_eq!(status(&mut e, end), StackStatus::UpdateFailed);
    e.update_stack(end, &update_req(TEMPLATE, params(), "retry-2", true))
        .unwrap();
    let end = settle(&mut e);
    assert_eq!(status(&mut e, end), StackStatus::UpdateComplete);
}

#[test]
fn get_azs_lists_the_zones_the_region_offers() {
    let body = "Resources:\n  S:\n    Type: AWS::EC2::Subnet\n    Properties:\n      AvailabilityZone: !Select [4, !GetAZs \"\"]\n      CidrBlock: 10.0.0.0/24\nOutputs:\n  Zones:\n    Value: !Join [\",\", !GetAZs \"\"]\n";
    let run = |zones: &[&str]| {
        let mut e = engine();
        e.set_zones(zones.iter().map(|z| z.to_string()).collect());
        let req = ChangeSetRequest {
            parameters: vec![],
            ..cs_req(ChangeSetKind::Create, "cs1", body, vec![])
        };
        e.create_change_set(at(0), &req).map(|_| {
            e.execute_change_set(at(2), &exec_req("cs1", "tok", true))
                .unwrap();
            let done = settle(&mut e);
            e.describe_stack(done, "app").unwrap().unwrap()
        })
    };
    let six = [
        "us-east-1a",
        "us-east-1b",
        "us-east-1c",
        "us-east-1d",
        "us-east-1e",
        "us-east-1f",
    ];
    let stack = run(&six).unwrap();
    assert_eq!(stack.status, StackStatus::CreateComplete);
    assert_eq!(stack.outputs[0].value, six.join(","));
    // With two zones the fifth does not exist.
    assert!(run(&["us-west-1a", "us-west-1c"]).is_err());
}
