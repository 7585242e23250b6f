//! `ph-installer regions`: the built-in table merged with the account's
//! DescribeRegions, with availability-zone counts per usable region.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use super::retry::{Backoff, patiently};
use crate::clock::Clock;
use crate::cloud::{CloudResult, Regions};
use crate::core::regions::{RegionRow, merge};

/// At most this many AZ look-ups at once (one call per region).
const PARALLEL: usize = 8;
/// A region that does not answer in time shows no AZ count rather than
/// stalling the list; long enough for the throttling retries to run out.
const PER_REGION: Duration = Duration::from_secs(30);

pub async fn collect(
    regions: Arc<dyn Regions>,
    clock: Arc<dyn Clock>,
) -> CloudResult<Vec<RegionRow>> {
    let account: Vec<_> = patiently(clock.as_ref(), Backoff::default(), || {
        regions.list_regions()
    })
    .await?
    .into_iter()
    .map(|r| (r.code, r.opt_in))
    .collect();
    let mut rows = merge(&account);
    let gate = Arc::new(Semaphore::new(PARALLEL));
    let mut tasks = JoinSet::new();
    for (i, row) in rows.iter().enumerate().filter(|(_, r)| r.usable()) {
        let (regions, gate, code) = (regions.clone(), gate.clone(), row.code.clone());
        let clock = clock.clone();
        tasks.spawn(async move {
            let _permit = gate.acquire_owned().await;
            let zones = tokio::time::timeout(
                PER_REGION,
                patiently(clock.as_ref(), Backoff::default(), || {
                    regions.availability_zones(&code)
                }),
            )
            .await;
            match zones {
                Ok(Ok(z)) => (i, Some(z.iter().filter(|z| z.state == "available").count())),
                Ok(Err(e)) => {
                    tracing::warn!(region = %code, error = %e, "could not list availability zones");
                    (i, None)
                }
                Err(_) => {
                    tracing::warn!(region = %code, "availability zones timed out");
                    (i, None)
                }
            }
        });
    }
    while let Some(done) = tasks.join_next().await {
        if let Ok((i, count)) = done {
            rows[i].az_count = count;
        }
    }
    Ok(rows)
}
