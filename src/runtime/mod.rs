//! Executes what the front ends ask for against the cloud and the store.
//!
//! [`Session`] is the seam every command shares: the cloud (AWS or the
//! sandbox), the resolved region, the state dir and the clock, built once in
//! `main` and handed down. Re-pointing it to another region keeps the
//! credentials and the sandbox account it already has.

pub mod certificate;
pub mod deploy;
pub mod doctor;
pub mod progress;
pub mod regions;
pub mod retry;
pub mod secrets;
pub mod setup;
pub mod sizing;

use std::path::PathBuf;
use std::sync::Arc;

use crate::clock::Clock;
use crate::cloud::Cloud;
use crate::cloud::aws::{self, AwsConnection, AwsOptions};
use crate::cloud::sandbox::faults::FaultScript;
use crate::cloud::sandbox::{self, SandboxAccount, SandboxOptions};
use crate::cloud::types::SessionInfo;
use crate::core::region::{RegionRefusal, RegionSource, ResolvedRegion, parse_region};
use crate::store::StateDir;

/// What the command line chose, independent of clap.
#[derive(Debug, Clone, Default)]
pub struct Settings {
    pub sandbox: bool,
    pub sandbox_speed: Option<f64>,
    pub sandbox_faults: Option<PathBuf>,
    pub region: Option<String>,
    pub profile: Option<String>,
    pub endpoint_url: Option<String>,
}

/// Which account the session talks to.
#[derive(Clone)]
enum Backend {
    Sandbox(SandboxAccount),
    Aws(Arc<AwsConnection>),
}

/// One run's connection to an account in one region, with the state dir
/// and the clock every poller and retry uses.
#[derive(Clone)]
pub struct Session {
    pub cloud: Cloud,
    pub region: ResolvedRegion,
    /// How the credentials were found and which endpoint is in use.
    pub info: SessionInfo,
    pub state: StateDir,
    pub clock: Arc<dyn Clock>,
    backend: Backend,
}

impl Session {
    /// Connects to the sandbox account (kept in the state dir) or to AWS.
    pub async fn open(
        settings: &Settings,
        state: &StateDir,
        clock: Arc<dyn Clock>,
    ) -> Result<Session, ConnectFailure> {
        if settings.sandbox {
            let speed = settings.sandbox_speed.unwrap_or(sandbox::DEFAULT_SPEED);
            let faults = match &settings.sandbox_faults {
                Some(p) => sandbox::load_fault_script(p)?,
                None => FaultScript::default(),
            };
            let account = SandboxAccount::open_with_clock(
                SandboxOptions {
                    dir: state.sandbox_account_dir(),
                    speed,
                    faults,
                },
                clock.clone(),
            )?;
            let region = match &settings.region {
                Some(r) => ResolvedRegion {
                    code: parse_region(r)?,
                    source: RegionSource::Flag,
                },
                None => ResolvedRegion {
                    code: account.home_region(),
                    source: RegionSource::Sandbox,
                },
            };
            let cloud = account.cloud(region.code.clone());
            let info = cloud.identity.session_info();
            return Ok(Session {
                cloud,
                region,
                info,
                state: state.clone(),
                clock,
                backend: Backend::Sandbox(account),
            });
        }
        let opts = AwsOptions {
            region: settings.region.clone(),
            profile: settings.profile.clone(),
            endpoint_url: settings.endpoint_url.clone(),
            ..AwsOptions::default()
        };
        let conn = aws::connect(&opts).await?;
        Ok(Session {
            cloud: conn.cloud.clone(),
            region: conn.region.clone(),
            info: conn.session.clone(),
            state: state.clone(),
            clock,
            backend: Backend::Aws(Arc::new(conn)),
        })
    }

    /// The same session pointed at another region: the credentials (and
    /// their cache) or the sandbox account are kept, only the regional
    /// clients are new.
    pub fn in_region(&self, region: ResolvedRegion) -> Session {
        let cloud = match &self.backend {
            Backend::Sandbox(account) => account.cloud(region.code.clone()),
            Backend::Aws(conn) => conn.cloud_in(&region.code),
        };
        Session {
            cloud,
            region,
            ..self.clone()
        }
    }

    /// Whether this session runs on the simulated account.
    pub fn is_sandbox(&self) -> bool {
        matches!(self.backend, Backend::Sandbox(_))
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConnectFailure {
    #[error(transparent)]
    Aws(#[from] aws::ConnectError),
    #[error(transparent)]
    Sandbox(#[from] sandbox::SandboxError),
    #[error("{0}")]
    Region(#[from] RegionRefusal),
}

impl ConnectFailure {
    /// The operator's input was refused (a region, a sandbox setting), as
    /// opposed to the connection failing: the CLI exits 2 for these.
    pub fn is_refused_input(&self) -> bool {
        match self {
            ConnectFailure::Aws(aws::ConnectError::Region(_)) | ConnectFailure::Region(_) => true,
            ConnectFailure::Sandbox(e) => e.is_refused_input(),
        }
    }
}

/// Checks `--region` before anything else happens, so a refused region
/// stops every command at once with the reason.
pub fn check_region_flag(settings: &Settings) -> Result<(), RegionRefusal> {
    match &settings.region {
        Some(r) => parse_region(r).map(|_| ()),
        None => Ok(()),
    }
}
