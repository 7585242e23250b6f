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
    w
}
