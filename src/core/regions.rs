//! The built-in region table (names and grouping), merged with what the
//! account reports so regions launched after this build still appear.

use serde::{Deserialize, Serialize};

use super::region::{OptInStatus, RegionCode};

const TABLE: &str = include_str!("../../assets/regions.toml");

/// One row of the built-in table.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct KnownRegion {
    pub code: RegionCode,
    pub name: String,
    pub geography: String,
    /// Launched after March 2019: accounts must opt in.
    pub opt_in: bool,
}

#[derive(Deserialize)]
struct Table {
    region: Vec<KnownRegion>,
}

/// The built-in table, in its file order (grouped by geography).
pub fn known_regions() -> Vec<KnownRegion> {
    let table: Table = toml::from_str(TABLE).expect("assets/regions.toml is valid");
    table.region
}

/// Looks a region up in the built-in table.
pub fn known_region(code: &str) -> Option<KnownRegion> {
    known_regions()
        .into_iter()
        .find(|r| r.code.as_str() == code)
}

/// A region as the installer shows it: the table's name and grouping, the
/// account's opt-in status, and its availability-zone count when known.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RegionRow {
    pub code: RegionCode,
    /// The table's name, or `None` for a region newer than this build.
    pub name: Option<String>,
    pub geography: String,
    /// `None` when the account did not list the region.
    pub opt_in: Option<OptInStatus>,
    pub az_count: Option<usize>,
}

impl RegionRow {
    /// Whether the operator can install here now.
    pub fn usable(&self) -> bool {
        self.opt_in.is_some_and(OptInStatus::usable)
    }
}

/// Merges the table with the account's list: every region the account
/// lists appears (unknown ones under "Other (new)", by code); table regions the
/// account does not list are dropped, since they cannot be used from it.
/// Order: the table's order, then new regions by code.
pub fn merge(account: &[(RegionCode, OptInStatus)]) -> Vec<RegionRow> {
    let table = known_regions();
    let mut rows: Vec<RegionRow> = table
        .iter()
        .filter_map(|k| {
            let status = account.iter().find(|(c, _)| *c == k.code)?.1;
            Some(RegionRow {
                code: k.code.clone(),
                name: Some(k.name.clone()),
                geography: k.geography.clone(),
                opt_in: Some(status),
                az_count: None,
            })
        })
        .collect();
    let mut new: Vec<RegionRow> = account
        .iter()
        .filter(|(c, _)| !table.iter().any(|k| k.code == *c))
        .map(|(c, s)| RegionRow {
            code: c.clone(),
            name: None,
            geography: "Other (new)".into(),
            opt_in: Some(*s),
            az_count: None,
        })
        .collect();
    new.sort_by(|a, b| a.code.cmp(&b.code));
    rows.extend(new);
    rows
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::region::parse_region;

    fn code(s: &str) -> RegionCode {
        parse_region(s).unwrap()
    }

    #[test]
    fn the_table_names_all_34_commercial_regions() {
        let t = known_regions();
        assert_eq!(t.len(), 34);
        assert_eq!(
            known_region("ap-southeast-6").unwrap().name,
            "Asia Pacific (New Zealand)"
        );
        assert!(known_region("ca-west-1").unwrap().opt_in);
        assert!(!known_region("us-east-1").unwrap().opt_in);
    }

    #[test]
    fn a_region_newer_than_the_table_is_still_listed() {
        let rows = merge(&[
            (code("us-east-1"), OptInStatus::OptInNotRequired),
            (code("eu-west-9"), OptInStatus::NotOptedIn),
        ]);
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].name.as_deref(), Some("US East (N. Virginia)"));
        assert_eq!(rows[1].code.as_str(), "eu-west-9");
        assert_eq!(rows[1].name, None);
        assert!(!rows[1].usable());
        assert!(rows[0].usable());
    }

    #[test]
    fn table_regions_the_account_does_not_list_are_left_out() {
        let rows = merge(&[(code("eu-west-1"), OptInStatus::OptInNotRequired)]);
        assert_eq!(rows.len(), 1);
    }
}
