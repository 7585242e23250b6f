//! EC2's view of regions: DescribeRegions, availability zones, offerings.

use crate::cloud::actions;
use async_trait::async_trait;
use aws_sdk_ec2::types::{Filter, LocationType};

use super::AwsPorts;
use super::error::map_sdk_error;
use crate::cloud::types::{AccountRegion, AvailabilityZone};
use crate::cloud::{CloudResult, Regions};
use crate::core::region::{OptInStatus, RegionCode, parse_region};

#[async_trait]
impl Regions for AwsPorts {
    async fn list_regions(&self) -> CloudResult<Vec<AccountRegion>> {
        let out = self
            .ec2
            .describe_regions()
            .all_regions(true)
            .send()
            .await
            .map_err(|e| map_sdk_error(actions::DESCRIBE_REGIONS, "EC2", e))?;
        let mut regions: Vec<AccountRegion> = out
            .regions()
            .iter()
            .filter_map(|r| {
                // Other partitions (an emulator lists GovCloud and China) are dropped here.
                let code = parse_region(r.region_name()?).ok()?;
                let opt_in = opt_in_of(r.opt_in_status());
                Some(AccountRegion { code, opt_in })
            })
            .collect();
        regions.sort_by(|a, b| a.code.as_str().cmp(b.code.as_str()));
        regions.dedup_by(|a, b| a.code == b.code);
        Ok(regions)
    }

    async fn availability_zones(&self, region: &RegionCode) -> CloudResult<Vec<AvailabilityZone>> {
        let out = self
            .ec2_in(region)
            .describe_availability_zones()
            .send()
            .await
            .map_err(|e| map_sdk_error(actions::DESCRIBE_AVAILABILITY_ZONES, "EC2", e))?;
        Ok(out
            .availability_zones()
            .iter()
            // Local Zones and Wavelength Zones are not availability zones.
            .filter(|z| z.zone_type().is_none_or(|t| t == "availability-zone"))
            .map(|z| AvailabilityZone {
                name: z.zone_name().unwrap_or_default().to_string(),
                zone_id: z.zone_id().unwrap_or_default().to_string(),
                state: z
                    .state()
                    .map(|s| s.as_str().to_string())
                    .unwrap_or_else(|| "available".into()),
            })
            .collect())
    }

    async fn instance_type_offerings(
        &self,
        region: &RegionCode,
        types: &[String],
    ) -> CloudResult<Vec<String>> {
        if types.is_empty() {
            return Ok(Vec::new());
        }
        let mut stream = self
            .ec2_in(region)
            .describe_instance_type_offerings()
            .location_type(LocationType::Region)
            .filters(
                Filter::builder()
                    .name("instance-type")
                    .set_values(Some(types.to_vec()))
                    .build(),
            )
            .into_paginator()
            .send();
        let mut offered = Vec::new();
        while let Some(page) = stream.next().await {
            let page = page
                .map_err(|e| map_sdk_error(actions::DESCRIBE_INSTANCE_TYPE_OFFERINGS, "EC2", e))?;
            for o in page.instance_type_offerings() {
                if let Some(t) = o.instance_type() {
                    offered.push(t.as_str().to_string());
                }
            }
        }
        let mut out: Vec<String> = Vec::new();
        for t in types.iter().filter(|t| offered.contains(t)) {
            if !out.contains(t) {
                out.push(t.clone());
            }
        }
        Ok(out)
    }
}

/// No status at all (an older API or an emulator) means an always-on
/// region; a status this build does not know is treated as not enabled, so
/// a region is never used on a guess.
fn opt_in_of(status: Option<&str>) -> OptInStatus {
    match status {
        None => OptInStatus::OptInNotRequired,
        Some(s) => OptInStatus::parse(s).unwrap_or(OptInStatus::NotOptedIn),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_opt_in_status_this_build_does_not_know_is_not_taken_as_enabled() {
        assert_eq!(opt_in_of(None), OptInStatus::OptInNotRequired);
        assert_eq!(opt_in_of(Some("opted-in")), OptInStatus::OptedIn);
        assert_eq!(opt_in_of(Some("not-opted-in")), OptInStatus::NotOptedIn);
        assert_eq!(opt_in_of(Some("enabling")), OptInStatus::NotOptedIn);
    }
}
