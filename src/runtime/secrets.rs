//! The wizard's secrets step: every secret the manifest names generated
//! once into `secrets.toml`, and the provisioning user's access key made
//! sure of. Only names come back; values stay in the file.

use crate::cloud::types::Stack;
use crate::core::blueprint::Blueprint;
use crate::core::region::RegionCode;
use crate::core::secret::generate;
use crate::core::wizard::{AccessKeyState, BOOTSTRAP_TAG_VALUE, SecretsReport};
use crate::runtime::Session;
use crate::runtime::retry::{Backoff, patiently};
use crate::runtime::setup::{ProvisioningKey, provisioning_access_key};
use crate::store::secrets::SecretsFile;

/// The installer.yaml output that names the provisioning user.
pub const USER_OUTPUT: &str = "ProvisioningUserName";

/// Generates what the secrets file lacks, then makes sure of the access key
/// of the provisioning user the bootstrap stack in `bootstrap_region` names.
pub async fn prepare(
    session: &Session,
    bp: &Blueprint,
    bootstrap_region: &RegionCode,
) -> Result<SecretsReport, String> {
    let path = session.state.secrets_path();
    let mut file = SecretsFile::load(&path)
        .map_err(|e| e.to_string())?
        .unwrap_or_default();
    let (mut generated, mut kept) = (Vec::new(), Vec::new());
    {
        // The OS-seeded generator of this thread; not held across a wait.
        let mut rng = rand::rng();
        for (name, spec) in &bp.manifest.secrets {
            if file.get(name).is_some() {
                kept.push(name.clone());
            } else {
                file.get_or_insert(name, || generate(spec, &mut rng));
                generated.push(name.clone());
            }
        }
    }
    if !generated.is_empty() {
        file.save(&path).map_err(|e| e.to_string())?;
        tracing::info!(generated = ?generated, "generated secrets into the secrets file");
    }
    let caller = patiently(session.clock.as_ref(), Backoff::default(), || {
        session.cloud.identity.caller_identity()
    })
    .await
    .map(|id| id.arn)
    .unwrap_or_default();
    let access_key = match provisioning_user(session, bootstrap_region).await {
        Err(e) => AccessKeyState::Failed(e),
        // Running as the provisioning user itself (its fallback use): its
        // key is the one in use, and it may not manage its own keys.
        Ok(user) if caller.ends_with(&format!(":user/ph-installer/{user}")) => {
            AccessKeyState::Kept { user }
        }
        Ok(user) => {
            match provisioning_access_key(&session.cloud, session.clock.as_ref(), &path, &user)
                .await
            {
                Ok(ProvisioningKey::Created { .. }) => AccessKeyState::Created { user },
                Ok(ProvisioningKey::Kept { .. }) => AccessKeyState::Kept { user },
                Err(e) => AccessKeyState::Failed(e.to_string()),
            }
        }
    };
    Ok(SecretsReport {
        path: path.display().to_string(),
        generated,
        kept,
        access_key,
    })
}

/// The provisioning user named by the installer's bootstrap stack.
async fn provisioning_user(session: &Session, region: &RegionCode) -> Result<String, String> {
    let home = session.in_region(crate::core::region::ResolvedRegion {
        code: region.clone(),
        source: session.region.source.clone(),
    });
    let stacks = patiently(home.clock.as_ref(), Backoff::default(), || {
        home.cloud.stacks.list_stacks()
    })
    .await
    .map_err(|e| e.to_string())?;
    user_of(&stacks).ok_or_else(|| {
        format!(
            "The installer's own stack (installer.yaml, tagged ph:install={BOOTSTRAP_TAG_VALUE}) \
             is not in {region}, so there is no provisioning user to make a key for. Deploy \
             installer.yaml as the README's \"Running on an installer instance\" says, then \
             press Enter here."
        )
    })
}

fn user_of(stacks: &[Stack]) -> Option<String> {
    stacks
        .iter()
        .filter(|s| s.is_bootstrap())
        .find_map(|s| s.output(USER_OUTPUT))
        .map(str::to_string)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::clock::ManualClock;
    use crate::runtime::Settings;
    use crate::store::StateDir;

    async fn session(dir: &std::path::Path) -> Session {
        let state = StateDir::open(dir, true).unwrap();
        let settings = Settings {
            sandbox: true,
            ..Settings::default()
        };
        match Session::open(&settings, &state, Arc::new(ManualClock::starting_now())).await {
            Ok(s) => s,
            Err(_) => panic!("the sandbox session did not open"),
        }
    }

    #[tokio::test]
    async fn secrets_are_generated_once_and_the_access_key_created_once() {
        let dir = tempfile::tempdir().unwrap();
        let s = session(dir.path()).await;
        let bp = Blueprint::embedded().unwrap();
        let home = s.region.code.clone();
        let first = prepare(&s, &bp, &home).await.unwrap();
        assert_eq!(first.generated.len(), bp.manifest.secrets.len());
        assert!(first.kept.is_empty());
        assert!(
            matches!(&first.access_key, AccessKeyState::Created { user } if user.contains("ProvisioningUser")),
            "{:?}",
            first.access_key
        );
        let text = std::fs::read_to_string(s.state.secrets_path()).unwrap();
        let again = prepare(&s, &bp, &home).await.unwrap();
        assert!(again.generated.is_empty());
        assert_eq!(again.kept.len(), bp.manifest.secrets.len());
        assert!(matches!(again.access_key, AccessKeyState::Kept { .. }));
        assert_eq!(
            std::fs::read_to_string(s.state.secrets_path()).unwrap(),
            text,
            "nothing was generated or created twice"
        );
        // The report names secrets, never their values.
        let file = SecretsFile::load(&s.state.secrets_path()).unwrap().unwrap();
        let shown = format!("{again:?}");
        for name in file.names() {
            assert!(!shown.contains(file.get(name).unwrap().expose()));
        }
    }

    #[tokio::test]
    async fn without_the_bootstrap_stack_the_key_says_what_to_deploy() {
        let dir = tempfile::tempdir().unwrap();
        let s = session(dir.path()).await;
        let bp = Blueprint::embedded().unwrap();
        let elsewhere: RegionCode = "eu-west-1".parse().unwrap();
        let r = prepare(&s, &bp, &elsewhere).await.unwrap();
        match r.access_key {
            AccessKeyState::Failed(why) => {
                assert!(
                    why.contains("installer.yaml") && why.contains("eu-west-1"),
                    "{why}"
                )
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(
            r.generated.len(),
            bp.manifest.secrets.len(),
            "the secrets are still made"
        );
    }
}
