//! Logging to daily files under the state dir's `logs/`, through a
//! non-blocking writer. Nothing is written to the terminal (a TUI may own it).

use std::path::Path;

use tracing_appender::non_blocking::WorkerGuard;
use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::format::FmtSpan;

use crate::store::{StoreError, ensure_private_dir};

/// Crates whose verbose levels would log request or response bodies
/// (which can hold NoEcho parameter values): capped whatever --log-level says.
const CAPS: &[&str] = &[
    "aws_smithy_runtime=info",
    "aws_smithy_runtime_api=info",
    "aws_smithy_http_client=info",
    "aws_sigv4=info",
    "aws_config=debug",
    "hyper=info",
    "hyper_util=info",
    "h2=info",
    "rustls=info",
];

/// Keeps the background writer alive; dropping it flushes the log.
pub struct LogGuard {
    _guard: WorkerGuard,
}

/// A subscriber writing to `logs_dir/ph-installer.log.YYYY-MM-DD`, and the
/// guard that flushes it. `level` is one of error|warn|info|debug|trace.
pub fn subscriber(
    logs_dir: &Path,
    level: &str,
) -> Result<(impl tracing::Subscriber + Send + Sync + 'static, LogGuard), StoreError> {
    ensure_private_dir(logs_dir)?;
    let appender = tracing_appender::rolling::Builder::new()
        .rotation(tracing_appender::rolling::Rotation::DAILY)
        .filename_prefix("ph-installer.log")
        .max_log_files(14)
        .build(logs_dir)
        .map_err(|e| StoreError::io("open a log file in", logs_dir, std::io::Error::other(e)))?;
    let (writer, guard) = tracing_appender::non_blocking(appender);
    let mut filter = EnvFilter::new(level);
    for cap in CAPS {
        filter = filter.add_directive(cap.parse().expect("valid directive"));
    }
    let subscriber = tracing_subscriber::fmt()
        .with_writer(writer)
        .with_ansi(false)
        .with_span_events(FmtSpan::NONE)
        .with_env_filter(filter)
        .finish();
    Ok((subscriber, LogGuard { _guard: guard }))
}

/// Installs the file logger as the global subscriber.
pub fn init(logs_dir: &Path, level: &str) -> Result<LogGuard, StoreError> {
    let (subscriber, guard) = subscriber(logs_dir, level)?;
    // A second init (tests) keeps the first subscriber.
    let _ = tracing::subscriber::set_global_default(subscriber);
    Ok(guard)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::secret::Secret;

    fn read_logs(dir: &Path) -> String {
        let mut all = String::new();
        for e in std::fs::read_dir(dir).unwrap() {
            all.push_str(&std::fs::read_to_string(e.unwrap().path()).unwrap());
        }
        all
    }

    #[test]
    fn a_secret_logged_by_mistake_appears_redacted() {
        let dir = tempfile::tempdir().unwrap();
        let (sub, guard) = subscriber(dir.path(), "trace").unwrap();
        let secret = Secret::new("pw-4f9a1c77e2");
        tracing::subscriber::with_default(sub, || {
            tracing::info!(?secret, "generated the database password");
            tracing::debug!("secret by display: {secret}");
            tracing::trace!(pair = ?("db", &secret), "nested");
        });
        drop(guard);
        let logs = read_logs(dir.path());
        assert!(logs.contains("generated the database password"), "{logs}");
        assert!(logs.contains("<redacted>"));
        assert!(!logs.contains("pw-4f9a1c77e2"), "{logs}");
    }

    #[test]
    fn log_level_filters_lower_levels() {
        let dir = tempfile::tempdir().unwrap();
        let (sub, guard) = subscriber(dir.path(), "warn").unwrap();
        tracing::subscriber::with_default(sub, || {
            tracing::info!("quiet-info-line");
            tracing::warn!("loud-warn-line");
        });
        drop(guard);
        let logs = read_logs(dir.path());
        assert!(
            logs.contains("loud-warn-line") && !logs.contains("quiet-info-line"),
            "{logs}"
        );
    }
}
