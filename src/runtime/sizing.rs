//! Whether each sizing profile's instance types are sold in the region,
//! asked of EC2, RDS, OpenSearch Service and ElastiCache.

use std::collections::BTreeMap;

use super::retry::{Backoff, patiently};
use crate::clock::Clock;
use crate::cloud::{Cloud, CloudResult};
use crate::core::blueprint::Blueprint;
use crate::core::blueprint::offerings::{Fit, Offered, fit, sized_types};
use crate::core::blueprint::zones::{OfferedZone, choose_zones};
use crate::core::region::RegionCode;
use crate::core::wizard::sizing::ProfileCheck;

/// Every profile's fit in `region`, by profile name. A blueprint that names
/// no type for a key is reported as a problem of the profile.
pub async fn profile_fits(
    cloud: &Cloud,
    clock: &dyn Clock,
    bp: &Blueprint,
    region: &RegionCode,
) -> CloudResult<BTreeMap<String, Fit>> {
    Ok(profile_checks(cloud, clock, bp, region)
        .await?
        .into_iter()
        .map(|(name, c)| (name, c.fit))
        .collect())
}

/// Every profile's fit in `region` and the zones it gets there (its most,
/// or fewer where the region offers fewer usable zones).
pub async fn profile_checks(
    cloud: &Cloud,
    clock: &dyn Clock,
    bp: &Blueprint,
    region: &RegionCode,
) -> CloudResult<BTreeMap<String, ProfileCheck>> {
    let zones: Vec<OfferedZone> = patiently(clock, Backoff::default(), || {
        cloud.regions.availability_zones(region)
    })
    .await?
    .iter()
    .map(OfferedZone::from)
    .collect();
    let mut fits = BTreeMap::new();
    for (name, profile) in &bp.sizing.profiles {
        let az_count = choose_zones(&zones, profile.max_az_count)
            .map(|z| z.az_count())
            .unwrap_or(profile.max_az_count);
        let asked = match sized_types(bp, profile, az_count) {
            Ok(a) => a,
            Err(problem) => {
                fits.insert(
                    name.clone(),
                    ProfileCheck {
                        az_count,
                        fit: Fit {
                            missing: vec![problem],
                            ..Fit::default()
                        },
                    },
                );
                continue;
            }
        };
        let ec2 = patiently(clock, Backoff::default(), || {
            cloud.regions.instance_type_offerings(region, &asked.ec2)
        })
        .await?;
        let (engine, version, class) = &asked.db;
        let db_class = patiently(clock, Backoff::default(), || {
            cloud
                .offerings
                .db_instance_class_offered(engine, version, class)
        })
        .await?;
        let search = patiently(clock, Backoff::default(), || {
            cloud.offerings.search_instance_types(&asked.search.0)
        })
        .await?;
        let cache_listed = patiently(clock, Backoff::default(), || {
            cloud.offerings.cache_node_type_listed(&asked.cache)
        })
        .await?;
        let offered = Offered {
            ec2,
            db_class,
            search,
            cache_listed,
        };
        fits.insert(
            name.clone(),
            ProfileCheck {
                az_count,
                fit: fit(&asked, &offered, region.as_str()),
            },
        );
    }
    Ok(fits)
}
