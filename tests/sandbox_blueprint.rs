//! The whole PersonalisationHub blueprint deploys on the sandbox account:
//! every stack of the manifest through change sets, each stack starting as
//! soon as the stacks it depends on are complete, with parameters resolved
//! from answers, sizing, the zones and image the account offers, secrets and
//! earlier outputs. (The deploy engine of a later issue drives the same calls.)

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use ph_installer::clock::{Clock, ManualClock};
use ph_installer::cloud::Cloud;
use ph_installer::cloud::sandbox::faults::FaultScript;
use ph_installer::cloud::sandbox::{DEFAULT_SPEED, SandboxAccount, SandboxOptions};
use ph_installer::cloud::types::*;
use ph_installer::core::answers::Answers;
use ph_installer::core::blueprint::plan::{self, Derived, Inputs};
use ph_installer::core::blueprint::zones::{OfferedZone, choose_zones};
use ph_installer::core::blueprint::{APP_IMAGE_PARAMETER, Blueprint, template_text};
use ph_installer::core::region::RegionCode;
use ph_installer::core::secret::Secret;
use ph_installer::core::stack::StackStatus;

const SECRETS: &[(&str, &str)] = &[
    ("db_master_password", "DbSecretValue0123456789abcdefXYZ"),
    (
        "redis_auth_token",
        "RedisSecretValue0123456789abcdefghijklmnopqrstuv",
    ),
    (
        "opensearch_master_password",
        "Search-Secret.Value0123456789xyz",
    ),
];

/// Virtual time between two looks at the stacks: the progress resolution.
const STEP: Duration = Duration::from_secs(30);

struct Deployed {
    dir: tempfile::TempDir,
    cloud: Cloud,
    bp: Blueprint,
    derived: Derived,
    /// Manifest name -> CloudFormation stack name.
    stack_names: BTreeMap<String, String>,
    /// Virtual time from the first change set to the last stack complete.
    makespan: Duration,
}

enum Progress {
    Waiting,
    ChangeSet,
    Executing,
    Done,
}

async fn deploy_everything(region: &str, profile: &str) -> Deployed {
    let bp = Blueprint::embedded().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::starting_now());
    let account = SandboxAccount::open_with_clock(
        SandboxOptions {
            dir: dir.path().join("account"),
            speed: 1.0,
            faults: FaultScript::default(),
        },
        clock.clone(),
    )
    .unwrap();
    let code: RegionCode = region.parse().unwrap();
    let cloud = account.cloud(code.clone());
    // A fresh account: the roles no service creates for itself come first.
    let roles = ph_installer::runtime::setup::service_linked_roles(&cloud, clock.as_ref())
        .await
        .unwrap();
    assert!(
        roles
            .iter()
            .all(|(_, outcome)| *outcome == ServiceRoleOutcome::Created),
        "{roles:?}"
    );

    // What the installer works out before anything is created.
    let offered: Vec<OfferedZone> = cloud
        .regions
        .availability_zones(&code)
        .await
        .unwrap()
        .iter()
        .map(OfferedZone::from)
        .collect();
    let sizing = &bp.sizing.profiles[profile];
    let derived = Derived {
        zones: choose_zones(&offered, sizing.max_az_count).unwrap(),
        app_image_id: Some(
            cloud
                .instances
                .public_image_id(APP_IMAGE_PARAMETER)
                .await
                .unwrap(),
        ),
    };
    let certificate_arn = format!(
        "arn:aws:acm:{region}:111122223333:certificate/0b7e5c1a-5a1d-4c3e-9d2f-1f6a2b3c4d5e"
    );
    let answers = Answers {
        install_name: Some("demo".parse().unwrap()),
        certificate_arn: Some(certificate_arn),
        domain: Some("shop.example.com".into()),
        admin_cidr: Some("203.0.113.0/24".into()),
        // The evaluation install names no cluster administrator; the others do.
        cluster_admin_arn: (profile != "evaluation")
            .then(|| "arn:aws:iam::111122223333:role/ph-operators".to_string()),
        ..Answers::default()
    };
    let secrets: BTreeMap<String, Secret> = SECRETS
        .iter()
        .map(|(k, v)| (k.to_string(), Secret::new(v.to_string())))
        .collect();

    let stack_names: BTreeMap<String, String> = bp
        .manifest
        .stacks
        .iter()
        .map(|s| (s.name.clone(), bp.manifest.stack_name("demo", &s.name)))
        .collect();
    let mut progress: BTreeMap<String, Progress> = bp
        .manifest
        .stacks
        .iter()
        .map(|s| (s.name.clone(), Progress::Waiting))
        .collect();
    let mut outputs: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
    let start = clock.now();
    let mut last_done = start;
    for _ in 0..2000 {
        for spec in &bp.manifest.stacks {
            let name = &spec.name;
            let stack_name = &stack_names[name];
            match progress[name] {
                Progress::Waiting if spec.depends_on.iter().all(|d| outputs.contains_key(d)) => {
                    let inputs = Inputs {
                        answers: &answers,
                        profile: sizing,
                        derived: &derived,
                        secrets: &secrets,
                        outputs: &outputs,
                    };
                    let params =
                        plan::resolve(spec, &inputs).unwrap_or_else(|m| panic!("{}", m.join("\n")));
                    cloud
                        .stacks
                        .create_change_set(&ChangeSetRequest {
                            stack_name: stack_name.clone(),
                            change_set_name: "install-1".into(),
                            kind: ChangeSetKind::Create,
                            template_body: template_text(&spec.template).unwrap().into(),
                            parameters: params
                                .into_iter()
                                .map(|p| ParameterInput {
                                    key: p.key,
                                    value: p.value.into(),
                                })
                                .collect(),
                            tags: vec![Tag::new("ph:install", "demo")],
                            capabilities: spec.capabilities.clone(),
                            on_stack_failure: None,
                            client_token: None,
                            description: None,
                        })
                        .await
                        .unwrap_or_else(|e| panic!("{name}: {e}"));
                    progress.insert(name.clone(), Progress::ChangeSet);
                }
                Progress::ChangeSet => {
                    let cs = cloud
                        .stacks
                        .describe_change_set(stack_name, "install-1")
                        .await
                        .unwrap();
                    match cs.status {
                        ChangeSetStatus::CreateComplete => {
                            cloud
                                .stacks
                                .execute_change_set(&ExecuteRequest {
                                    stack_name: stack_name.clone(),
                                    change_set_name: "install-1".into(),
                                    disable_rollback: Some(true),
                                    client_request_token: format!("install-1-{name}"),
                                })
                                .await
                                .unwrap();
                            progress.insert(name.clone(), Progress::Executing);
                        }
                        ChangeSetStatus::Failed => {
                            panic!("{name}: change set failed: {:?}", cs.status_reason)
                        }
                        _ => {}
                    }
                }
                Progress::Executing => {
                    let s = cloud
                        .stacks
                        .describe_stack(stack_name)
                        .await
                        .unwrap()
                        .unwrap();
                    if s.status == StackStatus::CreateComplete {
                        outputs.insert(
                            name.clone(),
                            s.outputs
                                .iter()
                                .map(|o| (o.key.clone(), o.value.clone()))
                                .collect(),
                        );
                        last_done = clock.now();
                        progress.insert(name.clone(), Progress::Done);
                    } else {
                        assert!(
                            s.status.in_progress(),
                            "{name}: {:?} {:?}",
                            s.status,
                            s.status_reason
                        );
                    }
                }
                _ => {}
            }
        }
        if progress.values().all(|p| matches!(p, Progress::Done)) {
            break;
        }
        clock.advance(STEP);
    }
    assert!(
        progress.values().all(|p| matches!(p, Progress::Done)),
        "the install did not finish in 2000 steps"
    );
    Deployed {
        dir,
        cloud,
        bp,
        derived,
        stack_names,
        makespan: last_done.duration_since(start).unwrap(),
    }
}

impl Deployed {
    async fn events(&self, stack: &str) -> Vec<StackEvent> {
        self.cloud
            .stacks
            .stack_events(&self.stack_names[stack], None)
            .await
            .unwrap()
    }

    /// Logical ids that reported CREATE_COMPLETE, per manifest stack.
    async fn created(&self) -> BTreeMap<String, BTreeSet<String>> {
        let mut out = BTreeMap::new();
        for spec in &self.bp.manifest.stacks {
            let done = self
                .events(&spec.name)
                .await
                .iter()
                // The stack's own events name the stack, not a resource.
                .filter(|e| e.status.as_str() == "CREATE_COMPLETE" && e.logical_id != e.stack_name)
                .map(|e| e.logical_id.clone())
                .collect();
            out.insert(spec.name.clone(), done);
        }
        out
    }

    /// Resources of `stack`'s template.
    fn resources(&self, stack: &str) -> BTreeSet<String> {
        let spec = self.bp.manifest.stack(stack).unwrap();
        self.bp.templates[&spec.template]
            .resources
            .keys()
            .cloned()
            .collect()
    }

    /// No secret appears in any event, stack description or the account file.
    async fn assert_no_secret_visible(&self) {
        for spec in &self.bp.manifest.stacks {
            let stack = self
                .cloud
                .stacks
                .describe_stack(&self.stack_names[&spec.name])
                .await
                .unwrap()
                .unwrap();
            let reported = format!("{:?}{stack:?}", self.events(&spec.name).await);
            for (name, value) in SECRETS {
                assert!(
                    !reported.contains(value),
                    "secret {name} visible in {}",
                    spec.name
                );
            }
        }
        let account_file =
            std::fs::read_to_string(self.dir.path().join("account/account.json")).unwrap();
        for (name, value) in SECRETS {
            assert!(
                !account_file.contains(value),
                "secret {name} persisted in clear"
            );
        }
    }
}

#[tokio::test]
async fn a_production_install_creates_every_resource_in_zones_eks_can_use_and_shows_no_secret() {
    let d = deploy_everything("us-east-1", "production").await;
    // At three zones with a NAT gateway per zone, every conditional resource is wanted.
    for (stack, created) in d.created().await {
        let missing: Vec<String> = d.resources(&stack).difference(&created).cloned().collect();
        assert!(
            missing.is_empty(),
            "{stack}: never reported CREATE_COMPLETE: {missing:?}"
        );
    }
    // The sandbox's us-east-1b is use1-az3, as in some real accounts: zones
    // are chosen by ID, and the network is told which.
    assert_eq!(
        d.derived.zones.zones,
        ["us-east-1a", "us-east-1c", "us-east-1d"]
    );
    let param = |stack: &str, key: &str| {
        let d = &d;
        let (stack, key) = (stack.to_string(), key.to_string());
        async move {
            d.cloud
                .stacks
                .describe_stack(&d.stack_names[&stack])
                .await
                .unwrap()
                .unwrap()
                .parameters
                .into_iter()
                .find(|p| p.key == key)
                .unwrap()
                .value
        }
    };
    assert_eq!(
        param("network", "AvailabilityZones").await,
        "us-east-1a,us-east-1c,us-east-1d"
    );
    // The app instance boots the image resolved once from the public parameter.
    let image = param("app", "AppImageId").await;
    assert_eq!(Some(&image), d.derived.app_image_id.as_ref());
    assert!(image.starts_with("ami-"), "{image}");
    d.assert_no_secret_visible().await;
}

#[tokio::test]
async fn an_evaluation_install_in_a_two_zone_region_builds_one_nat_gateway_in_one_to_two_minutes() {
    let d = deploy_everything("us-west-1", "evaluation").await;
    // The sandbox's default speed is chosen so a whole install is watchable.
    let real = d.makespan.as_secs_f64() / DEFAULT_SPEED;
    assert!(
        (60.0..=120.0).contains(&real),
        "{} virtual seconds is {real:.0} real seconds at speed {DEFAULT_SPEED}",
        d.makespan.as_secs()
    );
    assert_eq!(d.derived.zones.zones, ["us-west-1a", "us-west-1c"]);
    let created = d.created().await;
    let network = &created["network"];
    for absent in [
        "NatGateway2",
        "NatGateway3",
        "PublicSubnet3",
        "PrivateSubnet3",
    ] {
        assert!(!network.contains(absent), "{absent} was created");
    }
    for present in ["NatGateway1", "PublicSubnet2", "PrivateSubnet2"] {
        assert!(network.contains(present), "{present} was not created");
    }
    // Everything without a condition was created.
    for (stack, done) in &created {
        let spec = d.bp.manifest.stack(stack).unwrap();
        let body = &d.bp.templates[&spec.template].body["Resources"];
        for id in d.resources(stack) {
            if body[&id].get("Condition").is_none() {
                assert!(done.contains(&id), "{stack}: {id} never completed");
            }
        }
    }
    let edge = d
        .cloud
        .stacks
        .describe_stack(&d.stack_names["edge"])
        .await
        .unwrap()
        .unwrap();
    assert!(
        edge.outputs
            .iter()
            .any(|o| o.value.contains(".us-west-1.elb.amazonaws.com")),
        "the ALB's DNS name is an output: {:?}",
        edge.outputs
    );
    d.assert_no_secret_visible().await;
}

#[tokio::test]
async fn the_large_profile_deploys() {
    let d = deploy_everything("eu-west-1", "large").await;
    assert_eq!(d.derived.zones.az_count(), 3);
    for (stack, created) in d.created().await {
        assert_eq!(created, d.resources(&stack), "{stack}");
    }
}
