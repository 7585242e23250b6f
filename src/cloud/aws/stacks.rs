//! CloudFormation: stacks, change sets, events, recovery.

use crate::cloud::actions;
use async_trait::async_trait;
use aws_sdk_cloudformation as cfn;
use cfn::types::{Capability, ChangeSetType, Parameter, StackStatus as SdkStackStatus};

use super::error::map_sdk_error;
use super::{AwsPorts, to_system_time};
use crate::cloud::types::*;
use crate::cloud::{CloudError, CloudResult, Stacks};
use crate::core::stack::{ResourceStatus, StackStatus};

const SERVICE: &str = "CloudFormation";

fn err<E>(
    action: &'static str,
) -> impl FnOnce(
    aws_smithy_runtime_api::client::result::SdkError<
        E,
        aws_smithy_runtime_api::client::orchestrator::HttpResponse,
    >,
) -> CloudError
where
    E: aws_smithy_types::error::metadata::ProvideErrorMetadata
        + std::error::Error
        + Send
        + Sync
        + 'static,
{
    move |e| map_sdk_error(action, SERVICE, e)
}

fn parameters(input: &[ParameterInput]) -> Vec<Parameter> {
    input
        .iter()
        .map(|p| {
            let b = Parameter::builder().parameter_key(&p.key);
            match p.value.expose() {
                Some(v) => b.parameter_value(v),
                None => b.use_previous_value(true),
            }
            .build()
        })
        .collect()
}

fn tags(input: &[Tag]) -> Vec<cfn::types::Tag> {
    input
        .iter()
        .map(|t| {
            cfn::types::Tag::builder()
                .key(&t.key)
                .value(&t.value)
                .build()
        })
        .collect()
}

fn capabilities(input: &[String]) -> Vec<Capability> {
    input.iter().map(|c| Capability::from(c.as_str())).collect()
}

fn stack(s: &cfn::types::Stack) -> Option<Stack> {
    let status = StackStatus::parse(s.stack_status()?.as_str())?;
    Some(Stack {
        name: s.stack_name()?.to_string(),
        id: s.stack_id().unwrap_or_default().to_string(),
        status,
        status_reason: s.stack_status_reason().map(str::to_string),
        created: to_system_time(s.creation_time()).unwrap_or(std::time::UNIX_EPOCH),
        last_updated: to_system_time(s.last_updated_time()),
        parameters: s
            .parameters()
            .iter()
            .map(|p| StackParameter {
                key: p.parameter_key().unwrap_or_default().to_string(),
                value: p.parameter_value().unwrap_or_default().to_string(),
            })
            .collect(),
        outputs: s
            .outputs()
            .iter()
            .map(|o| StackOutput {
                key: o.output_key().unwrap_or_default().to_string(),
                value: o.output_value().unwrap_or_default().to_string(),
                description: o.description().map(str::to_string),
                export_name: o.export_name().map(str::to_string),
            })
            .collect(),
        tags: s
            .tags()
            .iter()
            .map(|t| Tag::new(t.key().unwrap_or_default(), t.value().unwrap_or_default()))
            .collect(),
        disable_rollback: s.disable_rollback().unwrap_or(false),
        termination_protection: s.enable_termination_protection().unwrap_or(false),
    })
}

fn change_set_status(s: Option<&cfn::types::ChangeSetStatus>) -> ChangeSetStatus {
    use cfn::types::ChangeSetStatus as S;
    match s {
        Some(S::CreatePending) => ChangeSetStatus::CreatePending,
        Some(S::CreateInProgress) => ChangeSetStatus::CreateInProgress,
        Some(S::CreateComplete) => ChangeSetStatus::CreateComplete,
        Some(S::DeletePending) => ChangeSetStatus::DeletePending,
        Some(S::DeleteInProgress) => ChangeSetStatus::DeleteInProgress,
        Some(S::DeleteComplete) => ChangeSetStatus::DeleteComplete,
        Some(S::DeleteFailed) => ChangeSetStatus::DeleteFailed,
        _ => ChangeSetStatus::Failed,
    }
}

fn execution_status(s: Option<&cfn::types::ExecutionStatus>) -> ExecutionStatus {
    use cfn::types::ExecutionStatus as S;
    match s {
        Some(S::Available) => ExecutionStatus::Available,
        Some(S::ExecuteInProgress) => ExecutionStatus::ExecuteInProgress,
        Some(S::ExecuteComplete) => ExecutionStatus::ExecuteComplete,
        Some(S::ExecuteFailed) => ExecutionStatus::ExecuteFailed,
        Some(S::Obsolete) => ExecutionStatus::Obsolete,
        _ => ExecutionStatus::Unavailable,
    }
}

fn resource_change(c: &cfn::types::ResourceChange) -> ResourceChange {
    use cfn::types::ChangeAction as A;
    use cfn::types::Replacement as R;
    let mut changed: Vec<String> = c
        .details()
        .iter()
        .filter_map(|d| d.target()?.name().map(str::to_string))
        .collect();
    changed.sort();
    changed.dedup();
    ResourceChange {
        action: match c.action() {
            Some(A::Add) => ResourceAction::Add,
            Some(A::Remove) => ResourceAction::Remove,
            Some(A::Import) => ResourceAction::Import,
            Some(A::Dynamic) => ResourceAction::Dynamic,
            _ => ResourceAction::Modify,
        },
        logical_id: c.logical_resource_id().unwrap_or_default().to_string(),
        physical_id: c.physical_resource_id().map(str::to_string),
        resource_type: c.resource_type().unwrap_or_default().to_string(),
        replacement: c.replacement().map(|r| match r {
            R::True => Replacement::True,
            R::Conditional => Replacement::Conditional,
            _ => Replacement::False,
        }),
        scope: c.scope().iter().map(|s| s.as_str().to_string()).collect(),
        changed_properties: changed,
    }
}

fn event(e: &cfn::types::StackEvent) -> StackEvent {
    StackEvent {
        event_id: e.event_id().unwrap_or_default().to_string(),
        stack_id: e.stack_id().unwrap_or_default().to_string(),
        stack_name: e.stack_name().unwrap_or_default().to_string(),
        logical_id: e.logical_resource_id().unwrap_or_default().to_string(),
        physical_id: e.physical_resource_id().map(str::to_string),
        resource_type: e.resource_type().unwrap_or_default().to_string(),
        timestamp: to_system_time(e.timestamp()).unwrap_or(std::time::UNIX_EPOCH),
        status: ResourceStatus::new(e.resource_status().map(|s| s.as_str()).unwrap_or_default()),
        status_reason: e.resource_status_reason().map(str::to_string),
        client_request_token: e.client_request_token().map(str::to_string),
    }
}

#[async_trait]
impl Stacks for AwsPorts {
    async fn describe_stack(&self, name: &str) -> CloudResult<Option<Stack>> {
        match self.cfn.describe_stacks().stack_name(name).send().await {
            Ok(out) => Ok(out
                .stacks()
                .iter()
                .filter(|s| s.stack_status() != Some(&SdkStackStatus::DeleteComplete))
                .find_map(stack)),
            Err(e) => match map_sdk_error(actions::DESCRIBE_STACKS, SERVICE, e) {
                CloudError::NotFound { .. } => Ok(None),
                other => Err(other),
            },
        }
    }

    async fn list_stacks(&self) -> CloudResult<Vec<Stack>> {
        let mut stream = self.cfn.describe_stacks().into_paginator().send();
        let mut all = Vec::new();
        while let Some(page) = stream.next().await {
            let page = page.map_err(err(actions::DESCRIBE_STACKS))?;
            all.extend(page.stacks().iter().filter_map(stack));
        }
        Ok(all)
    }

    async fn create_change_set(&self, r: &ChangeSetRequest) -> CloudResult<ChangeSetRef> {
        // Secrets among the parameters print redacted.
        tracing::debug!(stack = %r.stack_name, change_set = %r.change_set_name, kind = ?r.kind, parameters = ?r.parameters, "creating change set");
        let on_failure = r.on_stack_failure.map(|f| match f {
            OnStackFailure::DoNothing => cfn::types::OnStackFailure::DoNothing,
            OnStackFailure::Rollback => cfn::types::OnStackFailure::Rollback,
            OnStackFailure::Delete => cfn::types::OnStackFailure::Delete,
        });
        let out = self
            .cfn
            .create_change_set()
            .stack_name(&r.stack_name)
            .change_set_name(&r.change_set_name)
            .change_set_type(match r.kind {
                ChangeSetKind::Create => ChangeSetType::Create,
                ChangeSetKind::Update => ChangeSetType::Update,
            })
            .template_body(&r.template_body)
            .set_parameters(Some(parameters(&r.parameters)))
            .set_tags(Some(tags(&r.tags)))
            .set_capabilities(Some(capabilities(&r.capabilities)))
            .set_on_stack_failure(if r.kind == ChangeSetKind::Create {
                on_failure
            } else {
                None
            })
            .set_client_token(r.client_token.clone())
            .set_description(r.description.clone())
            .send()
            .await
            .map_err(err(actions::CREATE_CHANGE_SET))?;
        Ok(ChangeSetRef {
            id: out.id().unwrap_or_default().to_string(),
            stack_id: out.stack_id().unwrap_or_default().to_string(),
        })
    }

    async fn describe_change_set(&self, stack: &str, change_set: &str) -> CloudResult<ChangeSet> {
        let mut token: Option<String> = None;
        let mut result: Option<ChangeSet> = None;
        loop {
            let out = self
                .cfn
                .describe_change_set()
                .stack_name(stack)
                .change_set_name(change_set)
                .set_next_token(token.take())
                .send()
                .await
                .map_err(err(actions::DESCRIBE_CHANGE_SET))?;
            let changes = out
                .changes()
                .iter()
                .filter_map(|c| c.resource_change())
                .map(resource_change);
            match &mut result {
                Some(cs) => cs.changes.extend(changes),
                None => {
                    result = Some(ChangeSet {
                        id: out.change_set_id().unwrap_or_default().to_string(),
                        name: out.change_set_name().unwrap_or(change_set).to_string(),
                        stack_id: out.stack_id().unwrap_or_default().to_string(),
                        stack_name: out.stack_name().unwrap_or(stack).to_string(),
                        status: change_set_status(out.status()),
                        status_reason: out.status_reason().map(str::to_string),
                        execution_status: execution_status(out.execution_status()),
                        changes: changes.collect(),
                    })
                }
            }
            match out.next_token() {
                Some(t) if !t.is_empty() => token = Some(t.to_string()),
                _ => break,
            }
        }
        Ok(result.expect("at least one page"))
    }

    async fn delete_change_set(&self, stack: &str, change_set: &str) -> CloudResult<()> {
        self.cfn
            .delete_change_set()
            .stack_name(stack)
            .change_set_name(change_set)
            .send()
            .await
            .map_err(err(actions::DELETE_CHANGE_SET))?;
        Ok(())
    }

    async fn execute_change_set(&self, r: &ExecuteRequest) -> CloudResult<()> {
        self.cfn
            .execute_change_set()
            .stack_name(&r.stack_name)
            .change_set_name(&r.change_set_name)
            .set_disable_rollback(r.disable_rollback)
            .client_request_token(&r.client_request_token)
            .send()
            .await
            .map_err(err(actions::EXECUTE_CHANGE_SET))?;
        Ok(())
    }

    async fn update_stack(&self, r: &UpdateRequest) -> CloudResult<()> {
        tracing::debug!(stack = %r.stack_name, token = %r.client_request_token, parameters = ?r.parameters, "updating stack");
        self.cfn
            .update_stack()
            .stack_name(&r.stack_name)
            .template_body(&r.template_body)
            .set_parameters(Some(parameters(&r.parameters)))
            .set_capabilities(Some(capabilities(&r.capabilities)))
            .set_tags(Some(tags(&r.tags)))
            .disable_rollback(r.disable_rollback)
            .client_request_token(&r.client_request_token)
            .send()
            .await
            .map_err(err(actions::UPDATE_STACK))?;
        Ok(())
    }

    async fn stack_events(
        &self,
        stack: &str,
        after_event_id: Option<&str>,
    ) -> CloudResult<Vec<StackEvent>> {
        crate::cloud::events_since(after_event_id, |token| async move {
            let out = self
                .cfn
                .describe_stack_events()
                .stack_name(stack)
                .set_next_token(token)
                .send()
                .await
                .map_err(err(actions::DESCRIBE_STACK_EVENTS))?;
            Ok(EventPage {
                events: out.stack_events().iter().map(event).collect(),
                next: out.next_token().map(str::to_string),
            })
        })
        .await
    }

    async fn continue_update_rollback(
        &self,
        stack: &str,
        resources_to_skip: &[String],
        client_request_token: &str,
    ) -> CloudResult<()> {
        self.cfn
            .continue_update_rollback()
            .stack_name(stack)
            .set_resources_to_skip(
                (!resources_to_skip.is_empty()).then(|| resources_to_skip.to_vec()),
            )
            .client_request_token(client_request_token)
            .send()
            .await
            .map_err(err(actions::CONTINUE_UPDATE_ROLLBACK))?;
        Ok(())
    }

    async fn rollback_stack(&self, stack: &str, client_request_token: &str) -> CloudResult<()> {
        self.cfn
            .rollback_stack()
            .stack_name(stack)
            .client_request_token(client_request_token)
            .send()
            .await
            .map_err(err(actions::ROLLBACK_STACK))?;
        Ok(())
    }

    async fn cancel_update_stack(
        &self,
        stack: &str,
        client_request_token: &str,
    ) -> CloudResult<()> {
        self.cfn
            .cancel_update_stack()
            .stack_name(stack)
            .client_request_token(client_request_token)
            .send()
            .await
            .map_err(err(actions::CANCEL_UPDATE_STACK))?;
        Ok(())
    }

    async fn delete_stack(&self, r: &DeleteRequest) -> CloudResult<()> {
        self.cfn
            .delete_stack()
            .stack_name(&r.stack_name)
            .set_retain_resources(
                (!r.retain_resources.is_empty()).then(|| r.retain_resources.clone()),
            )
            .client_request_token(&r.client_request_token)
            .send()
            .await
            .map_err(err(actions::DELETE_STACK))?;
        Ok(())
    }

    async fn set_termination_protection(&self, stack: &str, enabled: bool) -> CloudResult<()> {
        self.cfn
            .update_termination_protection()
            .stack_name(stack)
            .enable_termination_protection(enabled)
            .send()
            .await
            .map_err(err(actions::UPDATE_TERMINATION_PROTECTION))?;
        Ok(())
    }
}
