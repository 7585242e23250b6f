//! Executes what the front ends ask for against the cloud and the store.

pub mod doctor;
pub mod regions;
pub mod retry;

use std::path::PathBuf;

use crate::cloud::Cloud;
use crate::cloud::aws::{self, AwsOptions};
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

/// A cloud to talk to, and how it was reached.
#[derive(Clone)]
pub struct Connected {
    pub cloud: Cloud,
    pub region: ResolvedRegion,
    pub session: SessionInfo,
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

/// Connects to the sandbox account (kept in the state dir) or to AWS.
pub async fn connect(settings: &Settings, state: &StateDir) -> Result<Connected, ConnectFailure> {
    if settings.sandbox {
        let speed = settings.sandbox_speed.unwrap_or(sandbox::DEFAULT_SPEED);
        let faults = match &settings.sandbox_faults {
            Some(p) => sandbox::load_fault_script(p)?,
            None => FaultScript::default(),
        };
        let account = SandboxAccount::open(SandboxOptions {
            dir: state.sandbox_account_dir(),
            speed,
            faults,
        })?;
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
        let session = cloud.identity.session_info();
        return Ok(Connected {
            cloud,
            region,
            session,
        });
    }
    let opts = AwsOptions {
        region: settings.region.clone(),
        profile: settings.profile.clone(),
        endpoint_url: settings.endpoint_url.clone(),
        ..AwsOptions::default()
    };
    let conn = aws::connect(&opts).await?;
    Ok(Connected {
        cloud: conn.cloud,
        region: conn.region,
        session: conn.session,
    })
}
