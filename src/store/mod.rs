//! The state directory: answers (`config.toml`), secrets (`secrets.toml`),
//! the install lock, logs, and (for `--sandbox`) the simulated account.
//!
//! ```text
//! <state dir>/            0700
//!   config.toml           0600  the wizard's answers
//!   secrets.toml          0600  generated secrets (never elsewhere)
//!   state.toml            0600  the install (the deploy writes it): operations with
//!                               their tokens, stack ids, phase
//!   lock                  0600  who drives this install right now
//!   logs/                       daily log files
//!   sandbox/              a separate state dir of the same shape, for --sandbox
//!     account/            the simulated AWS account
//! ```

pub mod fsutil;
pub mod install_state;
pub mod lock;
pub mod secrets;

use std::ffi::OsStr;
use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

use serde::Serialize;
use serde::de::DeserializeOwned;

pub use fsutil::{ensure_private_dir, write_private_atomic};

/// What went wrong with the state directory or a file in it. Every variant
/// names the path and what to do.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("Could not {action} {}: {source}. Check the path and its permissions, or choose another state dir with --state-dir.", path.display())]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error(
        "Permissions {mode:04o} for '{}' are too open: it holds secrets and must not be readable by others. Run: chmod 600 {}",
        path.display(),
        path.display()
    )]
    TooOpen { path: PathBuf, mode: u32 },
    #[error(
        "'{}' is owned by {owner}, not by {you} who runs the installer, so it is not trusted. Run the installer as {owner}, or as root: chown {you} {}",
        path.display(),
        path.display()
    )]
    WrongOwner {
        path: PathBuf,
        owner: String,
        you: String,
    },
    #[error(
        "Permissions {mode:04o} for '{}' are too open: group or others can write to it and so change the install's state. Run: chmod 700 {}",
        path.display(),
        path.display()
    )]
    DirWritableByOthers { path: PathBuf, mode: u32 },
    #[error("{} is not valid: {}. Nothing was changed; fix the file, or move it aside to start over.", path.display(), message.trim_end_matches('.'))]
    Malformed { path: PathBuf, message: String },
    #[error(
        "No state directory can be chosen: HOME is not set. Pass --state-dir DIR or set PH_INSTALLER_HOME."
    )]
    NoHome,
    #[error(transparent)]
    Locked(#[from] lock::LockHeld),
}

impl StoreError {
    /// The operator's choice or file is refused (permissions, owner, a
    /// malformed file), as opposed to the machine failing a read or write.
    pub fn is_refused_input(&self) -> bool {
        !matches!(self, StoreError::Io { .. })
    }

    pub fn io(action: &'static str, path: &Path, source: io::Error) -> Self {
        StoreError::Io {
            action,
            path: path.to_path_buf(),
            source,
        }
    }
}

/// Why this state directory was chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum StateDirSource {
    Flag,
    Environment,
    SystemDefault,
    UserDefault,
}

impl fmt::Display for StateDirSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            StateDirSource::Flag => "the --state-dir flag",
            StateDirSource::Environment => "PH_INSTALLER_HOME",
            StateDirSource::SystemDefault => "the default for root",
            StateDirSource::UserDefault => "the XDG state directory",
        })
    }
}

/// The environment facts the choice depends on (gathered by the caller).
#[derive(Debug, Default, Clone)]
pub struct StateDirInputs<'a> {
    pub flag: Option<&'a Path>,
    pub ph_installer_home: Option<&'a OsStr>,
    pub is_root: bool,
    pub xdg_state_home: Option<&'a OsStr>,
    pub home: Option<&'a OsStr>,
}

/// `--state-dir` > `PH_INSTALLER_HOME` > `/var/lib/ph-installer` when root >
/// `$XDG_STATE_HOME/ph-installer` (default `~/.local/state/ph-installer`).
pub fn choose_state_dir(inputs: &StateDirInputs) -> Result<(PathBuf, StateDirSource), StoreError> {
    let nonempty = |s: Option<&OsStr>| s.filter(|v| !v.is_empty()).map(PathBuf::from);
    if let Some(p) = inputs.flag {
        return Ok((p.to_path_buf(), StateDirSource::Flag));
    }
    if let Some(p) = nonempty(inputs.ph_installer_home) {
        return Ok((p, StateDirSource::Environment));
    }
    if inputs.is_root {
        return Ok((
            PathBuf::from("/var/lib/ph-installer"),
            StateDirSource::SystemDefault,
        ));
    }
    // XDG says a relative XDG_STATE_HOME is invalid and must be ignored.
    if let Some(p) = nonempty(inputs.xdg_state_home).filter(|p| p.is_absolute()) {
        return Ok((p.join("ph-installer"), StateDirSource::UserDefault));
    }
    let home = nonempty(inputs.home).ok_or(StoreError::NoHome)?;
    Ok((
        home.join(".local/state/ph-installer"),
        StateDirSource::UserDefault,
    ))
}

/// An opened (existing, private) state directory.
#[derive(Debug, Clone)]
pub struct StateDir {
    root: PathBuf,
}

impl StateDir {
    /// Creates the directory 0700 when missing, and refuses one that others
    /// could write to. `sandbox` selects the sandbox's own state dir inside
    /// it, so simulated installs never mix with real ones; the base is
    /// created private either way.
    pub fn open(base: &Path, sandbox: bool) -> Result<StateDir, StoreError> {
        fsutil::ensure_trusted_dir(base)?;
        let root = if sandbox {
            let root = base.join("sandbox");
            fsutil::ensure_trusted_dir(&root)?;
            root
        } else {
            base.to_path_buf()
        };
        Ok(StateDir { root })
    }

    pub fn root(&self) -> &Path {
        &self.root
    }
    pub fn config_path(&self) -> PathBuf {
        self.root.join("config.toml")
    }
    pub fn secrets_path(&self) -> PathBuf {
        self.root.join("secrets.toml")
    }
    pub fn install_state_path(&self) -> PathBuf {
        self.root.join("state.toml")
    }
    pub fn lock_path(&self) -> PathBuf {
        self.root.join("lock")
    }
    pub fn logs_dir(&self) -> PathBuf {
        self.root.join("logs")
    }
    pub fn sandbox_account_dir(&self) -> PathBuf {
        self.root.join("account")
    }

    /// Reads a TOML file, `None` when it does not exist.
    pub fn read_toml<T: DeserializeOwned>(&self, path: &Path) -> Result<Option<T>, StoreError> {
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(StoreError::io("read", path, e)),
        };
        parse_toml(path, &text).map(Some)
    }

    /// Writes a TOML file atomically, 0600.
    pub fn write_toml<T: Serialize>(&self, path: &Path, value: &T) -> Result<(), StoreError> {
        let text = toml::to_string_pretty(value).map_err(|e| StoreError::Malformed {
            path: path.to_path_buf(),
            message: e.to_string(),
        })?;
        write_private_atomic(path, text.as_bytes())
    }
}

/// Parses TOML, naming the file, line and column on error.
pub fn parse_toml<T: DeserializeOwned>(path: &Path, text: &str) -> Result<T, StoreError> {
    toml::from_str(text).map_err(|e| {
        let message = match e.span() {
            Some(span) => {
                let (line, col) = crate::core::text::line_column(text, span.start);
                format!("line {line}, column {col}: {}", e.message())
            }
            None => e.message().to_string(),
        };
        StoreError::Malformed {
            path: path.to_path_buf(),
            message,
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn os(s: &str) -> Option<&OsStr> {
        Some(OsStr::new(s))
    }

    #[test]
    fn state_dir_precedence_is_flag_env_root_xdg() {
        let flag = Path::new("/tmp/flag");
        let mut i = StateDirInputs {
            flag: Some(flag),
            ph_installer_home: os("/env"),
            is_root: true,
            xdg_state_home: os("/xdg"),
            home: os("/home/op"),
        };
        assert_eq!(
            choose_state_dir(&i).unwrap(),
            (PathBuf::from("/tmp/flag"), StateDirSource::Flag)
        );
        i.flag = None;
        assert_eq!(
            choose_state_dir(&i).unwrap(),
            (PathBuf::from("/env"), StateDirSource::Environment)
        );
        i.ph_installer_home = os("");
        assert_eq!(
            choose_state_dir(&i).unwrap(),
            (
                PathBuf::from("/var/lib/ph-installer"),
                StateDirSource::SystemDefault
            )
        );
        i.is_root = false;
        assert_eq!(
            choose_state_dir(&i).unwrap().0,
            PathBuf::from("/xdg/ph-installer")
        );
        i.xdg_state_home = os("relative/ignored");
        assert_eq!(
            choose_state_dir(&i).unwrap().0,
            PathBuf::from("/home/op/.local/state/ph-installer")
        );
        i.home = None;
        assert!(matches!(choose_state_dir(&i), Err(StoreError::NoHome)));
    }

    #[test]
    fn sandbox_state_lives_apart_from_the_real_install() {
        let dir = tempfile::tempdir().unwrap();
        let real = StateDir::open(dir.path(), false).unwrap();
        let sandbox = StateDir::open(dir.path(), true).unwrap();
        assert_ne!(real.config_path(), sandbox.config_path());
        assert!(sandbox.root().starts_with(real.root()));
        assert!(sandbox.root().is_dir());
    }

    #[test]
    fn a_first_sandbox_run_creates_the_real_state_dir_private_too() {
        use std::os::unix::fs::MetadataExt;
        let dir = tempfile::tempdir().unwrap();
        let base = dir.path().join("state");
        let sandbox = StateDir::open(&base, true).unwrap();
        for d in [&base, &sandbox.root().to_path_buf()] {
            assert_eq!(std::fs::metadata(d).unwrap().mode() & 0o777, 0o700, "{d:?}");
        }
    }

    #[test]
    fn a_state_dir_others_can_write_is_refused() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o777)).unwrap();
        for sandbox in [false, true] {
            let err = StateDir::open(dir.path(), sandbox).unwrap_err();
            assert!(
                matches!(err, StoreError::DirWritableByOthers { .. }),
                "{err}"
            );
        }
    }

    #[test]
    fn malformed_toml_names_the_file_and_line() {
        #[derive(serde::Deserialize, Debug)]
        #[allow(dead_code)]
        struct C {
            region: String,
        }
        let err =
            parse_toml::<C>(Path::new("config.toml"), "# c\nregion = eu-west-1\n").unwrap_err();
        let msg = err.to_string();
        assert!(
            msg.contains("config.toml") && msg.contains("line 2"),
            "{msg}"
        );
        assert!(msg.contains("Nothing was changed"), "{msg}");
    }

    #[test]
    fn a_refusal_that_ends_its_sentence_is_not_given_a_second_full_stop() {
        let err = parse_toml::<crate::core::answers::Answers>(
            Path::new("answers.toml"),
            "region = \"cn-north-1\"\n",
        )
        .unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("China") && msg.contains("line 1"), "{msg}");
        assert!(!msg.contains(".."), "{msg}");
    }
}
