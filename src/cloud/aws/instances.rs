//! EC2 instances and their metadata options.

use crate::cloud::actions;
use async_trait::async_trait;
use aws_sdk_ec2::types::{
    Filter, HttpTokensState, InstanceMetadataEndpointState, InstanceMetadataOptionsState,
};

use super::AwsPorts;
use super::error::map_sdk_error;
use crate::cloud::types::*;
use crate::cloud::{CloudError, CloudResult, Instances};

const MODIFY: &str = actions::MODIFY_INSTANCE_METADATA_OPTIONS;

fn options(
    tokens: Option<&HttpTokensState>,
    hop_limit: Option<i32>,
    endpoint: Option<&InstanceMetadataEndpointState>,
    state: Option<&InstanceMetadataOptionsState>,
) -> MetadataOptions {
    MetadataOptions {
        http_tokens: match tokens {
            Some(HttpTokensState::Required) => HttpTokens::Required,
            _ => HttpTokens::Optional,
        },
        hop_limit: hop_limit.and_then(|h| u8::try_from(h).ok()).unwrap_or(1),
        endpoint_enabled: !matches!(endpoint, Some(InstanceMetadataEndpointState::Disabled)),
        state: match state {
            Some(InstanceMetadataOptionsState::Pending) => MetadataState::Pending,
            _ => MetadataState::Applied,
        },
    }
}

/// EC2 answers every dry run with an error: `DryRunOperation` when the call
/// would have succeeded, `UnauthorizedOperation` when it would be denied.
fn dry_run_outcome(dry_run: bool, err: CloudError) -> CloudResult<Option<MetadataOptions>> {
    match err {
        CloudError::Other { code, .. } if dry_run && code == "DryRunOperation" => Ok(None),
        other => Err(other),
    }
}

impl AwsPorts {
    async fn modify(
        &self,
        instance_id: &str,
        change: &MetadataChange,
        dry_run: bool,
    ) -> CloudResult<Option<MetadataOptions>> {
        let result = self
            .ec2
            .modify_instance_metadata_options()
            .instance_id(instance_id)
            .set_http_tokens(change.http_tokens.map(|t| match t {
                HttpTokens::Required => HttpTokensState::Required,
                HttpTokens::Optional => HttpTokensState::Optional,
            }))
            .set_http_put_response_hop_limit(change.hop_limit.map(i32::from))
            .set_http_endpoint(change.endpoint_enabled.map(|e| {
                if e {
                    InstanceMetadataEndpointState::Enabled
                } else {
                    InstanceMetadataEndpointState::Disabled
                }
            }))
            .dry_run(dry_run)
            .send()
            .await;
        match result {
            Ok(out) => Ok(out.instance_metadata_options().map(|o| {
                options(
                    o.http_tokens(),
                    o.http_put_response_hop_limit(),
                    o.http_endpoint(),
                    o.state(),
                )
            })),
            Err(e) => dry_run_outcome(dry_run, map_sdk_error(MODIFY, "EC2", e)),
        }
    }
}

#[async_trait]
impl Instances for AwsPorts {
    async fn public_image_id(&self, parameter: &str) -> CloudResult<String> {
        let out = self
            .ssm
            .get_parameter()
            .name(parameter)
            .send()
            .await
            .map_err(|e| map_sdk_error(actions::GET_PARAMETER, "SSM", e))?;
        out.parameter()
            .and_then(|p| p.value())
            .filter(|v| v.starts_with("ami-"))
            .map(str::to_string)
            .ok_or_else(|| CloudError::Other {
                action: actions::GET_PARAMETER.into(),
                code: "NotAnImage".into(),
                message: format!("{parameter} does not name an AMI"),
            })
    }

    async fn describe_instances(&self, filter: &InstanceFilter) -> CloudResult<Vec<Instance>> {
        let filters: Vec<Filter> = filter
            .tags
            .iter()
            .map(|t| {
                Filter::builder()
                    .name(format!("tag:{}", t.key))
                    .values(&t.value)
                    .build()
            })
            .collect();
        let mut stream = self
            .ec2
            .describe_instances()
            .set_instance_ids((!filter.ids.is_empty()).then(|| filter.ids.clone()))
            .set_filters((!filters.is_empty()).then_some(filters))
            .into_paginator()
            .send();
        let mut all = Vec::new();
        while let Some(page) = stream.next().await {
            let page = page.map_err(|e| map_sdk_error(actions::DESCRIBE_INSTANCES, "EC2", e))?;
            for r in page.reservations() {
                for i in r.instances() {
                    let tags: Vec<Tag> = i
                        .tags()
                        .iter()
                        .map(|t| {
                            Tag::new(t.key().unwrap_or_default(), t.value().unwrap_or_default())
                        })
                        .collect();
                    let m = i.metadata_options();
                    all.push(Instance {
                        id: i.instance_id().unwrap_or_default().to_string(),
                        name: tags
                            .iter()
                            .find(|t| t.key == "Name")
                            .map(|t| t.value.clone()),
                        state: i
                            .state()
                            .and_then(|s| s.name())
                            .map(|n| n.as_str().to_string())
                            .unwrap_or_default(),
                        instance_type: i
                            .instance_type()
                            .map(|t| t.as_str().to_string())
                            .unwrap_or_default(),
                        availability_zone: i
                            .placement()
                            .and_then(|p| p.availability_zone())
                            .map(str::to_string),
                        tags,
                        metadata: options(
                            m.and_then(|m| m.http_tokens()),
                            m.and_then(|m| m.http_put_response_hop_limit()),
                            m.and_then(|m| m.http_endpoint()),
                            m.and_then(|m| m.state()),
                        ),
                    });
                }
            }
        }
        Ok(all)
    }

    async fn check_modify_metadata_options(
        &self,
        instance_id: &str,
        change: &MetadataChange,
    ) -> CloudResult<()> {
        self.modify(instance_id, change, true).await.map(|_| ())
    }

    async fn modify_metadata_options(
        &self,
        instance_id: &str,
        change: &MetadataChange,
    ) -> CloudResult<MetadataOptions> {
        self.modify(instance_id, change, false)
            .await?
            .ok_or_else(|| CloudError::Other {
                action: MODIFY.into(),
                code: "NoMetadataOptions".into(),
                message: format!("EC2 returned no metadata options for {instance_id}"),
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cloud::aws::error::classify;

    fn ec2_error(code: &str, message: &str, status: u16) -> CloudError {
        classify(MODIFY, "EC2", Some(code), message, Some(status))
    }

    #[test]
    fn a_dry_run_ec2_would_allow_is_ok_and_one_it_would_deny_names_the_action() {
        let would_succeed = ec2_error(
            "DryRunOperation",
            "Request would have succeeded, but DryRun flag is set.",
            412,
        );
        assert_eq!(dry_run_outcome(true, would_succeed.clone()), Ok(None));
        // Outside a dry run the same code is not success.
        assert!(dry_run_outcome(false, would_succeed).is_err());
        let denied = ec2_error(
            "UnauthorizedOperation",
            "You are not authorized to perform this operation.",
            403,
        );
        let err = dry_run_outcome(true, denied).unwrap_err();
        assert!(
            err.to_string().contains(&format!("Grant {MODIFY}")),
            "{err}"
        );
    }
}
