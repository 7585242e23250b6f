//! Account setup the stacks rely on but cannot do themselves: run after the
//! operator confirms the review, before the first stack.

use std::path::Path;

use super::retry::{Backoff, patiently};
use crate::clock::Clock;
use crate::cloud::types::{AccessKeyStatus, ServiceRoleOutcome};
use crate::cloud::{Cloud, CloudError, CloudResult, actions};
use crate::core::account::SERVICE_LINKED_ROLES;
use crate::core::secret::Secret;
use crate::store::StoreError;
use crate::store::secrets::SecretsFile;

/// Creates each service-linked role of [`SERVICE_LINKED_ROLES`] the account
/// does not have yet; one it has is left as it is. Returns what happened to
/// each, in order.
pub async fn service_linked_roles(
    cloud: &Cloud,
    clock: &dyn Clock,
) -> CloudResult<Vec<(&'static str, ServiceRoleOutcome)>> {
    let mut done = Vec::new();
    for service in SERVICE_LINKED_ROLES {
        let outcome = patiently(clock, Backoff::default(), || {
            cloud.account.create_service_linked_role(service)
        })
        .await?;
        tracing::info!(service, ?outcome, "service-linked role");
        done.push((*service, outcome));
    }
    Ok(done)
}

/// The names in `secrets.toml` of the provisioning user's access key.
pub const PROVISIONING_KEY_ID: &str = "provisioning_access_key_id";
pub const PROVISIONING_SECRET_KEY: &str = "provisioning_secret_access_key";

/// What [`provisioning_access_key`] found or did: the key's id, never its
/// secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProvisioningKey {
    /// The secrets file holds a key IAM lists as Active for the user.
    Kept { id: String },
    /// A new key was created and is in the secrets file.
    Created { id: String },
}

/// Makes sure the secrets file at `secrets_path` holds an active access key
/// of the provisioning user `user_name` (installer.yaml's
/// `ProvisioningUserName` output). One IAM still lists as Active is kept;
/// else a new key is created and written to the file (0600, atomically)
/// before anything else, and deleted again when it cannot be written, so
/// no key exists that the file lacks (IAM allows two per user). A key of
/// the file that IAM lists as Inactive is refused rather than replaced:
/// someone turned it off. The secret goes from IAM's answer to the file
/// and nowhere else.
pub async fn provisioning_access_key(
    cloud: &Cloud,
    clock: &dyn Clock,
    secrets_path: &Path,
    user_name: &str,
) -> CloudResult<ProvisioningKey> {
    let local = |e: StoreError| CloudError::Local {
        detail: e.to_string(),
    };
    let mut secrets = SecretsFile::load(secrets_path)
        .map_err(local)?
        .unwrap_or_default();
    let keys = patiently(clock, Backoff::default(), || {
        cloud.iam.list_access_keys(user_name)
    })
    .await?;
    let stored = secrets
        .get(PROVISIONING_KEY_ID)
        .map(|id| id.expose().to_string());
    if let Some(id) = stored.as_deref()
        && secrets.get(PROVISIONING_SECRET_KEY).is_some()
        && let Some(key) = keys.iter().find(|k| k.id == id)
    {
        if key.status == AccessKeyStatus::Active {
            return Ok(ProvisioningKey::Kept { id: id.to_string() });
        }
        return Err(CloudError::invalid(
            actions::CREATE_ACCESS_KEY,
            format!(
                "the provisioning user's access key {id} in the secrets file is {} in IAM, and \
                 no key is made over it. Make it active again (`aws iam update-access-key \
                 --user-name {user_name} --access-key-id {id} --status Active`) or delete it \
                 (`aws iam delete-access-key --user-name {user_name} --access-key-id {id}`), \
                 then run again",
                key.status.as_str()
            ),
        ));
    }
    let key = patiently(clock, Backoff::default(), || {
        cloud.iam.create_access_key(user_name)
    })
    .await?;
    secrets.replace(PROVISIONING_KEY_ID, Secret::new(key.id.clone()));
    secrets.replace(PROVISIONING_SECRET_KEY, key.secret.clone());
    if let Err(e) = secrets.save(secrets_path) {
        // A key the file does not hold is of no use and takes one of the two.
        let deleted = cloud
            .iam
            .delete_access_key(user_name, &key.id)
            .await
            .is_ok();
        tracing::warn!(user = %user_name, access_key_id = %key.id, deleted, "the new access key could not be written to the secrets file");
        return Err(local(e));
    }
    tracing::info!(user = %user_name, access_key_id = %key.id, "provisioning access key created into the secrets file");
    Ok(ProvisioningKey::Created { id: key.id })
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::clock::ManualClock;
    use crate::cloud::sandbox::SandboxAccount;
    use crate::cloud::sandbox::faults::FaultScript;
    use crate::cloud::sandbox::state::provisioning_user_name;

    struct Fixture {
        _sandbox: tempfile::TempDir,
        state: tempfile::TempDir,
        clock: Arc<ManualClock>,
        account: SandboxAccount,
    }

    impl Fixture {
        fn new() -> Fixture {
            let sandbox = tempfile::tempdir().unwrap();
            let (clock, account) =
                SandboxAccount::on_manual_clock(sandbox.path(), FaultScript::default());
            Fixture {
                _sandbox: sandbox,
                state: tempfile::tempdir().unwrap(),
                clock,
                account,
            }
        }

        fn cloud(&self) -> Cloud {
            self.account.cloud(self.account.home_region())
        }

        async fn ensure(&self, secrets: &Path) -> CloudResult<ProvisioningKey> {
            let user = provisioning_user_name();
            provisioning_access_key(&self.cloud(), self.clock.as_ref(), secrets, &user).await
        }

        fn stored_id(&self) -> String {
            let path = self.state.path().join("secrets.toml");
            let file = SecretsFile::load(&path).unwrap().expect("a secrets file");
            file.get(PROVISIONING_KEY_ID).unwrap().expose().to_string()
        }
    }

    #[tokio::test]
    async fn the_key_is_created_into_the_secrets_file_once() {
        let f = Fixture::new();
        let path = f.state.path().join("secrets.toml");
        let first = f.ensure(&path).await.unwrap();
        let ProvisioningKey::Created { id } = first.clone() else {
            panic!("{first:?}");
        };
        assert_eq!(f.stored_id(), id);
        let file = SecretsFile::load(&path).unwrap().unwrap();
        assert_eq!(
            file.get(PROVISIONING_SECRET_KEY).unwrap().expose().len(),
            40
        );
        assert_eq!(f.ensure(&path).await.unwrap(), ProvisioningKey::Kept { id });
        let keys = f
            .cloud()
            .iam
            .list_access_keys(&provisioning_user_name())
            .await
            .unwrap();
        assert_eq!(keys.len(), 1, "{keys:?}");
    }

    #[tokio::test]
    async fn a_key_iam_no_longer_has_is_replaced() {
        let f = Fixture::new();
        let path = f.state.path().join("secrets.toml");
        let ProvisioningKey::Created { id: old } = f.ensure(&path).await.unwrap() else {
            panic!("no key was created");
        };
        f.cloud()
            .iam
            .delete_access_key(&provisioning_user_name(), &old)
            .await
            .unwrap();
        let ProvisioningKey::Created { id: new } = f.ensure(&path).await.unwrap() else {
            panic!("no new key was created");
        };
        assert_ne!(new, old);
        assert_eq!(f.stored_id(), new);
    }

    #[tokio::test]
    async fn a_key_the_secrets_file_cannot_take_is_deleted_again() {
        let f = Fixture::new();
        let path = f.state.path().join("no-such-dir").join("secrets.toml");
        let err = f.ensure(&path).await.unwrap_err();
        assert!(matches!(err, CloudError::Local { .. }), "{err:?}");
        let keys = f
            .cloud()
            .iam
            .list_access_keys(&provisioning_user_name())
            .await
            .unwrap();
        assert!(keys.is_empty(), "{keys:?}");
    }

    #[tokio::test]
    async fn a_key_someone_deactivated_is_not_replaced() {
        let f = Fixture::new();
        let path = f.state.path().join("secrets.toml");
        let ProvisioningKey::Created { id } = f.ensure(&path).await.unwrap() else {
            panic!("no key was created");
        };
        f.account
            .arrange(|s, _| {
                for user in &mut s.iam_users {
                    for key in &mut user.access_keys {
                        key.status = AccessKeyStatus::Inactive;
                    }
                }
            })
            .unwrap();
        let err = f.ensure(&path).await.unwrap_err();
        let msg = err.to_string();
        assert!(
            msg.contains(&id) && msg.contains("Inactive") && msg.contains("update-access-key"),
            "{msg}"
        );
        assert_eq!(f.stored_id(), id, "the file is left as it was");
    }
}
