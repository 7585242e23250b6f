//! Which instance types RDS, OpenSearch Service and ElastiCache sell in the
//! region.

use async_trait::async_trait;

use super::AwsPorts;
use super::error::map_sdk_error;
use crate::cloud::actions;
use crate::cloud::types::AddonSettings;
use crate::cloud::{CloudResult, ServiceOfferings};

#[async_trait]
impl ServiceOfferings for AwsPorts {
    async fn db_instance_class_offered(
        &self,
        engine: &str,
        version: &str,
        class: &str,
    ) -> CloudResult<bool> {
        let out = self
            .rds
            .describe_orderable_db_instance_options()
            .engine(engine)
            .engine_version(version)
            .db_instance_class(class)
            .vpc(true)
            .max_records(20)
            .send()
            .await
            .map_err(|e| {
                map_sdk_error(actions::DESCRIBE_ORDERABLE_DB_INSTANCE_OPTIONS, "RDS", e)
            })?;
        Ok(!out.orderable_db_instance_options().is_empty())
    }

    async fn search_instance_types(&self, engine_version: &str) -> CloudResult<Vec<String>> {
        let mut types = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let out = self
                .opensearch
                .list_instance_type_details()
                .engine_version(engine_version)
                .max_results(100)
                .set_next_token(token.take())
                .send()
                .await
                .map_err(|e| {
                    map_sdk_error(actions::LIST_INSTANCE_TYPE_DETAILS, "OpenSearch Service", e)
                })?;
            types.extend(
                out.instance_type_details()
                    .iter()
                    .filter_map(|d| d.instance_type())
                    .map(|t| t.as_str().to_string()),
            );
            match out.next_token() {
                Some(t) if !t.is_empty() => token = Some(t.to_string()),
                _ => return Ok(types),
            }
        }
    }

    async fn cache_node_type_listed(&self, node_type: &str) -> CloudResult<bool> {
        let out = self
            .elasticache
            .describe_reserved_cache_nodes_offerings()
            .cache_node_type(node_type)
            .max_records(20)
            .send()
            .await
            .map_err(|e| {
                map_sdk_error(
                    actions::DESCRIBE_RESERVED_CACHE_NODES_OFFERINGS,
                    "ElastiCache",
                    e,
                )
            })?;
        Ok(!out.reserved_cache_nodes_offerings().is_empty())
    }

    async fn addon_settings(
        &self,
        addon: &str,
        kubernetes_version: &str,
    ) -> CloudResult<Option<AddonSettings>> {
        let out = self
            .eks
            .describe_addon_versions()
            .addon_name(addon)
            .kubernetes_version(kubernetes_version)
            .send()
            .await
            .map_err(|e| map_sdk_error(actions::DESCRIBE_ADDON_VERSIONS, "EKS", e))?;
        let default = out
            .addons()
            .iter()
            .flat_map(|a| a.addon_versions())
            .find(|v| {
                v.compatibilities()
                    .iter()
                    .any(|c| c.default_version() && c.cluster_version() == Some(kubernetes_version))
            })
            .and_then(|v| v.addon_version());
        let Some(version) = default else {
            return Ok(None);
        };
        let conf = self
            .eks
            .describe_addon_configuration()
            .addon_name(addon)
            .addon_version(version)
            .send()
            .await
            .map_err(|e| map_sdk_error(actions::DESCRIBE_ADDON_CONFIGURATION, "EKS", e))?;
        let keys = conf
            .configuration_schema()
            .and_then(|s| serde_json::from_str::<serde_json::Value>(s).ok())
            .and_then(|v| {
                v.get("properties")?
                    .as_object()
                    .map(|o| o.keys().cloned().collect())
            })
            .unwrap_or_default();
        Ok(Some(AddonSettings {
            version: version.to_string(),
            keys,
        }))
    }
}
