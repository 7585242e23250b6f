//! The ports over the sandbox account: every method goes through
//! [`Shared::call`], which applies the fault script, loads the current
//! state and saves it after a change.

use crate::cloud::actions;
use std::sync::Arc;
use std::time::SystemTime;

use async_trait::async_trait;

use super::cfn::CfnEngine;
use super::state::{ACCOUNT_ID, AccountState, INSTALLER_INSTANCE_ID};
use super::{Access, Shared};
use crate::cloud::types::*;
use crate::cloud::{
    AccountSettings, Certificates, CloudError, CloudResult, Dns, Iam, Identity, Instances, Regions,
    ServiceOfferings, Stacks,
};
use crate::core::region::RegionCode;

pub(crate) struct SandboxPorts {
    pub(crate) shared: Arc<Shared>,
    pub(crate) region: RegionCode,
}

impl SandboxPorts {
    /// Runs `op` on this region's CloudFormation, creating it on first use.
    /// A read moves the simulation to now; when that changed the engine
    /// (resources progressed, events were added) the account is saved, so
    /// every process and every later run sees the same events.
    async fn stacks<T>(
        &self,
        action: &str,
        access: Access,
        op: impl FnOnce(&mut CfnEngine, SystemTime) -> CloudResult<T>,
    ) -> CloudResult<T> {
        let region = self.region.clone();
        let faults = &self.shared.faults;
        self.shared
            .call_tracked(action, access, move |state: &mut AccountState, now| {
                if let Err(e) = state.check_region_usable(&region, action) {
                    return (Err(e), false);
                }
                let zones: Vec<String> = state
                    .availability_zones(&region)
                    .map(|z| z.into_iter().map(|z| z.name).collect())
                    .unwrap_or_default();
                let roles = state.service_role_names();
                let engine = state.stacks.entry(region.to_string()).or_insert_with(|| {
                    let mut engine = CfnEngine::new(ACCOUNT_ID, region.as_str());
                    engine.set_faults(faults);
                    engine
                });
                engine.set_zones(zones);
                engine.set_service_roles(roles);
                if access == Access::Write {
                    return (op(engine, now), true);
                }
                let before = serde_json::to_vec(engine).ok();
                let result = op(engine, now);
                let changed = before != serde_json::to_vec(engine).ok();
                (result, changed)
            })
            .await
    }
}

#[async_trait]
impl Regions for SandboxPorts {
    async fn list_regions(&self) -> CloudResult<Vec<AccountRegion>> {
        self.shared
            .call(actions::DESCRIBE_REGIONS, Access::Read, |s, _| {
                Ok(s.regions
                    .iter()
                    .map(|r| AccountRegion {
                        code: r.code.clone(),
                        opt_in: r.opt_in,
                    })
                    .collect())
            })
            .await
    }

    async fn availability_zones(&self, region: &RegionCode) -> CloudResult<Vec<AvailabilityZone>> {
        self.shared
            .call(
                actions::DESCRIBE_AVAILABILITY_ZONES,
                Access::Read,
                |s, _| s.availability_zones(region),
            )
            .await
    }

    async fn instance_type_offerings(
        &self,
        region: &RegionCode,
        types: &[String],
    ) -> CloudResult<Vec<String>> {
        self.shared
            .call(
                actions::DESCRIBE_INSTANCE_TYPE_OFFERINGS,
                Access::Read,
                |s, _| s.instance_type_offerings(region, types),
            )
            .await
    }
}

#[async_trait]
impl Identity for SandboxPorts {
    async fn caller_identity(&self) -> CloudResult<CallerIdentity> {
        self.shared
            .call(actions::GET_CALLER_IDENTITY, Access::Read, |_, _| {
                Ok(CallerIdentity {
                    account: ACCOUNT_ID.into(),
                    arn: format!(
                        "arn:aws:sts::{ACCOUNT_ID}:assumed-role/ph-installer-sandbox/{INSTALLER_INSTANCE_ID}"
                    ),
                    user_id: format!("AROASANDBOXEXAMPLE0001:{INSTALLER_INSTANCE_ID}"),
                })
            })
            .await
    }

    fn session_info(&self) -> SessionInfo {
        SessionInfo {
            credential_source: "sandbox (simulated account; nothing real is created)".into(),
            endpoint_override: None,
        }
    }

    /// The real time: the sandbox stands in for AWS's clock, which agrees
    /// with the local one; virtual time is only the simulation's.
    async fn server_time(&self) -> CloudResult<SystemTime> {
        let clock = self.shared.clock.clone();
        self.shared
            .call(actions::GET_CALLER_IDENTITY, Access::Read, move |_, _| {
                Ok(clock.now())
            })
            .await
    }
}

#[async_trait]
impl Certificates for SandboxPorts {
    async fn list_certificates(&self) -> CloudResult<Vec<CertificateSummary>> {
        let region = &self.region;
        self.shared
            .call(actions::LIST_CERTIFICATES, Access::Read, |s, _| {
                s.check_region_usable(region, actions::LIST_CERTIFICATES)?;
                Ok(s.list_certificates(region))
            })
            .await
    }

    async fn describe_certificate(&self, arn: &str) -> CloudResult<Certificate> {
        let region = &self.region;
        self.shared
            .call(actions::DESCRIBE_CERTIFICATE, Access::Read, |s, now| {
                s.check_region_usable(region, actions::DESCRIBE_CERTIFICATE)?;
                s.describe_certificate(region, arn, now)
            })
            .await
    }

    async fn request_certificate(&self, request: &CertificateRequest) -> CloudResult<String> {
        let region = &self.region;
        self.shared
            .call(actions::REQUEST_CERTIFICATE, Access::Write, |s, now| {
                s.check_region_usable(region, actions::REQUEST_CERTIFICATE)?;
                s.request_certificate(region, request, now)
            })
            .await
    }
}

#[async_trait]
impl Dns for SandboxPorts {
    async fn zones_named(&self, name: &str) -> CloudResult<Vec<HostedZone>> {
        self.shared
            .call(actions::LIST_HOSTED_ZONES_BY_NAME, Access::Read, |s, _| {
                Ok(s.zones_named(name))
            })
            .await
    }

    async fn list_records(&self, zone_id: &str) -> CloudResult<Vec<RecordSet>> {
        self.shared
            .call(actions::LIST_RESOURCE_RECORD_SETS, Access::Read, |s, _| {
                s.list_records(zone_id)
            })
            .await
    }

    async fn change_records(
        &self,
        zone_id: &str,
        changes: &[RecordChange],
    ) -> CloudResult<DnsChange> {
        self.shared
            .call(
                actions::CHANGE_RESOURCE_RECORD_SETS,
                Access::Write,
                |s, now| s.change_records(zone_id, changes, now),
            )
            .await
    }

    async fn get_change(&self, change_id: &str) -> CloudResult<DnsChange> {
        self.shared
            .call(actions::GET_CHANGE, Access::Read, |s, now| {
                s.get_change(change_id, now)
            })
            .await
    }
}

#[async_trait]
impl Stacks for SandboxPorts {
    async fn describe_stack(&self, name: &str) -> CloudResult<Option<Stack>> {
        self.stacks(actions::DESCRIBE_STACKS, Access::Read, |e, now| {
            e.describe_stack(now, name)
        })
        .await
    }

    async fn list_stacks(&self) -> CloudResult<Vec<Stack>> {
        self.stacks(actions::DESCRIBE_STACKS, Access::Read, |e, now| {
            e.list_stacks(now)
        })
        .await
    }

    async fn create_change_set(&self, request: &ChangeSetRequest) -> CloudResult<ChangeSetRef> {
        self.stacks(actions::CREATE_CHANGE_SET, Access::Write, |e, now| {
            e.create_change_set(now, request)
        })
        .await
    }

    async fn describe_change_set(&self, stack: &str, change_set: &str) -> CloudResult<ChangeSet> {
        self.stacks(actions::DESCRIBE_CHANGE_SET, Access::Read, |e, now| {
            e.describe_change_set(now, stack, change_set)
        })
        .await
    }

    async fn delete_change_set(&self, stack: &str, change_set: &str) -> CloudResult<()> {
        self.stacks(actions::DELETE_CHANGE_SET, Access::Write, |e, now| {
            e.delete_change_set(now, stack, change_set)
        })
        .await
    }

    async fn execute_change_set(&self, request: &ExecuteRequest) -> CloudResult<()> {
        self.stacks(actions::EXECUTE_CHANGE_SET, Access::Write, |e, now| {
            e.execute_change_set(now, request)
        })
        .await
    }

    async fn update_stack(&self, request: &UpdateRequest) -> CloudResult<()> {
        self.stacks(actions::UPDATE_STACK, Access::Write, |e, now| {
            e.update_stack(now, request)
        })
        .await
    }

    async fn stack_events(
        &self,
        stack: &str,
        after_event_id: Option<&str>,
    ) -> CloudResult<Vec<StackEvent>> {
        crate::cloud::events_since(after_event_id, |token| async move {
            self.stacks(actions::DESCRIBE_STACK_EVENTS, Access::Read, |e, now| {
                e.stack_events_page(now, stack, token.as_deref())
            })
            .await
        })
        .await
    }

    async fn continue_update_rollback(
        &self,
        stack: &str,
        resources_to_skip: &[String],
        client_request_token: &str,
    ) -> CloudResult<()> {
        self.stacks(
            actions::CONTINUE_UPDATE_ROLLBACK,
            Access::Write,
            |e, now| {
                e.continue_update_rollback(now, stack, resources_to_skip, client_request_token)
            },
        )
        .await
    }

    async fn rollback_stack(&self, stack: &str, client_request_token: &str) -> CloudResult<()> {
        self.stacks(actions::ROLLBACK_STACK, Access::Write, |e, now| {
            e.rollback_stack(now, stack, client_request_token)
        })
        .await
    }

    async fn cancel_update_stack(
        &self,
        stack: &str,
        client_request_token: &str,
    ) -> CloudResult<()> {
        self.stacks(actions::CANCEL_UPDATE_STACK, Access::Write, |e, now| {
            e.cancel_update_stack(now, stack, client_request_token)
        })
        .await
    }

    async fn delete_stack(&self, request: &DeleteRequest) -> CloudResult<()> {
        self.stacks(actions::DELETE_STACK, Access::Write, |e, now| {
            e.delete_stack(now, request)
        })
        .await
    }

    async fn set_termination_protection(&self, stack: &str, enabled: bool) -> CloudResult<()> {
        self.stacks(
            actions::UPDATE_TERMINATION_PROTECTION,
            Access::Write,
            |e, now| e.set_termination_protection(now, stack, enabled),
        )
        .await
    }
}

#[async_trait]
impl AccountSettings for SandboxPorts {
    async fn create_service_linked_role(&self, service: &str) -> CloudResult<ServiceRoleOutcome> {
        self.shared
            .call(
                actions::CREATE_SERVICE_LINKED_ROLE,
                Access::Write,
                |s, _| s.create_service_linked_role(service),
            )
            .await
    }

    async fn public_access_block(
        &self,
        account_id: &str,
    ) -> CloudResult<Option<PublicAccessBlock>> {
        self.shared
            .call(
                actions::GET_ACCOUNT_PUBLIC_ACCESS_BLOCK,
                Access::Read,
                |s, _| s.public_access_block(account_id),
            )
            .await
    }
}

/// IAM is global: the port's region plays no part.
#[async_trait]
impl Iam for SandboxPorts {
    async fn list_access_keys(&self, user_name: &str) -> CloudResult<Vec<AccessKeyInfo>> {
        self.shared
            .call(actions::LIST_ACCESS_KEYS, Access::Read, |s, _| {
                s.list_access_keys(user_name)
            })
            .await
    }

    async fn create_access_key(&self, user_name: &str) -> CloudResult<NewAccessKey> {
        self.shared
            .call(actions::CREATE_ACCESS_KEY, Access::Write, |s, now| {
                s.create_access_key(user_name, now)
            })
            .await
    }

    async fn delete_access_key(&self, user_name: &str, access_key_id: &str) -> CloudResult<()> {
        self.shared
            .call(actions::DELETE_ACCESS_KEY, Access::Write, |s, _| {
                s.delete_access_key(user_name, access_key_id)
            })
            .await
    }
}

#[async_trait]
impl ServiceOfferings for SandboxPorts {
    async fn db_instance_class_offered(
        &self,
        engine: &str,
        version: &str,
        class: &str,
    ) -> CloudResult<bool> {
        let region = &self.region;
        self.shared
            .call(
                actions::DESCRIBE_ORDERABLE_DB_INSTANCE_OPTIONS,
                Access::Read,
                |s, _| s.db_instance_class_offered(region, engine, version, class),
            )
            .await
    }

    async fn search_instance_types(&self, engine_version: &str) -> CloudResult<Vec<String>> {
        let region = &self.region;
        self.shared
            .call(actions::LIST_INSTANCE_TYPE_DETAILS, Access::Read, |s, _| {
                s.search_instance_types(region, engine_version)
            })
            .await
    }

    async fn addon_settings(
        &self,
        addon: &str,
        kubernetes_version: &str,
    ) -> CloudResult<Option<AddonSettings>> {
        let region = &self.region;
        self.shared
            .call(actions::DESCRIBE_ADDON_VERSIONS, Access::Read, |s, _| {
                s.check_region_usable(region, actions::DESCRIBE_ADDON_VERSIONS)?;
                Ok(super::state::addon_settings(addon, kubernetes_version))
            })
            .await
    }

    async fn cache_node_type_listed(&self, node_type: &str) -> CloudResult<bool> {
        let region = &self.region;
        self.shared
            .call(
                actions::DESCRIBE_RESERVED_CACHE_NODES_OFFERINGS,
                Access::Read,
                |s, _| s.cache_node_type_listed(region, node_type),
            )
            .await
    }
}

#[async_trait]
impl Instances for SandboxPorts {
    async fn public_image_id(&self, parameter: &str) -> CloudResult<String> {
        let region = &self.region;
        self.shared
            .call(actions::GET_PARAMETER, Access::Read, |s, _| {
                s.check_region_usable(region, actions::GET_PARAMETER)?;
                public_image_id(region.as_str(), parameter)
            })
            .await
    }

    async fn describe_instances(&self, filter: &InstanceFilter) -> CloudResult<Vec<Instance>> {
        let region = &self.region;
        self.shared
            .call_tracked(actions::DESCRIBE_INSTANCES, Access::Read, |s, now| {
                if let Err(e) = s.check_region_usable(region, actions::DESCRIBE_INSTANCES) {
                    return (Err(e), false);
                }
                let changed = s.sync_stack_instances(region, now);
                (s.describe_instances(region, filter), changed)
            })
            .await
    }

    async fn check_modify_metadata_options(
        &self,
        instance_id: &str,
        change: &MetadataChange,
    ) -> CloudResult<()> {
        let region = &self.region;
        self.shared
            .call_tracked(
                actions::MODIFY_INSTANCE_METADATA_OPTIONS,
                Access::Read,
                |s, now| {
                    if let Err(e) =
                        s.check_region_usable(region, actions::MODIFY_INSTANCE_METADATA_OPTIONS)
                    {
                        return (Err(e), false);
                    }
                    let changed = s.sync_stack_instances(region, now);
                    let result = s.check_modify_metadata(region, instance_id, change);
                    (result.map(|_| ()), changed)
                },
            )
            .await
    }

    async fn modify_metadata_options(
        &self,
        instance_id: &str,
        change: &MetadataChange,
    ) -> CloudResult<MetadataOptions> {
        let region = &self.region;
        self.shared
            .call(
                actions::MODIFY_INSTANCE_METADATA_OPTIONS,
                Access::Write,
                |s, now| {
                    s.check_region_usable(region, actions::MODIFY_INSTANCE_METADATA_OPTIONS)?;
                    s.sync_stack_instances(region, now);
                    s.modify_metadata(region, instance_id, change, now)
                },
            )
            .await
    }
}

/// Public image parameters AWS publishes (a sample of the Amazon Linux ones).
const PUBLIC_IMAGE_PARAMETERS: &[&str] = &[
    "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64",
    "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-arm64",
    "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-6.1-x86_64",
    "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-6.1-arm64",
    "/aws/service/ami-amazon-linux-latest/al2023-ami-minimal-kernel-default-x86_64",
    "/aws/service/ami-amazon-linux-latest/amzn2-ami-hvm-x86_64-gp2",
];

/// AWS's public image parameters name one AMI per region; the sandbox makes
/// up a stable one. Anything else is not found, as in SSM.
fn public_image_id(region: &str, parameter: &str) -> CloudResult<String> {
    if !PUBLIC_IMAGE_PARAMETERS.contains(&parameter) {
        return Err(CloudError::not_found(format!(
            "ParameterNotFound: the SSM parameter {parameter}"
        )));
    }
    Ok(format!(
        "ami-{}",
        super::cfn::ids::hex(&[region, parameter], 17)
    ))
}
