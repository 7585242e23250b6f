//! What the wizard's tests (here and in the terminal front end) start from:
//! six regions across the guide's groups, two of them not enabled, and an
//! identity.

use super::{Identity, Msg, Wizard};
use crate::core::region::OptInStatus;
use crate::core::regions::RegionRow;

/// A region row; regions the account has not enabled have no zone count.
pub fn row(
    code: &str,
    name: &str,
    geography: &str,
    opt_in: OptInStatus,
    zones: usize,
) -> RegionRow {
    RegionRow {
        code: code.parse().unwrap(),
        name: Some(name.into()),
        geography: geography.into(),
        opt_in: Some(opt_in),
        az_count: opt_in.usable().then_some(zones),
    }
}

pub fn regions() -> Vec<RegionRow> {
    use OptInStatus::*;
    vec![
        row(
            "us-east-1",
            "US East (N. Virginia)",
            "North America",
            OptInNotRequired,
            6,
        ),
        row(
            "us-west-1",
            "US West (N. California)",
            "North America",
            OptInNotRequired,
            2,
        ),
        row(
            "eu-west-1",
            "Europe (Ireland)",
            "Europe",
            OptInNotRequired,
            3,
        ),
        row("eu-south-2", "Europe (Spain)", "Europe", NotOptedIn, 3),
        row(
            "me-central-1",
            "Middle East (UAE)",
            "Middle East",
            OptedIn,
            3,
        ),
        row("af-south-1", "Africa (Cape Town)", "Africa", NotOptedIn, 3),
    ]
}

/// Hands `w` the identity and [`regions`], as the runtime would.
pub fn loaded(mut w: Wizard) -> Wizard {
    w.handle(Msg::Identity(Ok(Identity {
        account: "111122223333".into(),
        arn: "arn:aws:sts::111122223333:assumed-role/ph-installer/i-0a1b2c3d4e5f60718".into(),
        credentials: "EC2 instance role (IMDSv2)".into(),
    })));
    w.handle(Msg::Regions(Ok(regions())));
    w.handle(Msg::Bootstrap(Ok(Some(bootstrap()))));
    let bp = crate::core::blueprint::Blueprint::shared().unwrap();
    w.handle(Msg::Blueprint(Ok(super::BlueprintView::of(bp))));
    w
}

/// A report that the certificate is issued.
pub fn issued_view(arn: &str) -> super::certificate::CertView {
    super::certificate::CertView {
        arn: arn.into(),
        phase: super::certificate::CertPhase::Issued,
        records: vec![],
        written_to: None,
        records_file: None,
        error: None,
        note: None,
    }
}

/// Every profile fits, with the zones the region list gives it.
pub fn all_offered(w: &Wizard) -> std::collections::BTreeMap<String, super::sizing::ProfileCheck> {
    w.profiles
        .iter()
        .map(|(n, p)| {
            (
                n.clone(),
                super::sizing::ProfileCheck {
                    az_count: super::sizing::az_count(p, w.region_zones()),
                    fit: Default::default(),
                },
            )
        })
        .collect()
}

/// The secrets of the blueprint generated now, and a created access key.
pub fn secrets_report() -> super::SecretsReport {
    super::SecretsReport {
        path: "/var/lib/ph-installer/secrets.toml".into(),
        generated: vec![
            "db_master_password".into(),
            "opensearch_master_password".into(),
            "redis_auth_token".into(),
        ],
        kept: vec![],
        access_key: super::AccessKeyState::Created {
            user: "ph-installer-ProvisioningUser-8XIFS51C1X9L".into(),
        },
    }
}

/// The installer's stack, its role the one the identity acts as.
pub fn bootstrap() -> super::Bootstrap {
    super::Bootstrap {
        stack: "ph-installer".into(),
        role_arn: Some("arn:aws:iam::111122223333:role/ph-installer/ph-installer".into()),
    }
}
