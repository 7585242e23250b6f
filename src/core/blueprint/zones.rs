//! Which availability zones an install spans.
//!
//! The first zones by name are not always usable: in some accounts a name
//! maps to a physical zone (zone ID) where a service of the stack cannot
//! run, and CreateCluster fails twenty minutes into the install. Zones are
//! therefore chosen by ID, before anything is created, and the choice is
//! passed to the network stack explicitly.

use std::fmt;

/// Zone IDs (the same physical zone in every account) where a service of
/// the stack cannot run, and why. From the EKS user guide's subnet
/// requirements: the control plane cannot be placed in these zones.
pub const UNSUITABLE_ZONE_IDS: &[(&str, &str)] = &[
    ("use1-az3", "EKS cannot place its control plane there"),
    ("usw1-az2", "EKS cannot place its control plane there"),
    ("cac1-az3", "EKS cannot place its control plane there"),
];

/// A zone as the account sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OfferedZone {
    /// e.g. `us-east-1b` (names are shuffled per account).
    pub name: String,
    /// e.g. `use1-az3`.
    pub zone_id: String,
    /// The zone's state is `available`.
    pub available: bool,
}

/// The zones to span, and the ones passed over with the reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ZoneChoice {
    /// Zone names, in name order; two or three of them.
    pub zones: Vec<String>,
    /// `(zone name (zone ID), why)` for every zone that could not be used.
    pub passed_over: Vec<(String, String)>,
}

impl ZoneChoice {
    pub fn az_count(&self) -> u8 {
        self.zones.len() as u8
    }

    /// The value of the network stack's `AvailabilityZones` parameter.
    pub fn parameter_value(&self) -> String {
        self.zones.join(",")
    }
}

/// Fewer than two usable zones: no sizing can be installed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ZoneShortage {
    pub usable: Vec<String>,
    pub passed_over: Vec<(String, String)>,
}

impl fmt::Display for ZoneShortage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "This region offers the account {} usable availability zone(s) ({}); the install \
             needs at least 2 (the load balancer, EKS and the database subnet group span two).",
            self.usable.len(),
            if self.usable.is_empty() {
                "none".to_string()
            } else {
                self.usable.join(", ")
            }
        )?;
        for (zone, why) in &self.passed_over {
            write!(f, " {zone} was passed over: {why}.")?;
        }
        write!(f, " Choose another region.")
    }
}

impl std::error::Error for ZoneShortage {}

/// Up to `max` usable zones (never fewer than two: the least any install
/// spans), in name order; an error when fewer than two are usable.
pub fn choose_zones(offered: &[OfferedZone], max: u8) -> Result<ZoneChoice, ZoneShortage> {
    let max = max.max(2);
    let mut sorted: Vec<&OfferedZone> = offered.iter().collect();
    sorted.sort_by(|a, b| a.name.cmp(&b.name));
    let mut usable = Vec::new();
    let mut passed_over = Vec::new();
    for z in sorted {
        let label = format!("{} ({})", z.name, z.zone_id);
        if !z.available {
            passed_over.push((label, "it is not available right now".to_string()));
        } else if let Some((_, why)) = UNSUITABLE_ZONE_IDS.iter().find(|(id, _)| *id == z.zone_id) {
            passed_over.push((label, why.to_string()));
        } else {
            usable.push(z.name.clone());
        }
    }
    if usable.len() < 2 {
        return Err(ZoneShortage {
            usable,
            passed_over,
        });
    }
    usable.truncate(max as usize);
    Ok(ZoneChoice {
        zones: usable,
        passed_over,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn zone(name: &str, id: &str) -> OfferedZone {
        OfferedZone {
            name: name.into(),
            zone_id: id.into(),
            available: true,
        }
    }

    #[test]
    fn the_first_usable_zones_by_name_are_chosen_up_to_the_profile_maximum() {
        let offered = [
            zone("eu-west-1c", "euw1-az3"),
            zone("eu-west-1a", "euw1-az1"),
            zone("eu-west-1b", "euw1-az2"),
        ];
        let three = choose_zones(&offered, 3).unwrap();
        assert_eq!(three.zones, ["eu-west-1a", "eu-west-1b", "eu-west-1c"]);
        assert_eq!(three.parameter_value(), "eu-west-1a,eu-west-1b,eu-west-1c");
        assert_eq!(choose_zones(&offered, 2).unwrap().az_count(), 2);
    }

    #[test]
    fn a_zone_eks_cannot_use_is_skipped_by_its_id_whatever_its_name() {
        let offered = [
            zone("us-east-1a", "use1-az2"),
            zone("us-east-1b", "use1-az3"),
            zone("us-east-1c", "use1-az4"),
            zone("us-east-1d", "use1-az5"),
        ];
        let choice = choose_zones(&offered, 3).unwrap();
        assert_eq!(choice.zones, ["us-east-1a", "us-east-1c", "us-east-1d"]);
        assert_eq!(choice.passed_over.len(), 1);
        assert!(choice.passed_over[0].0.contains("use1-az3"));
        assert!(choice.passed_over[0].1.contains("EKS"));
    }

    #[test]
    fn a_maximum_below_two_still_spans_two_zones() {
        let offered = [
            zone("eu-west-1a", "euw1-az1"),
            zone("eu-west-1b", "euw1-az2"),
            zone("eu-west-1c", "euw1-az3"),
        ];
        assert_eq!(choose_zones(&offered, 1).unwrap().az_count(), 2);
    }

    #[test]
    fn a_two_zone_region_installs_across_two_whatever_the_profile() {
        let offered = [
            zone("us-west-1a", "usw1-az1"),
            zone("us-west-1c", "usw1-az3"),
        ];
        assert_eq!(choose_zones(&offered, 3).unwrap().az_count(), 2);
    }

    #[test]
    fn fewer_than_two_usable_zones_is_refused_naming_each_zone_passed_over() {
        let mut down = zone("us-west-1c", "usw1-az3");
        down.available = false;
        let offered = [
            zone("us-west-1a", "usw1-az1"),
            zone("us-west-1b", "usw1-az2"),
            down,
        ];
        let err = choose_zones(&offered, 3).unwrap_err();
        let msg = err.to_string();
        assert!(
            msg.contains("1 usable availability zone(s) (us-west-1a)"),
            "{msg}"
        );
        assert!(
            msg.contains("us-west-1b (usw1-az2) was passed over: EKS"),
            "{msg}"
        );
        assert!(
            msg.contains("us-west-1c (usw1-az3) was passed over: it is not available"),
            "{msg}"
        );
        assert!(msg.contains("Choose another region"), "{msg}");
    }
}
