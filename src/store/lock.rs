//! The install lock: one session drives an install at a time. A second
//! session (say SSM while SSH is open) is told who holds it.

use std::fs::{File, OpenOptions};
use std::io::{Seek, SeekFrom, Write};
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

/// What [`InstallLock::probe`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LockProbe {
    Free,
    /// Held by another session; who, when its record could be read.
    Held(Option<Holder>),
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
                return Err(StoreError::Locked(LockHeld {
                    path: path.to_path_buf(),
                    holder: read_holder(path),
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

    /// Whether another session holds the lock now, without taking it (for
    /// `doctor`).
    pub fn probe(path: &Path) -> Result<LockProbe, StoreError> {
        let file = match File::open(path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(LockProbe::Free),
            Err(e) => return Err(StoreError::io("open the lock file", path, e)),
        };
        match file.try_lock_shared() {
            Ok(()) => Ok(LockProbe::Free),
            Err(std::fs::TryLockError::WouldBlock) => Ok(LockProbe::Held(read_holder(path))),
            Err(std::fs::TryLockError::Error(e)) => {
                Err(StoreError::io("inspect the lock", path, e))
            }
        }
    }
}

impl Drop for InstallLock {
    /// Clears the holder before the OS releases the lock, so the file never
    /// names a session that has ended.
    fn drop(&mut self) {
        let _ = self._file.set_len(0);
    }
}

/// Who holds the lock, as the holder wrote it. The holder writes just after
/// taking the lock, and a session that crashed left its own record behind:
/// a record that is missing, torn or names a process that is gone is read
/// again for a moment, and never reported as the holder.
fn read_holder(path: &Path) -> Option<Holder> {
    for _ in 0..10 {
        let text = std::fs::read_to_string(path).unwrap_or_default();
        if let Ok(h) = serde_json::from_str::<Holder>(&text)
            && process_alive(h.pid)
        {
            return Some(h);
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    None
}

fn process_alive(pid: u32) -> bool {
    let Ok(pid) = i32::try_from(pid) else {
        return false;
    };
    // Signal 0 checks existence; EPERM means it exists under another user.
    match nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), None) {
        Ok(()) => true,
        Err(e) => e == nix::errno::Errno::EPERM,
    }
}

/// `SystemTime` as RFC 3339 text, for the store's files.
pub(crate) mod rfc3339 {
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
        assert!(
            matches!(InstallLock::probe(&p).unwrap(), LockProbe::Held(Some(h)) if h.pid == std::process::id())
        );
        drop(first);
        assert_eq!(InstallLock::probe(&p).unwrap(), LockProbe::Free);
        // The ended session is no longer named in the file.
        assert_eq!(std::fs::read_to_string(&p).unwrap(), "");
        InstallLock::acquire(&p, "again").unwrap();
    }

    #[test]
    fn a_record_left_by_a_crashed_session_is_not_taken_for_the_holder() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("lock");
        // A session that crashed (no such PID) left its record, and another
        // session has just taken the lock without writing its own yet.
        let stale = Holder {
            pid: 999_999_999,
            user: "ghost".into(),
            since: SystemTime::UNIX_EPOCH,
            command: "ph-installer (crashed)".into(),
        };
        std::fs::write(&p, serde_json::to_string(&stale).unwrap()).unwrap();
        let other = File::open(&p).unwrap();
        other.try_lock().unwrap();
        assert_eq!(InstallLock::probe(&p).unwrap(), LockProbe::Held(None));
        let msg = InstallLock::acquire(&p, "ph-installer (ssh)")
            .unwrap_err()
            .to_string();
        assert!(
            !msg.contains("ghost") && !msg.contains("999999999"),
            "{msg}"
        );
        assert!(
            msg.contains("Another ph-installer session holds the lock"),
            "{msg}"
        );
        drop(other);
        let held = InstallLock::acquire(&p, "ph-installer (ssh)").unwrap();
        drop(held);
    }
}
