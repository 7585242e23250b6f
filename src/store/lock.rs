//! The install lock: one session drives an install at a time. A second
//! session (say SSM while SSH is open) is told who holds it.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use serde::{Deserialize, Serialize};

use super::StoreError;
use super::fsutil::{current_uid, user_name};

/// Who holds the lock, written into the lock file by its holder.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Holder {
    pub pid: u32,
    pub user: String,
    #[serde(with = "rfc3339")]
    pub since: SystemTime,
    pub command: String,
}

/// Another session holds the lock.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{}", describe(.path, .holder.as_ref()))]
pub struct LockHeld {
    pub path: PathBuf,
    pub holder: Option<Holder>,
}

fn describe(path: &Path, holder: Option<&Holder>) -> String {
    match holder {
        Some(h) => format!(
            "Another ph-installer session is driving this install: PID {} run by {} since {} ({}). \
             Finish or close that session first (for example the other SSH or SSM window); \
             if it is gone, its lock is released automatically.",
            h.pid,
            h.user,
            humantime::format_rfc3339_seconds(h.since),
            h.command
        ),
        None => format!(
            "Another ph-installer session holds the lock {}. Finish or close that session first.",
            path.display()
        ),
    }
}

/// Held for as long as the value lives; the OS releases it when the
/// process ends, however it ends, so a killed session never leaves a stale lock.
#[derive(Debug)]
pub struct InstallLock {
    _file: File,
    pub holder: Holder,
}

impl InstallLock {
    /// Takes the lock or reports who holds it. Never waits.
    pub fn acquire(path: &Path, command: &str) -> Result<InstallLock, StoreError> {
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .open(path)
            .map_err(|e| StoreError::io("open the lock file", path, e))?;
        match file.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => {
                let mut text = String::new();
                let _ = file.read_to_string(&mut text);
                return Err(StoreError::Locked(LockHeld {
                    path: path.to_path_buf(),
                    holder: serde_json::from_str(&text).ok(),
                }));
            }
            Err(std::fs::TryLockError::Error(e)) => return Err(StoreError::io("lock", path, e)),
        }
        let holder = Holder {
            pid: std::process::id(),
            user: user_name(current_uid()),
            since: SystemTime::now(),
            command: command.to_string(),
        };
        let json = serde_json::to_string(&holder).expect("holder serializes");
        file.set_len(0)
            .and_then(|_| file.seek(SeekFrom::Start(0)))
            .and_then(|_| file.write_all(json.as_bytes()))
            .and_then(|_| file.sync_all())
            .map_err(|e| StoreError::io("write", path, e))?;
        Ok(InstallLock {
            _file: file,
            holder,
        })
    }

    /// Who holds the lock now, without taking it (for `doctor`).
    pub fn probe(path: &Path) -> Result<Option<Holder>, StoreError> {
        let file = match File::open(path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(StoreError::io("open the lock file", path, e)),
        };
        match file.try_lock_shared() {
            Ok(()) => Ok(None),
            Err(std::fs::TryLockError::WouldBlock) => {
                let text = std::fs::read_to_string(path).unwrap_or_default();
                Ok(serde_json::from_str(&text).ok())
            }
            Err(std::fs::TryLockError::Error(e)) => {
                Err(StoreError::io("inspect the lock", path, e))
            }
        }
    }
}

mod rfc3339 {
    use serde::{Deserialize, Deserializer, Serializer};
    use std::time::SystemTime;

    pub fn serialize<S: Serializer>(t: &SystemTime, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&humantime::format_rfc3339_seconds(*t).to_string())
    }
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<SystemTime, D::Error> {
        let text = String::deserialize(d)?;
        humantime::parse_rfc3339(&text).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_session_is_told_who_holds_the_lock() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("lock");
        let first = InstallLock::acquire(&p, "ph-installer (ssh)").unwrap();
        let err = InstallLock::acquire(&p, "ph-installer (ssm)").unwrap_err();
        let msg = err.to_string();
        assert!(
            msg.contains(&format!("PID {}", std::process::id())),
            "{msg}"
        );
        assert!(msg.contains(&first.holder.user), "{msg}");
        assert!(msg.contains("ph-installer (ssh)"), "{msg}");
        assert_eq!(
            InstallLock::probe(&p).unwrap().unwrap().pid,
            std::process::id()
        );
        drop(first);
        assert!(InstallLock::probe(&p).unwrap().is_none());
        InstallLock::acquire(&p, "again").unwrap();
    }
}
