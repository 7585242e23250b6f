//! `secrets.toml`: the secrets the installer generates, and the
//! provisioning user's access key IAM gave it, kept only here (no Secrets
//! Manager), 0600, refused when others can read it.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{self, Read};
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::fsutil::{check_private_file, write_private_atomic};
use super::{StoreError, parse_toml};
use crate::core::secret::Secret;

const HEADER: &str = "# Secrets of ph-installer: those it generated, and the provisioning user's\n\
# access key. Keep this file private (chmod 600). Generated secrets reach AWS\n\
# only as NoEcho CloudFormation parameters.\n\n";

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SecretsFile {
    #[serde(default)]
    secrets: BTreeMap<String, Secret>,
}

impl SecretsFile {
    /// Reads the file; `None` when it does not exist. The permission and
    /// owner check runs on the opened file, before anything is read.
    pub fn load(path: &Path) -> Result<Option<SecretsFile>, StoreError> {
        let mut file = match File::open(path) {
            Ok(f) => f,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(StoreError::io("open", path, e)),
        };
        let meta = file
            .metadata()
            .map_err(|e| StoreError::io("inspect", path, e))?;
        check_private_file(path, &meta)?;
        let mut text = String::new();
        file.read_to_string(&mut text)
            .map_err(|e| StoreError::io("read", path, e))?;
        parse_toml(path, &text).map(Some)
    }

    /// Writes the file atomically, 0600.
    pub fn save(&self, path: &Path) -> Result<(), StoreError> {
        let body = toml::to_string_pretty(self).map_err(|e| StoreError::Malformed {
            path: path.to_path_buf(),
            message: e.to_string(),
        })?;
        write_private_atomic(path, format!("{HEADER}{body}").as_bytes())
    }

    pub fn get(&self, name: &str) -> Option<&Secret> {
        self.secrets.get(name)
    }

    /// Adds a secret unless one of that name exists (secrets are generated
    /// once); returns the one kept.
    pub fn get_or_insert(&mut self, name: &str, make: impl FnOnce() -> Secret) -> &Secret {
        self.secrets.entry(name.to_string()).or_insert_with(make)
    }

    /// Sets a secret whose earlier value is of no use any more (an access
    /// key IAM no longer has): the one exception to generating once.
    pub fn replace(&mut self, name: &str, value: Secret) {
        self.secrets.insert(name.to_string(), value);
    }

    /// The secrets' names, for screens that list them without values.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.secrets.keys().map(String::as_str)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;
    use std::os::unix::fs::{MetadataExt, PermissionsExt};

    #[test]
    fn secrets_round_trip_through_a_0600_file() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("secrets.toml");
        let mut s = SecretsFile::default();
        s.get_or_insert("db_master_password", || Secret::new("s3cr3t-value"));
        s.save(&p).unwrap();
        assert_eq!(fs::metadata(&p).unwrap().mode() & 0o777, 0o600);
        let back = SecretsFile::load(&p).unwrap().unwrap();
        assert_eq!(
            back.get("db_master_password").unwrap().expose(),
            "s3cr3t-value"
        );
        assert_eq!(back.names().collect::<Vec<_>>(), ["db_master_password"]);
    }

    #[test]
    fn a_secret_is_generated_once_and_kept() {
        let mut s = SecretsFile::default();
        s.get_or_insert("token", || Secret::new("first"));
        let kept = s
            .get_or_insert("token", || Secret::new("second"))
            .expose()
            .to_string();
        assert_eq!(kept, "first");
    }

    #[test]
    fn a_replaced_secret_takes_the_old_ones_place() {
        let mut s = SecretsFile::default();
        s.get_or_insert("key", || Secret::new("old"));
        s.replace("key", Secret::new("new"));
        assert_eq!(s.get("key").unwrap().expose(), "new");
        assert_eq!(s.names().collect::<Vec<_>>(), ["key"]);
    }

    #[test]
    fn a_world_readable_secrets_file_is_refused_and_left_untouched() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("secrets.toml");
        fs::write(&p, "[secrets]\na = \"b\"\n").unwrap();
        fs::set_permissions(&p, fs::Permissions::from_mode(0o644)).unwrap();
        let err = SecretsFile::load(&p).unwrap_err();
        assert!(
            matches!(err, StoreError::TooOpen { mode: 0o644, .. }),
            "{err}"
        );
        assert!(err.to_string().contains("chmod 600"));
        assert_eq!(fs::read_to_string(&p).unwrap(), "[secrets]\na = \"b\"\n");
    }

    #[test]
    fn a_missing_secrets_file_is_not_an_error() {
        let dir = tempfile::tempdir().unwrap();
        assert!(
            SecretsFile::load(&dir.path().join("secrets.toml"))
                .unwrap()
                .is_none()
        );
    }

    #[test]
    fn a_malformed_secrets_file_is_refused_without_echoing_values() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("secrets.toml");
        fs::write(&p, "[secrets]\npassword = \"abc\nnext = 1\n").unwrap();
        fs::set_permissions(&p, fs::Permissions::from_mode(0o600)).unwrap();
        let msg = SecretsFile::load(&p).unwrap_err().to_string();
        assert!(
            msg.contains("secrets.toml") && msg.contains("line 2"),
            "{msg}"
        );
        assert!(!msg.contains("abc"), "the value leaked into: {msg}");
    }

    #[test]
    fn an_unreadable_secrets_file_is_named_in_the_error() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("secrets.toml");
        fs::create_dir(&p).unwrap(); // a directory where a file belongs
        let err = SecretsFile::load(&p).unwrap_err();
        assert!(err.to_string().contains("secrets.toml"), "{err}");
    }
}
