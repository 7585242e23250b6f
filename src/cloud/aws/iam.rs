//! IAM access keys of a user (the provisioning user), over the same IAM
//! client as the account settings.
//!
//! What the IAM API reference says, and these calls rely on:
//! - CreateAccessKey makes an `Active` key; its SecretAccessKey is in that
//!   answer only ("accessible only during key and user creation"), so it
//!   goes from the answer into a [`Secret`] and nowhere else.
//! - A user may have 2 access keys, active or inactive (IAM quotas); a
//!   third is refused with LimitExceeded "Cannot exceed quota for
//!   AccessKeysPerUser: 2", which only deleting a key lifts (deactivating
//!   one does not).
//! - An unknown user is NoSuchEntity ("The user with name ... cannot be
//!   found.") on all three calls, an unknown key on DeleteAccessKey too.
//! - ListAccessKeys pages (Marker, IsTruncated) and promises no order; each
//!   AccessKeyMetadata has AccessKeyId, Status (`Active`, `Inactive`,
//!   `Expired`) and CreateDate, never the secret.

use async_trait::async_trait;

use super::error::map_sdk_error;
use super::{AwsPorts, to_system_time};
use crate::cloud::actions;
use crate::cloud::types::{AccessKeyInfo, AccessKeyStatus, NewAccessKey};
use crate::cloud::{CloudError, CloudResult, Iam};
use crate::core::secret::Secret;

#[async_trait]
impl Iam for AwsPorts {
    async fn list_access_keys(&self, user_name: &str) -> CloudResult<Vec<AccessKeyInfo>> {
        let mut keys = Vec::new();
        let mut marker: Option<String> = None;
        loop {
            let out = self
                .iam
                .list_access_keys()
                .user_name(user_name)
                .set_marker(marker.take())
                .send()
                .await
                .map_err(|e| map_sdk_error(actions::LIST_ACCESS_KEYS, "IAM", e))?;
            keys.extend(out.access_key_metadata().iter().map(|k| {
                AccessKeyInfo {
                    id: k.access_key_id().unwrap_or_default().to_string(),
                    status: k
                        .status()
                        .map(|s| AccessKeyStatus::parse(s.as_str()))
                        .unwrap_or_else(|| AccessKeyStatus::Other(String::new())),
                    created: to_system_time(k.create_date()),
                }
            }));
            match out.marker() {
                Some(m) if out.is_truncated() && !m.is_empty() => marker = Some(m.to_string()),
                _ => break,
            }
        }
        // IAM promises no order; a stable sort keeps its own for equal times.
        keys.sort_by_key(|k| k.created);
        Ok(keys)
    }

    async fn create_access_key(&self, user_name: &str) -> CloudResult<NewAccessKey> {
        let result = self
            .iam
            .create_access_key()
            .user_name(user_name)
            .send()
            .await;
        let out = match result {
            Ok(out) => out,
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_limit_exceeded_exception()) =>
            {
                let aws = e
                    .as_service_error()
                    .and_then(|s| s.meta().message())
                    .unwrap_or("Cannot exceed quota for AccessKeysPerUser: 2")
                    .to_string();
                return Err(CloudError::access_key_limit(user_name, &aws));
            }
            Err(e) => return Err(map_sdk_error(actions::CREATE_ACCESS_KEY, "IAM", e)),
        };
        let Some(key) = out.access_key() else {
            return Err(CloudError::Other {
                action: actions::CREATE_ACCESS_KEY.into(),
                code: "NoAccessKey".into(),
                message: format!(
                    "IAM answered without the key it created; list {user_name}'s keys (`aws iam \
                     list-access-keys --user-name {user_name}`) and delete the one this run made"
                ),
            });
        };
        let created = NewAccessKey {
            id: key.access_key_id().to_string(),
            secret: Secret::new(key.secret_access_key()),
        };
        tracing::debug!(user = %user_name, key = ?created, "created access key");
        Ok(created)
    }

    async fn delete_access_key(&self, user_name: &str, access_key_id: &str) -> CloudResult<()> {
        self.iam
            .delete_access_key()
            .user_name(user_name)
            .access_key_id(access_key_id)
            .send()
            .await
            .map_err(|e| map_sdk_error(actions::DELETE_ACCESS_KEY, "IAM", e))?;
        tracing::debug!(user = %user_name, access_key_id, "deleted access key");
        Ok(())
    }
}
