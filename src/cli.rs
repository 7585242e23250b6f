//! The command line (clap derive). Global flags apply to every command.

use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};

#[derive(Debug, Parser)]
#[command(
    name = "ph-installer",
    version,
    about = "Installs the PersonalisationHub stack into your AWS account.",
    long_about = "Installs the PersonalisationHub stack into your own AWS account with \
                  CloudFormation. Run it on the installer EC2 instance over SSH or SSM \
                  Session Manager. Start with `ph-installer doctor`.\n\n\
                  Add --sandbox to try everything on a simulated AWS account: nothing real \
                  is created."
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,

    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Clone, clap::Args)]
pub struct GlobalArgs {
    /// Use the embedded sandbox account (simulated AWS; nothing real is created).
    #[arg(long, global = true)]
    pub sandbox: bool,

    /// Sandbox only: virtual seconds per real second (default 30: a full install takes 1-2 minutes).
    #[arg(long, global = true, value_name = "FACTOR", requires = "sandbox")]
    pub sandbox_speed: Option<f64>,

    /// Sandbox only: a TOML fault script (fail a resource, throttle, add latency, expire credentials).
    #[arg(long, global = true, value_name = "FILE", requires = "sandbox")]
    pub sandbox_faults: Option<PathBuf>,

    /// Where the installer keeps its answers, secrets, lock and logs
    /// [default: PH_INSTALLER_HOME, /var/lib/ph-installer as root, else ~/.local/state/ph-installer].
    #[arg(long, global = true, value_name = "DIR")]
    pub state_dir: Option<PathBuf>,

    /// AWS region to install into (commercial regions only) [default: AWS_REGION, the profile's region, or this instance's region].
    #[arg(long, global = true, value_name = "CODE")]
    pub region: Option<String>,

    /// AWS shared-config profile to use [default: AWS_PROFILE, then the default chain].
    #[arg(long, global = true, value_name = "NAME", conflicts_with = "sandbox")]
    pub profile: Option<String>,

    /// Send AWS calls to this endpoint (e.g. a local emulator) [default: AWS_ENDPOINT_URL].
    #[arg(long, global = true, value_name = "URL", conflicts_with = "sandbox")]
    pub endpoint_url: Option<String>,

    /// How much to write to the log files under the state dir.
    #[arg(long, global = true, value_enum, default_value_t = LogLevel::Info)]
    pub log_level: LogLevel,

    /// Prefill the wizard from an answers file (TOML; see examples/answers.toml).
    #[arg(long, global = true, value_name = "FILE")]
    pub answers: Option<PathBuf>,

    /// Draw the wizard with ASCII borders and symbols only (also chosen when
    /// the locale is not UTF-8).
    #[arg(long, global = true)]
    pub ascii: bool,

    /// Output format for commands: plain text, or one JSON object per line.
    #[arg(long, global = true, value_enum, default_value_t = OutputFormat::Text)]
    pub output: OutputFormat,
}

#[derive(Debug, Clone, Subcommand)]
pub enum Command {
    /// List the commercial AWS regions: code, name, opt-in status and availability zones.
    Regions,
    /// Check that this machine can run an install: identity, region, endpoint, state dir, clock.
    Doctor,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogLevel {
    Error,
    Warn,
    Info,
    Debug,
    Trace,
}

impl LogLevel {
    pub fn as_str(self) -> &'static str {
        match self {
            LogLevel::Error => "error",
            LogLevel::Warn => "warn",
            LogLevel::Info => "info",
            LogLevel::Debug => "debug",
            LogLevel::Trace => "trace",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    Text,
    Json,
}

/// The exit status of every command. The README's "Exit status" table is
/// this enum; clap's own usage errors exit 2 as well.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// Done, and every check passed.
    Success = 0,
    /// Something failed: a check, a call AWS refused or never answered, a
    /// local file that could not be written. The message says what to do.
    Failed = 1,
    /// The operator's input was refused before anything was done: a flag,
    /// a region, a malformed file, a state dir others can write to.
    Refused = 2,
}

impl From<Exit> for std::process::ExitCode {
    fn from(e: Exit) -> Self {
        std::process::ExitCode::from(e as u8)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_cli_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn global_flags_are_accepted_after_the_subcommand() {
        let cli = Cli::try_parse_from([
            "ph-installer",
            "regions",
            "--sandbox",
            "--region",
            "eu-west-1",
        ])
        .unwrap();
        assert!(cli.global.sandbox);
        assert_eq!(cli.global.region.as_deref(), Some("eu-west-1"));
        assert!(matches!(cli.command, Some(Command::Regions)));
    }

    #[test]
    fn aws_connection_flags_are_refused_with_the_sandbox() {
        for flag in ["--profile", "--endpoint-url"] {
            let err = Cli::try_parse_from(["ph-installer", "--sandbox", flag, "x", "doctor"])
                .unwrap_err();
            assert!(err.to_string().contains("cannot be used with"), "{err}");
        }
    }

    #[test]
    fn sandbox_tuning_flags_need_sandbox() {
        let err =
            Cli::try_parse_from(["ph-installer", "--sandbox-speed", "10", "doctor"]).unwrap_err();
        assert!(err.to_string().contains("--sandbox"), "{err}");
    }
}
