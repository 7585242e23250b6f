//! The sizing step: each profile of `assets/sizing.toml` as the table of
//! what it creates per service, for the zone count the region gives it, and
//! what the region's services said about its instance types.

use crate::core::blueprint::offerings::Fit;
use crate::core::blueprint::sizing::{Profile, Sizing};

/// The profiles in the order an operator weighs them (smallest first);
/// profiles this list does not know come after, by name.
pub const ORDER: &[&str] = &["evaluation", "production", "large"];

/// The profiles of `sizing`, in [`ORDER`].
pub fn ordered(sizing: &Sizing) -> Vec<(String, Profile)> {
    let mut all: Vec<(String, Profile)> = sizing
        .profiles
        .iter()
        .map(|(n, p)| (n.clone(), p.clone()))
        .collect();
    all.sort_by_key(|(n, _)| {
        (
            ORDER.iter().position(|o| o == n).unwrap_or(ORDER.len()),
            n.clone(),
        )
    });
    all
}

/// One service's line of a profile's table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceRow {
    pub service: &'static str,
    pub what: String,
    /// The instance types the line names (to flag those not offered).
    pub types: Vec<String>,
}

/// The zones a profile spreads over in a region offering `region_zones`
/// usable zones (2 at least: the load balancer, EKS and RDS need two).
pub fn az_count(profile: &Profile, region_zones: Option<usize>) -> u8 {
    let usable = region_zones.unwrap_or(profile.max_az_count as usize);
    (profile.max_az_count as usize).min(usable).max(2) as u8
}

/// What `profile` creates with `az` zones, one line per service.
pub fn table(profile: &Profile, az: u8) -> Vec<ServiceRow> {
    let v = |k: &str| profile.value(k, az).unwrap_or_else(|| "?".into());
    let yes = |k: &str| v(k) == "true";
    let n = |k: &str| v(k).parse::<u32>().unwrap_or(0);
    let nat = if yes("nat_gateway_per_az") {
        az as u32
    } else {
        1
    };
    let masters = n("search_dedicated_master_count");
    let cache_nodes = n("cache_node_count");
    let mut search = format!(
        "{} x {}, {} GiB",
        n("search_instance_count"),
        v("search_instance_type"),
        v("search_volume_size")
    );
    let mut search_types = vec![v("search_instance_type")];
    if masters > 0 {
        search.push_str(&format!(
            "; {masters} masters {}",
            v("search_dedicated_master_type")
        ));
        search_types.push(v("search_dedicated_master_type"));
    }
    vec![
        ServiceRow {
            service: "Network",
            what: format!(
                "{az} zones, {nat} NAT gateway{}",
                if nat == 1 { "" } else { "s" }
            ),
            types: vec![],
        },
        ServiceRow {
            service: "PostgreSQL",
            what: format!(
                "{}, {}-{} GiB, {}, backups {} d",
                v("db_instance_class"),
                v("db_allocated_storage"),
                v("db_max_allocated_storage"),
                if yes("db_multi_az") {
                    "Multi-AZ"
                } else {
                    "single-AZ"
                },
                v("db_backup_retention_days")
            ),
            types: vec![v("db_instance_class")],
        },
        ServiceRow {
            service: "Redis",
            what: format!(
                "{cache_nodes} x {}, {}",
                v("cache_node_type"),
                if cache_nodes >= 2 {
                    "Multi-AZ failover"
                } else {
                    "no replica"
                }
            ),
            types: vec![v("cache_node_type")],
        },
        ServiceRow {
            service: "OpenSearch",
            what: search,
            types: search_types,
        },
        ServiceRow {
            service: "MSK",
            what: format!(
                "{} x {}, {} GiB each",
                n("msk_broker_count"),
                v("msk_broker_instance_type"),
                v("msk_volume_size")
            ),
            types: vec![v("msk_broker_instance_type")],
        },
        ServiceRow {
            service: "EKS nodes",
            what: format!(
                "{} x {} ({}-{}), {} GiB",
                n("node_desired_size"),
                v("node_instance_type"),
                n("node_min_size"),
                n("node_max_size"),
                v("node_volume_size")
            ),
            types: vec![v("node_instance_type")],
        },
        ServiceRow {
            service: "App instance",
            what: format!("{}, {} GiB", v("app_instance_type"), v("app_volume_size")),
            types: vec![v("app_instance_type")],
        },
    ]
}

/// What the region's services said about one profile, and the zones it
/// gets there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProfileCheck {
    pub az_count: u8,
    pub fit: Fit,
}

impl ProfileCheck {
    /// Whether the line names a type the region does not offer.
    pub fn flags(&self, row: &ServiceRow) -> bool {
        row.types.iter().any(|t| self.fit.missing_types.contains(t))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::blueprint::Blueprint;

    fn profiles() -> Vec<(String, Profile)> {
        ordered(&Blueprint::embedded().unwrap().sizing)
    }

    #[test]
    fn profiles_are_offered_smallest_first() {
        let names: Vec<String> = profiles().into_iter().map(|(n, _)| n).collect();
        assert_eq!(&names[..3], ["evaluation", "production", "large"]);
    }

    #[test]
    fn a_region_with_two_zones_gets_the_two_zone_column_of_every_count() {
        let (_, production) = profiles().into_iter().nth(1).unwrap();
        assert_eq!(az_count(&production, Some(2)), 2);
        assert_eq!(az_count(&production, Some(6)), 3);
        let two = table(&production, 2);
        let three = table(&production, 3);
        let line =
            |t: &[ServiceRow], s: &str| t.iter().find(|r| r.service == s).unwrap().what.clone();
        assert_eq!(line(&two, "Network"), "2 zones, 2 NAT gateways");
        assert_eq!(line(&three, "Network"), "3 zones, 3 NAT gateways");
        assert!(
            line(&two, "MSK").starts_with("2 x kafka.m5.large"),
            "{}",
            line(&two, "MSK")
        );
        assert!(line(&three, "MSK").starts_with("3 x kafka.m5.large"));
        assert!(line(&two, "OpenSearch").contains("3 masters m6g.large.search"));
        assert!(line(&two, "PostgreSQL").contains("Multi-AZ"));
    }

    #[test]
    fn the_evaluation_profile_says_what_it_gives_up() {
        let (_, evaluation) = profiles().into_iter().next().unwrap();
        let t = table(&evaluation, 2);
        let line = |s: &str| t.iter().find(|r| r.service == s).unwrap().what.clone();
        assert_eq!(line("Network"), "2 zones, 1 NAT gateway");
        assert!(line("PostgreSQL").contains("single-AZ"));
        assert!(line("Redis").contains("no replica"));
        assert!(!line("OpenSearch").contains("masters"));
    }

    #[test]
    fn a_line_naming_a_type_the_region_lacks_is_flagged() {
        let (_, evaluation) = profiles().into_iter().next().unwrap();
        let t = table(&evaluation, 2);
        let check = ProfileCheck {
            az_count: 2,
            fit: Fit {
                missing: vec!["EC2 does not offer t3.large in x".into()],
                unconfirmed: vec![],
                missing_types: vec!["t3.large".into()],
            },
        };
        let flagged: Vec<&str> = t
            .iter()
            .filter(|r| check.flags(r))
            .map(|r| r.service)
            .collect();
        assert_eq!(flagged, ["EKS nodes"]);
    }
}
