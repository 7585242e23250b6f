//! Route 53: zones by name, records, changes.

use crate::cloud::actions;
use async_trait::async_trait;
use aws_sdk_route53::types::{
    AliasTarget as SdkAlias, Change, ChangeAction, ChangeBatch, ResourceRecord, ResourceRecordSet,
    RrType,
};

use super::AwsPorts;
use super::error::map_sdk_error;
use crate::cloud::types::*;
use crate::cloud::{CloudError, CloudResult, Dns};
use crate::core::text::fqdn;

const CHANGE: &str = actions::CHANGE_RESOURCE_RECORD_SETS;

fn bare(id: &str, prefix: &str) -> String {
    id.strip_prefix(prefix).unwrap_or(id).to_string()
}

#[async_trait]
impl Dns for AwsPorts {
    async fn zones_named(&self, name: &str) -> CloudResult<Vec<HostedZone>> {
        let wanted = fqdn(name);
        let out = self
            .route53
            .list_hosted_zones_by_name()
            .dns_name(&wanted)
            .max_items(100)
            .send()
            .await
            .map_err(|e| map_sdk_error(actions::LIST_HOSTED_ZONES_BY_NAME, "Route 53", e))?;
        Ok(out
            .hosted_zones()
            .iter()
            .filter(|z| fqdn(z.name()) == wanted)
            .map(|z| HostedZone {
                id: bare(z.id(), "/hostedzone/"),
                name: fqdn(z.name()),
                private: z.config().is_some_and(|c| c.private_zone()),
                record_count: z.resource_record_set_count().unwrap_or(0).max(0) as u64,
            })
            .collect())
    }

    async fn list_records(&self, zone_id: &str) -> CloudResult<Vec<RecordSet>> {
        let mut all = Vec::new();
        let mut start: Option<(String, RrType, Option<String>)> = None;
        loop {
            let mut req = self
                .route53
                .list_resource_record_sets()
                .hosted_zone_id(zone_id);
            if let Some((name, kind, ident)) = start.take() {
                req = req
                    .start_record_name(name)
                    .start_record_type(kind)
                    .set_start_record_identifier(ident);
            }
            let page = req
                .send()
                .await
                .map_err(|e| map_sdk_error(actions::LIST_RESOURCE_RECORD_SETS, "Route 53", e))?;
            all.extend(page.resource_record_sets().iter().map(record));
            match (
                page.is_truncated(),
                page.next_record_name(),
                page.next_record_type(),
            ) {
                (true, Some(name), Some(kind)) => {
                    start = Some((
                        name.to_string(),
                        kind.clone(),
                        page.next_record_identifier().map(str::to_string),
                    ))
                }
                _ => break,
            }
        }
        Ok(all)
    }

    async fn change_records(
        &self,
        zone_id: &str,
        changes: &[RecordChange],
    ) -> CloudResult<DnsChange> {
        let changes = changes
            .iter()
            .map(sdk_change)
            .collect::<CloudResult<Vec<_>>>()?;
        let batch = ChangeBatch::builder()
            .set_changes(Some(changes))
            .build()
            .map_err(|e| CloudError::invalid(CHANGE, e.to_string()))?;
        let out = self
            .route53
            .change_resource_record_sets()
            .hosted_zone_id(zone_id)
            .change_batch(batch)
            .send()
            .await
            .map_err(|e| map_sdk_error(CHANGE, "Route 53", e))?;
        Ok(change_info(out.change_info()))
    }

    async fn get_change(&self, change_id: &str) -> CloudResult<DnsChange> {
        let out = self
            .route53
            .get_change()
            .id(change_id)
            .send()
            .await
            .map_err(|e| map_sdk_error(actions::GET_CHANGE, "Route 53", e))?;
        Ok(change_info(out.change_info()))
    }
}

fn change_info(info: Option<&aws_sdk_route53::types::ChangeInfo>) -> DnsChange {
    DnsChange {
        id: info.map(|i| bare(i.id(), "/change/")).unwrap_or_default(),
        status: match info.map(|i| i.status().as_str()) {
            Some("INSYNC") => ChangeStatus::InSync,
            _ => ChangeStatus::Pending,
        },
    }
}

fn record(r: &ResourceRecordSet) -> RecordSet {
    RecordSet {
        name: r.name().replace("\\052", "*"),
        record_type: r.r#type().as_str().to_string(),
        ttl: r.ttl().and_then(|t| u32::try_from(t).ok()),
        values: r
            .resource_records()
            .iter()
            .map(|v| v.value().to_string())
            .collect(),
        alias: r.alias_target().map(|a| AliasTarget {
            hosted_zone_id: a.hosted_zone_id().to_string(),
            dns_name: a.dns_name().to_string(),
            evaluate_target_health: a.evaluate_target_health(),
        }),
    }
}

fn sdk_change(c: &RecordChange) -> CloudResult<Change> {
    let invalid =
        |e: aws_sdk_route53::error::BuildError| CloudError::invalid(CHANGE, e.to_string());
    let r = &c.record;
    let mut set = ResourceRecordSet::builder()
        .name(&r.name)
        .r#type(RrType::from(r.record_type.as_str()));
    if let Some(alias) = &r.alias {
        set = set.alias_target(
            SdkAlias::builder()
                .hosted_zone_id(&alias.hosted_zone_id)
                .dns_name(&alias.dns_name)
                .evaluate_target_health(alias.evaluate_target_health)
                .build()
                .map_err(invalid)?,
        );
    } else {
        set = set.set_ttl(r.ttl.map(i64::from));
        for v in &r.values {
            set = set.resource_records(
                ResourceRecord::builder()
                    .value(v)
                    .build()
                    .map_err(invalid)?,
            );
        }
    }
    Change::builder()
        .action(match c.action {
            RecordAction::Create => ChangeAction::Create,
            RecordAction::Upsert => ChangeAction::Upsert,
            RecordAction::Delete => ChangeAction::Delete,
        })
        .resource_record_set(set.build().map_err(invalid)?)
        .build()
        .map_err(invalid)
}
