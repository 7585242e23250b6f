//! A NoEcho secret sent to CloudFormation through the real AWS adapter
//! (against moto) never reaches the log files, even at `--log-level trace`,
//! where the SDK would otherwise log requests as they go on the wire; nor
//! does the secret of an access key IAM creates, which comes back in a
//! response.

mod support;

use ph_installer::cloud::types::*;
use ph_installer::core::blueprint::plan::Value;
use ph_installer::core::secret::Secret;

const SECRET: &str = "Zq7-secret-5b1f0e9d2c-never-logged";

const TEMPLATE: &str = r#"{
  "Parameters": {
    "Label": { "Type": "String" },
    "DbPassword": { "Type": "String", "NoEcho": true }
  },
  "Resources": {
    "Setting": {
      "Type": "AWS::SSM::Parameter",
      "Properties": { "Name": "/ph/test/label", "Type": "String", "Value": { "Ref": "Label" } }
    }
  }
}"#;

#[test]
fn a_noecho_value_sent_to_cloudformation_is_not_in_the_trace_log() {
    let logs = tempfile::tempdir().unwrap();
    let (subscriber, guard) = ph_installer::logging::subscriber(logs.path(), "trace").unwrap();
    let _default = tracing::subscriber::set_default(subscriber);
    // One thread: every task of the call logs through the subscriber above.
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let (cloud, _) = support::moto::cloud("us-east-1").await;
        let request = ChangeSetRequest {
            stack_name: "ph-demo-rds".into(),
            change_set_name: "install-1".into(),
            kind: ChangeSetKind::Create,
            template_body: TEMPLATE.into(),
            parameters: vec![
                ParameterInput {
                    key: "Label".into(),
                    value: ParameterValue::Value("visible-label-value".into()),
                },
                ParameterInput {
                    key: "DbPassword".into(),
                    value: Value::Secret(Secret::new(SECRET)).into(),
                },
            ],
            tags: vec![Tag::new("ph:install", "demo")],
            capabilities: vec![],
            on_stack_failure: None,
            client_token: None,
            description: None,
        };
        cloud.stacks.create_change_set(&request).await.unwrap();
        cloud
            .stacks
            .execute_change_set(&ExecuteRequest {
                stack_name: "ph-demo-rds".into(),
                change_set_name: "install-1".into(),
                disable_rollback: Some(true),
                client_request_token: "exec-1".into(),
            })
            .await
            .unwrap();
    });
    drop(rt);
    drop(_default);
    drop(guard);

    let mut all = String::new();
    for entry in std::fs::read_dir(logs.path()).unwrap() {
        all.push_str(&std::fs::read_to_string(entry.unwrap().path()).unwrap());
    }
    // The call was logged, with its parameters: the plain one visible, the secret not.
    assert!(all.contains("creating change set"), "{all}");
    assert!(all.contains("visible-label-value"), "{all}");
    assert!(!all.contains(SECRET), "the secret is in the log:\n{all}");
}

#[test]
fn a_created_access_keys_secret_is_not_in_the_trace_log() {
    let logs = tempfile::tempdir().unwrap();
    let (subscriber, guard) = ph_installer::logging::subscriber(logs.path(), "trace").unwrap();
    let _default = tracing::subscriber::set_default(subscriber);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let key = rt.block_on(async {
        let (cloud, account) = support::moto::cloud("us-east-1").await;
        let user = "ph-installer-ProvisioningUser-1A2B3C4D5E6F";
        support::moto::create_user(&account, user).await;
        cloud.iam.create_access_key(user).await.unwrap()
    });
    drop(rt);
    drop(_default);
    drop(guard);

    let mut all = String::new();
    for entry in std::fs::read_dir(logs.path()).unwrap() {
        all.push_str(&std::fs::read_to_string(entry.unwrap().path()).unwrap());
    }
    let secret = key.secret.expose();
    assert_eq!(secret.len(), 40);
    // The key was logged, by id; its secret was not, nor is it in its Debug.
    assert!(all.contains("created access key"), "nothing was logged");
    assert!(all.contains(&key.id), "the key id is not in the log");
    assert!(!all.contains(secret), "the secret access key is in the log");
    assert!(!format!("{key:?}").contains(secret));
}
