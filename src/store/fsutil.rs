//! Small filesystem helpers: private directories, atomic private files,
//! and the OpenSSH-style permission check for files holding secrets.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use super::StoreError;

/// Creates `dir` (and parents) if missing; the leaf is created 0700.
pub fn ensure_private_dir(dir: &Path) -> Result<(), StoreError> {
    if dir.is_dir() {
        return Ok(());
    }
    if let Some(parent) = dir.parent()
        && !parent.as_os_str().is_empty()
    {
        fs::create_dir_all(parent).map_err(|e| StoreError::io("create directory", parent, e))?;
    }
    match fs::DirBuilder::new().mode(0o700).create(dir) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists && dir.is_dir() => Ok(()),
        Err(e) => Err(StoreError::io("create directory", dir, e)),
    }
}

/// Writes `bytes` to `path` atomically with mode 0600: a temp file in the
/// same directory, fsync, rename over the target, fsync the directory. A
/// crash leaves either the old file or the new one, never a torn one.
pub fn write_private_atomic(path: &Path, bytes: &[u8]) -> Result<(), StoreError> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("file");
    let tmp: PathBuf = dir.join(format!(
        ".{name}.tmp-{}-{}",
        std::process::id(),
        uuid::Uuid::new_v4().simple()
    ));
    let result = (|| {
        let mut f = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&tmp)
            .map_err(|e| StoreError::io("create", &tmp, e))?;
        // The mode given to open() is reduced by the umask; 0600 is what we want regardless.
        f.set_permissions(fs::Permissions::from_mode(0o600))
            .map_err(|e| StoreError::io("set permissions on", &tmp, e))?;
        f.write_all(bytes)
            .map_err(|e| StoreError::io("write", &tmp, e))?;
        f.sync_all().map_err(|e| StoreError::io("sync", &tmp, e))?;
        fs::rename(&tmp, path).map_err(|e| StoreError::io("replace", path, e))?;
        File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(|e| StoreError::io("sync directory", dir, e))
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

/// Refuses a directory that holds the install's state when someone else
/// could change what is in it: writable by group or others, or owned by
/// another user (root excepted), as OpenSSH's StrictModes judges `~/.ssh`.
/// A directory others can only list is allowed; `doctor` warns about it.
pub fn check_trusted_dir(path: &Path) -> Result<(), StoreError> {
    let meta = fs::metadata(path).map_err(|e| StoreError::io("inspect", path, e))?;
    refuse_foreign_owner(path, &meta, true)?;
    let mode = meta.mode() & 0o777;
    if mode & 0o022 != 0 {
        return Err(StoreError::DirWritableByOthers {
            path: path.to_path_buf(),
            mode,
        });
    }
    Ok(())
}

/// Refuses `path` unless this process's user owns it (or root does, when
/// `root_ok`), naming the owner and the `chown` that fixes it.
fn refuse_foreign_owner(path: &Path, meta: &fs::Metadata, root_ok: bool) -> Result<(), StoreError> {
    let uid = current_uid();
    if meta.uid() == uid || (root_ok && meta.uid() == 0) {
        return Ok(());
    }
    Err(StoreError::WrongOwner {
        path: path.to_path_buf(),
        owner: user_name(meta.uid()),
        you: user_name(uid),
    })
}

/// Creates `dir` 0700 when missing, then refuses it when others could
/// change what is in it (see [`check_trusted_dir`]).
pub fn ensure_trusted_dir(dir: &Path) -> Result<(), StoreError> {
    ensure_private_dir(dir)?;
    check_trusted_dir(dir)
}

/// The effective user id of this process.
pub fn current_uid() -> u32 {
    nix::unistd::geteuid().as_raw()
}

/// A user name for a uid, or the number when it has none.
pub fn user_name(uid: u32) -> String {
    nix::unistd::User::from_uid(nix::unistd::Uid::from_raw(uid))
        .ok()
        .flatten()
        .map(|u| u.name)
        .unwrap_or_else(|| format!("uid {uid}"))
}

/// Refuses a file that holds secrets when others could read it or someone
/// else owns it, the way OpenSSH refuses a private key, with the command
/// that fixes it.
pub fn check_private_file(path: &Path, meta: &fs::Metadata) -> Result<(), StoreError> {
    refuse_foreign_owner(path, meta, false)?;
    let mode = meta.mode() & 0o777;
    if mode & 0o077 != 0 {
        return Err(StoreError::TooOpen {
            path: path.to_path_buf(),
            mode,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn atomic_write_creates_a_0600_file_and_replaces_it_whole() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("config.toml");
        write_private_atomic(&p, b"a = 1\n").unwrap();
        write_private_atomic(&p, b"a = 2\n").unwrap();
        assert_eq!(fs::read_to_string(&p).unwrap(), "a = 2\n");
        assert_eq!(fs::metadata(&p).unwrap().mode() & 0o777, 0o600);
        // No temp files are left behind.
        let names: Vec<_> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names.len(), 1, "{names:?}");
    }

    #[test]
    fn private_dir_is_created_0700() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a/b/state");
        ensure_private_dir(&p).unwrap();
        assert_eq!(fs::metadata(&p).unwrap().mode() & 0o777, 0o700);
    }

    #[test]
    fn a_directory_others_can_write_is_refused_with_the_chmod_that_fixes_it() {
        let dir = tempfile::tempdir().unwrap();
        fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o775)).unwrap();
        let msg = check_trusted_dir(dir.path()).unwrap_err().to_string();
        assert!(msg.contains("0775") && msg.contains("can write"), "{msg}");
        assert!(
            msg.contains(&format!("chmod 700 {}", dir.path().display())),
            "{msg}"
        );
        fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o755)).unwrap();
        check_trusted_dir(dir.path()).unwrap();
    }

    #[test]
    fn a_directory_root_owns_is_trusted_and_one_another_user_owns_is_not() {
        // The root exemption: system directories are root's.
        check_trusted_dir(Path::new("/")).unwrap();
        if current_uid() == 0 {
            let dir = tempfile::tempdir().unwrap();
            nix::unistd::chown(dir.path(), Some(nix::unistd::Uid::from_raw(65534)), None).unwrap();
            let msg = check_trusted_dir(dir.path()).unwrap_err().to_string();
            assert!(
                msg.contains(&user_name(65534)) && msg.contains("chown"),
                "{msg}"
            );
        } else {
            // Not root: our own directory is trusted (root can't be tested here).
            let dir = tempfile::tempdir().unwrap();
            check_trusted_dir(dir.path()).unwrap();
        }
    }

    #[test]
    fn a_file_another_user_owns_is_refused_naming_the_owner() {
        let dir = tempfile::tempdir().unwrap();
        // Root can give a file away; anyone else finds one root owns.
        let (path, owner) = if current_uid() == 0 {
            let p = dir.path().join("secrets.toml");
            fs::write(&p, "x").unwrap();
            fs::set_permissions(&p, fs::Permissions::from_mode(0o600)).unwrap();
            nix::unistd::chown(&p, Some(nix::unistd::Uid::from_raw(65534)), None).unwrap();
            (p, 65534)
        } else {
            (PathBuf::from("/etc/passwd"), 0)
        };
        let msg = check_private_file(&path, &fs::metadata(&path).unwrap())
            .unwrap_err()
            .to_string();
        assert!(
            msg.contains("is owned by") && msg.contains("chown"),
            "{msg}"
        );
        assert!(msg.contains(&user_name(owner)), "{msg}");
    }

    #[test]
    fn a_group_readable_file_is_refused_with_the_chmod_that_fixes_it() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("secrets.toml");
        fs::write(&p, "x").unwrap();
        fs::set_permissions(&p, fs::Permissions::from_mode(0o640)).unwrap();
        let err = check_private_file(&p, &fs::metadata(&p).unwrap()).unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("0640") && msg.contains("too open"), "{msg}");
        assert!(msg.contains(&format!("chmod 600 {}", p.display())), "{msg}");
        fs::set_permissions(&p, fs::Permissions::from_mode(0o600)).unwrap();
        check_private_file(&p, &fs::metadata(&p).unwrap()).unwrap();
    }
}
