//! What only the AWS adapters have, against moto: the partitions moto lists
//! that the adapter drops, how the session was reached, a refused region.
//! What every port promises is in `tests/contract.rs`, on moto and on the
//! sandbox alike. Each test runs in its own moto account.

mod support;

use ph_installer::cloud::aws::connect;
use ph_installer::core::region::OptInStatus;
use support::moto::{ACCOUNT_HEADER, cloud, fresh_account, moto, options, sdk};

// ---------------------------------------------------------------- regions

#[tokio::test]
async fn regions_drop_the_govcloud_and_china_regions_moto_reports() {
    let (cloud, account) = cloud("us-east-1").await;
    // moto's raw answer does include other partitions...
    let raw = aws_sdk_ec2::Client::new(&sdk("us-east-1").await)
        .describe_regions()
        .all_regions(true)
        .customize()
        .mutate_request(move |r| {
            r.headers_mut().insert(ACCOUNT_HEADER, account.clone());
        })
        .send()
        .await
        .unwrap();
    let raw_names: Vec<&str> = raw
        .regions()
        .iter()
        .filter_map(|r| r.region_name())
        .collect();
    assert!(
        raw_names
            .iter()
            .any(|r| r.starts_with("cn-") || r.starts_with("us-gov-")),
        "moto no longer lists other partitions; this test lost its point: {raw_names:?}"
    );
    // ...and the port refuses them.
    let regions = cloud.regions.list_regions().await.unwrap();
    assert!(!regions.is_empty());
    for r in &regions {
        let code = r.code.as_str();
        assert!(
            !code.starts_with("cn-") && !code.starts_with("us-gov-") && !code.contains("-iso"),
            "{code} is not commercial but was listed"
        );
    }
    let east = regions
        .iter()
        .find(|r| r.code.as_str() == "us-east-1")
        .unwrap();
    assert_eq!(east.opt_in, OptInStatus::OptInNotRequired);
}

// ---------------------------------------------------------------- identity

#[tokio::test]
async fn the_session_says_how_credentials_were_found_and_which_endpoint_is_used() {
    let (cloud, _) = cloud("eu-west-1").await;
    let me = cloud.identity.caller_identity().await.unwrap();
    assert_eq!(me.account.len(), 12, "{me:?}");
    assert!(me.arn.starts_with("arn:aws:"), "{me:?}");
    let session = cloud.identity.session_info();
    assert_eq!(
        session.credential_source,
        "static keys given to the installer"
    );
    assert_eq!(
        session.endpoint_override.as_deref(),
        Some(moto().url.as_str())
    );
}

#[tokio::test]
async fn a_refused_region_flag_stops_the_connection_naming_the_partition_and_the_flag() {
    let mut opts = options("cn-north-1", &fresh_account());
    opts.region = Some("cn-north-1".into());
    let err = connect(&opts)
        .await
        .err()
        .expect("cn-north-1 must be refused");
    let msg = err.to_string();
    assert!(msg.contains("China"), "{msg}");
    assert!(msg.contains("--region"), "{msg}");
}
