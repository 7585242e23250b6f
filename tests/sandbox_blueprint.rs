//! The whole PersonalisationHub blueprint deploys on the sandbox account:
//! every stack of the manifest, wave by wave, through change sets, with
//! parameters resolved from answers, sizing, secrets and earlier outputs.
//! (The deploy engine of a later issue drives the same calls.)

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use ph_installer::cloud::Cloud;
use ph_installer::cloud::sandbox::clock::ManualClock;
use ph_installer::cloud::sandbox::faults::FaultScript;
use ph_installer::cloud::sandbox::{SandboxAccount, SandboxOptions};
use ph_installer::cloud::types::*;
use ph_installer::core::blueprint::plan::{self, Inputs};
use ph_installer::core::blueprint::{Blueprint, template_text};
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

async fn deploy_everything(
    profile: &str,
    az_count: u8,
) -> (tempfile::TempDir, Cloud, BTreeMap<String, String>) {
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
    let cloud = account.cloud("us-east-1".parse().unwrap());
    let cert = cloud.certificates.list_certificates().await.unwrap();
    let cert = cert
        .iter()
        .find(|c| c.status == CertificateStatus::Issued)
        .expect("the sandbox has an issued certificate");
    let answers = BTreeMap::from([
        ("install_name".to_string(), "demo".to_string()),
        ("certificate_arn".to_string(), cert.arn.clone()),
        ("domain".to_string(), "shop.example.com".to_string()),
        ("admin_cidr".to_string(), "203.0.113.0/24".to_string()),
    ]);
    let secrets: BTreeMap<String, Secret> = SECRETS
        .iter()
        .map(|(k, v)| (k.to_string(), Secret::new(v.to_string())))
        .collect();
    let mut outputs: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
    let mut stack_names = BTreeMap::new();

    for wave in plan::waves(&bp.manifest).unwrap() {
        for name in &wave {
            let spec = bp.manifest.stack(name).unwrap();
            let inputs = Inputs {
                answers: &answers,
                profile: &bp.sizing.profiles[profile],
                az_count,
                secrets: &secrets,
                outputs: &outputs,
            };
            let params =
                plan::resolve(spec, &inputs).unwrap_or_else(|m| panic!("{}", m.join("\n")));
            let stack_name = bp.manifest.stack_name("demo", name);
            stack_names.insert(name.clone(), stack_name.clone());
            cloud
                .stacks
                .create_change_set(&ChangeSetRequest {
                    stack_name: stack_name.clone(),
                    change_set_name: "install-1".into(),
                    kind: ChangeSetKind::Create,
                    template_body: template_text(&spec.template).unwrap().into(),
                    parameters: params
                        .iter()
                        .map(|p| ParameterInput {
                            key: p.key.clone(),
                            value: p.value.clone().into(),
                        })
                        .collect(),
                    tags: vec![Tag::new("ph:install", "demo")],
                    capabilities: spec.capabilities.clone(),
                    on_stack_failure: Some(OnStackFailure::DoNothing),
                    client_token: None,
                    description: None,
                })
                .await
                .unwrap_or_else(|e| panic!("{name}: {e}"));
        }
        clock.advance(Duration::from_secs(10));
        for name in &wave {
            let cs = cloud
                .stacks
                .describe_change_set(&stack_names[name], "install-1")
                .await
                .unwrap();
            assert_eq!(
                cs.status,
                ChangeSetStatus::CreateComplete,
                "{name}: {:?}",
                cs.status_reason
            );
            cloud
                .stacks
                .execute_change_set(&ExecuteRequest {
                    stack_name: stack_names[name].clone(),
                    change_set_name: "install-1".into(),
                    disable_rollback: true,
                    client_request_token: format!("install-1-{name}"),
                })
                .await
                .unwrap();
        }
        // Let the wave run on the virtual clock until every stack settles.
        for _ in 0..2000 {
            let mut busy = false;
            for name in &wave {
                let s = cloud
                    .stacks
                    .describe_stack(&stack_names[name])
                    .await
                    .unwrap()
                    .unwrap();
                busy |= s.status.in_progress();
            }
            if !busy {
                break;
            }
            clock.advance(Duration::from_secs(30));
        }
        for name in &wave {
            let s = cloud
                .stacks
                .describe_stack(&stack_names[name])
                .await
                .unwrap()
                .unwrap();
            assert_eq!(
                s.status,
                StackStatus::CreateComplete,
                "{name}: {:?}",
                s.status_reason
            );
            outputs.insert(
                name.clone(),
                s.outputs
                    .iter()
                    .map(|o| (o.key.clone(), o.value.clone()))
                    .collect(),
            );
        }
    }
    (dir, cloud, stack_names)
}

#[tokio::test]
async fn every_stack_of_the_manifest_deploys_on_the_sandbox_and_every_resource_reports_complete() {
    let bp = Blueprint::embedded().unwrap();
    let (dir, cloud, stack_names) = deploy_everything("production", 3).await;
    for spec in &bp.manifest.stacks {
        let events = cloud
            .stacks
            .stack_events(&stack_names[&spec.name], None)
            .await
            .unwrap();
        let completed: BTreeSet<&str> = events
            .iter()
            .filter(|e| e.status.as_str() == "CREATE_COMPLETE")
            .map(|e| e.logical_id.as_str())
            .collect();
        let summary = &bp.templates[&spec.template];
        let conditional: BTreeSet<&str> = summary.body["Resources"]
            .as_object()
            .unwrap()
            .iter()
            .filter(|(_, r)| r.get("Condition").is_some())
            .map(|(id, _)| id.as_str())
            .collect();
        for id in summary.resources.keys() {
            assert!(
                completed.contains(id.as_str()) || conditional.contains(id.as_str()),
                "{}: resource {id} never reported CREATE_COMPLETE",
                spec.name
            );
        }
        // Secrets reach CloudFormation only as NoEcho parameters: never in
        // events, outputs or parameters as reported.
        let stack = cloud
            .stacks
            .describe_stack(&stack_names[&spec.name])
            .await
            .unwrap()
            .unwrap();
        let reported = format!("{events:?}{stack:?}");
        for (name, value) in SECRETS {
            assert!(
                !reported.contains(value),
                "secret {name} visible in {}",
                spec.name
            );
        }
    }
    let account_file = std::fs::read_to_string(dir.path().join("account/account.json")).unwrap();
    for (name, value) in SECRETS {
        assert!(
            !account_file.contains(value),
            "secret {name} persisted in clear"
        );
    }
}

#[tokio::test]
async fn the_evaluation_profile_deploys_in_a_two_zone_region() {
    let (_dir, cloud, stack_names) = deploy_everything("evaluation", 2).await;
    let edge = cloud
        .stacks
        .describe_stack(&stack_names["edge"])
        .await
        .unwrap()
        .unwrap();
    assert_eq!(edge.status, StackStatus::CreateComplete);
    assert!(
        edge.outputs
            .iter()
            .any(|o| o.value.contains(".elb.amazonaws.com")),
        "the ALB's DNS name is an output: {:?}",
        edge.outputs
    );
}
