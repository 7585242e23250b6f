//! The sandbox account: a simulated AWS account behind the same ports,
//! persisted in the state dir, on a virtual clock.
//!
//! The whole account lives in one JSON file (`account.json`), written
//! atomically (0600) after every change, so a killed process loses nothing
//! and a second process (say `doctor` in another session) sees the same
//! account: before each call the file is read again when it changed on
//! disk, under an advisory lock (`account.lock`) so two writers never lose
//! each other's changes.
//!
//! Virtual time runs at `speed` virtual seconds per real second from an
//! anchor stored in the file, so it keeps running while no process is up.
//! Faults from the fault script are applied in one place ([`Shared::call`]).

pub mod cfn;
pub mod clock;
pub mod faults;
mod ports;
pub mod state;

use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::io;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime};

use crate::clock::{Clock, SystemClock};
use crate::cloud::{Cloud, CloudError, CloudResult};
use crate::core::region::RegionCode;
use crate::core::secret::Secret;
use crate::store::StoreError;
use crate::store::fsutil::{ensure_private_dir, write_private_atomic};

use faults::{FaultScript, FaultScriptError, InterruptKind};
use state::AccountState;

pub use state::{ACCOUNT_ID, INSTALLER_INSTANCE_ID};

/// Virtual seconds per real second. A full install (~45 virtual minutes,
/// MSK's ~30 on the critical path) takes about 1.5 real minutes.
pub const DEFAULT_SPEED: f64 = 30.0;

/// The account file inside the sandbox dir.
pub const ACCOUNT_FILE: &str = "account.json";
const LOCK_FILE: &str = "account.lock";
/// The NoEcho parameter values the account's stacks were given, by region
/// and digest: what AWS keeps for a stack so that UsePrevious, conditions
/// and a resumed install work after a restart. Written 0600 beside the
/// account file, never into it.
pub const NOECHO_FILE: &str = "noecho.json";

#[derive(Debug, Clone)]
pub struct SandboxOptions {
    /// Where the account lives (created 0700 on first use).
    pub dir: PathBuf,
    /// Virtual seconds per real second.
    pub speed: f64,
    pub faults: FaultScript,
}

#[derive(Debug, thiserror::Error)]
pub enum SandboxError {
    #[error(
        "The sandbox account file {} is corrupted or unreadable ({message}). Delete it to reset \
         the sandbox (every simulated stack, record and certificate goes; nothing real is \
         affected), then run again.",
        path.display()
    )]
    Corrupt { path: PathBuf, message: String },
    #[error(
        "The sandbox account file {} was written by a newer ph-installer (format {found}, this \
         build reads format {supported}). Use that newer ph-installer, or delete the file to \
         reset the sandbox.",
        path.display()
    )]
    NewerFormat {
        path: PathBuf,
        found: u32,
        supported: u32,
    },
    #[error(
        "Could not {action} the sandbox account file {}: {source}. Check the directory's \
         permissions and free space, or choose another state dir with --state-dir.",
        path.display()
    )]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("{}: {source}", path.display())]
    FaultScript {
        path: PathBuf,
        #[source]
        source: FaultScriptError,
    },
    #[error(
        "Could not read the sandbox fault script {}: {source}. Check the path given to \
         --sandbox-faults.",
        path.display()
    )]
    FaultScriptUnreadable {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(
        "The sandbox speed {speed} is not usable: give a positive number of virtual seconds per \
         real second (default {DEFAULT_SPEED})."
    )]
    InvalidSpeed { speed: f64 },
}

impl SandboxError {
    /// A sandbox setting given on the command line (the fault script, the
    /// speed) is the problem, not the account.
    pub fn is_refused_input(&self) -> bool {
        matches!(
            self,
            SandboxError::FaultScript { .. }
                | SandboxError::FaultScriptUnreadable { .. }
                | SandboxError::InvalidSpeed { .. }
        )
    }
}

/// Reads and checks a fault script file; errors name the file, line and key.
pub fn load_fault_script(path: &Path) -> Result<FaultScript, SandboxError> {
    let text =
        std::fs::read_to_string(path).map_err(|source| SandboxError::FaultScriptUnreadable {
            path: path.to_path_buf(),
            source,
        })?;
    FaultScript::from_toml(&text).map_err(|source| SandboxError::FaultScript {
        path: path.to_path_buf(),
        source,
    })
}

/// The simulated account. Cheap to clone; clones share one state.
#[derive(Clone)]
pub struct SandboxAccount {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for SandboxAccount {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SandboxAccount")
            .field("file", &self.shared.path)
            .finish_non_exhaustive()
    }
}

impl SandboxAccount {
    /// Opens the account in `opts.dir`, creating and seeding it on first use.
    pub fn open(opts: SandboxOptions) -> Result<SandboxAccount, SandboxError> {
        Self::open_with_clock(opts, Arc::new(SystemClock::new()))
    }

    /// As [`open`](Self::open), on the run's clock (tests use a `ManualClock`).
    pub fn open_with_clock(
        opts: SandboxOptions,
        clock: Arc<dyn Clock>,
    ) -> Result<SandboxAccount, SandboxError> {
        if !(opts.speed.is_finite() && opts.speed > 0.0) {
            return Err(SandboxError::InvalidSpeed { speed: opts.speed });
        }
        ensure_private_dir(&opts.dir)?;
        let path = opts.dir.join(ACCOUNT_FILE);
        let lock_path = opts.dir.join(LOCK_FILE);
        let shared = Shared {
            path,
            lock_path,
            opened_at: clock.elapsed(),
            clock,
            faults: opts.faults,
            calls: AtomicU64::new(0),
            loaded: Mutex::new(None),
            noecho_written: Mutex::new(None),
        };
        {
            let _lock = shared.file_lock()?;
            let mut slot = shared.lock_loaded();
            let real_now = shared.clock.now();
            let mut loaded = match shared.read_file()? {
                Some(loaded) => loaded,
                None => {
                    let state = AccountState::seed(real_now, opts.speed);
                    shared.write_state(&state)?;
                    let stamp = shared.stamp();
                    Loaded {
                        state,
                        stamp,
                        last_virtual: real_now,
                    }
                }
            };
            if loaded.state.clock.speed != opts.speed {
                loaded.state.clock = loaded.state.clock.with_speed(real_now, opts.speed);
                loaded.state.generation += 1;
                shared.write_state(&loaded.state)?;
                loaded.stamp = shared.stamp();
            }
            loaded.apply_faults(&shared.faults);
            *slot = Some(loaded);
        }
        Ok(SandboxAccount {
            shared: Arc::new(shared),
        })
    }

    /// The region the installer instance runs in.
    /// An account in `dir` on a manual clock at one virtual second per
    /// real one, running `faults`: what the runtime's tests drive.
    #[cfg(test)]
    pub(crate) fn on_manual_clock(
        dir: &Path,
        faults: faults::FaultScript,
    ) -> (Arc<crate::clock::ManualClock>, SandboxAccount) {
        let clock = Arc::new(crate::clock::ManualClock::starting_now());
        let account = SandboxAccount::open_with_clock(
            SandboxOptions {
                dir: dir.to_path_buf(),
                speed: 1.0,
                faults,
            },
            clock.clone(),
        )
        .expect("a sandbox account opens in a fresh directory");
        (clock, account)
    }

    pub fn home_region(&self) -> RegionCode {
        state::HOME_REGION.parse().expect("home region is valid")
    }

    /// Every port, bound to `region`.
    pub fn cloud(&self, region: RegionCode) -> Cloud {
        let ports = Arc::new(ports::SandboxPorts {
            shared: self.shared.clone(),
            region: region.clone(),
        });
        Cloud::from_ports(region, ports)
    }

    /// The account file.
    pub fn state_file(&self) -> &Path {
        &self.shared.path
    }

    /// Changes the account directly, as an operator would outside the
    /// installer (a hosted zone made in the console, an instance launched by
    /// hand): for arranging tests and demonstrations. No fault applies.
    pub fn arrange<T>(
        &self,
        op: impl FnOnce(&mut AccountState, SystemTime) -> T,
    ) -> CloudResult<T> {
        self.shared.apply("arrange", Access::Write, |state, now| {
            (Ok(op(state, now)), true)
        })
    }

    /// The sandbox's virtual time now.
    pub fn virtual_now(&self) -> SystemTime {
        let slot = self.shared.lock_loaded();
        let loaded = slot.as_ref().expect("loaded at open");
        self.shared.virtual_now(loaded)
    }
}

/// The state as last read or written, and the file it came from.
struct Loaded {
    state: AccountState,
    stamp: Option<FileStamp>,
    /// Virtual time never goes back within a process.
    last_virtual: SystemTime,
}

impl Loaded {
    fn apply_faults(&mut self, faults: &FaultScript) {
        for engine in self.state.stacks.values_mut() {
            engine.set_faults(faults);
        }
        if let Some(slow) = &faults.slow {
            let t = &mut self.state.timings;
            let set = |slot: &mut u64, v: Option<u64>| *slot = v.unwrap_or(*slot);
            set(&mut t.acm_validate_secs, slow.acm_validation_seconds);
            set(
                &mut t.acm_external_validate_secs,
                slow.acm_external_validation_seconds,
            );
            set(&mut t.dns_sync_secs, slow.dns_sync_seconds);
            set(&mut t.metadata_apply_secs, slow.metadata_apply_seconds);
        }
    }
}

/// Identifies one version of the file. An atomic write makes a new inode,
/// but inode numbers are reused and mtimes are coarse, so the generation
/// (every write under the file lock increments it; it leads the file) is
/// compared too.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct FileStamp {
    dev: u64,
    ino: u64,
    len: u64,
    mtime_ns: i128,
    generation: Option<u64>,
}

/// The `generation` near the start of the account file.
fn read_generation(path: &Path) -> Option<u64> {
    use std::io::Read;
    let mut head = [0u8; 256];
    let mut file = File::open(path).ok()?;
    let mut filled = 0;
    while filled < head.len() {
        match file.read(&mut head[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(_) => return None,
        }
    }
    let text = String::from_utf8_lossy(&head[..filled]);
    let rest = &text[text.find("\"generation\":")? + "\"generation\":".len()..];
    let digits: String = rest
        .trim_start()
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    digits.parse().ok()
}

/// Whether a call only reads or also changes the account.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Access {
    Read,
    Write,
}

pub(crate) struct Shared {
    path: PathBuf,
    lock_path: PathBuf,
    clock: Arc<dyn Clock>,
    faults: FaultScript,
    /// `clock.real_elapsed()` when the account was opened.
    opened_at: Duration,
    /// Calls made so far, for the deterministic throttle pattern.
    calls: AtomicU64,
    loaded: Mutex<Option<Loaded>>,
    /// What this process last wrote to [`NOECHO_FILE`], to skip rewriting it
    /// unchanged on every save.
    noecho_written: Mutex<Option<Vec<u8>>>,
}

impl Shared {
    fn lock_loaded(&self) -> MutexGuard<'_, Option<Loaded>> {
        self.loaded.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn file_lock(&self) -> Result<File, SandboxError> {
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .open(&self.lock_path)
            .map_err(|source| SandboxError::Io {
                action: "open the lock of",
                path: self.lock_path.clone(),
                source,
            })?;
        file.lock().map_err(|source| SandboxError::Io {
            action: "lock",
            path: self.lock_path.clone(),
            source,
        })?;
        Ok(file)
    }

    fn stamp(&self) -> Option<FileStamp> {
        std::fs::metadata(&self.path).ok().map(|m| FileStamp {
            dev: m.dev(),
            ino: m.ino(),
            len: m.len(),
            mtime_ns: i128::from(m.mtime()) * 1_000_000_000 + i128::from(m.mtime_nsec()),
            generation: read_generation(&self.path),
        })
    }

    /// The file's state, `None` when there is no file yet.
    fn read_file(&self) -> Result<Option<Loaded>, SandboxError> {
        let stamp = self.stamp();
        let text = match std::fs::read(&self.path) {
            Ok(t) => t,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(source) => {
                return Err(SandboxError::Io {
                    action: "read",
                    path: self.path.clone(),
                    source,
                });
            }
        };
        let corrupt = |message: String| SandboxError::Corrupt {
            path: self.path.clone(),
            message,
        };
        let value: serde_json::Value =
            serde_json::from_slice(&text).map_err(|e| corrupt(e.to_string()))?;
        let format = value.get("format").and_then(|f| f.as_u64()).unwrap_or(0);
        if format > u64::from(state::FORMAT) {
            return Err(SandboxError::NewerFormat {
                path: self.path.clone(),
                found: format as u32,
                supported: state::FORMAT,
            });
        }
        let mut state: AccountState =
            serde_json::from_value(value).map_err(|e| corrupt(e.to_string()))?;
        self.restore_noecho(&mut state)?;
        let last_virtual = state.clock.virtual_at;
        Ok(Some(Loaded {
            state,
            stamp,
            last_virtual,
        }))
    }

    fn noecho_path(&self) -> PathBuf {
        self.path.with_file_name(NOECHO_FILE)
    }

    /// Gives the engines back the NoEcho values kept in [`NOECHO_FILE`].
    fn restore_noecho(&self, state: &mut AccountState) -> Result<(), SandboxError> {
        let path = self.noecho_path();
        let text = match std::fs::read(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
            Err(source) => {
                return Err(SandboxError::Io {
                    action: "read",
                    path,
                    source,
                });
            }
        };
        let kept: BTreeMap<String, BTreeMap<String, String>> = serde_json::from_slice(&text)
            .map_err(|e| SandboxError::Corrupt {
                path: path.clone(),
                message: e.to_string(),
            })?;
        for (region, values) in kept {
            if let Some(engine) = state.stacks.get_mut(&region) {
                engine.restore_noecho_values(values.into_iter().map(|(d, v)| (d, Secret::new(v))));
            }
        }
        Ok(())
    }

    fn write_noecho(&self, state: &AccountState) -> Result<(), SandboxError> {
        let kept: BTreeMap<&String, BTreeMap<String, String>> = state
            .stacks
            .iter()
            .map(|(region, engine)| {
                let values = engine
                    .noecho_values()
                    .into_iter()
                    .map(|(d, v)| (d, v.expose().to_string()))
                    .collect();
                (region, values)
            })
            .filter(|(_, v): &(_, BTreeMap<String, String>)| !v.is_empty())
            .collect();
        let path = self.noecho_path();
        if kept.is_empty() && !path.exists() {
            return Ok(());
        }
        let json = serde_json::to_vec(&kept).expect("strings serialize");
        let mut last = self
            .noecho_written
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        if last.as_deref() == Some(json.as_slice()) && path.exists() {
            return Ok(());
        }
        write_private_atomic(&path, &json)?;
        *last = Some(json);
        Ok(())
    }

    fn write_state(&self, state: &AccountState) -> Result<(), SandboxError> {
        self.write_noecho(state)?;
        let json = serde_json::to_vec_pretty(state).map_err(|e| SandboxError::Corrupt {
            path: self.path.clone(),
            message: format!("the state could not be encoded: {e}"),
        })?;
        write_private_atomic(&self.path, &json)?;
        Ok(())
    }

    fn virtual_now(&self, loaded: &Loaded) -> SystemTime {
        loaded
            .state
            .clock
            .virtual_at(self.clock.now())
            .max(loaded.last_virtual)
    }

    /// The faults that refuse a call before it reaches the account.
    async fn before_call(&self, action: &str) -> CloudResult<()> {
        if let Some(latency) = &self.faults.latency
            && latency.ms > 0
        {
            self.clock.sleep(Duration::from_millis(latency.ms)).await;
        }
        if let Some(expiry) = &self.faults.expire_credentials {
            let up = self.clock.elapsed().saturating_sub(self.opened_at);
            if up >= Duration::from_secs(expiry.after_seconds) {
                return Err(CloudError::ExpiredCredentials {
                    detail: format!(
                        "ExpiredToken on {action}: the sandbox fault script expired the \
                         credentials {} s after start (expire_credentials.after_seconds); \
                         start the installer again for fresh sandbox credentials",
                        expiry.after_seconds
                    ),
                });
            }
        }
        if self.faults.deny.iter().any(|d| d.action == action) {
            return Err(CloudError::AccessDenied {
                action: action.to_string(),
                detail: format!(
                    "User: arn:aws:sts::{ACCOUNT_ID}:assumed-role/ph-installer-sandbox/\
                     {INSTALLER_INSTANCE_ID} is not authorized to perform: {action} because no \
                     identity-based policy allows the {action} action (the sandbox fault \
                     script denies it)"
                ),
            });
        }
        let n = self.calls.fetch_add(1, Ordering::SeqCst) + 1;
        if let Some(throttle) = &self.faults.throttle
            && throttled(n, throttle.share)
        {
            return Err(CloudError::Throttled {
                action: action.to_string(),
                retry_after: None,
            });
        }
        Ok(())
    }

    /// The interrupt the fault script has for this call of `action`, if it
    /// has attempts left; counts it in the account, so `times` holds across
    /// processes.
    fn take_interrupt(
        state: &mut AccountState,
        faults: &FaultScript,
        action: &str,
    ) -> Option<InterruptKind> {
        faults.interrupt.iter().enumerate().find_map(|(n, f)| {
            if f.action != action {
                return None;
            }
            let key = format!("{n}/{action}");
            let fired = state.interrupts_fired.get(&key).copied().unwrap_or(0);
            f.times.fires(fired).then(|| {
                state.interrupts_fired.insert(key, fired + 1);
                f.kind
            })
        })
    }

    /// Runs one port call: faults first, then `op` on the current state at
    /// the current virtual time, then the state is saved when it changed.
    pub(crate) async fn call<T>(
        &self,
        action: &str,
        access: Access,
        op: impl FnOnce(&mut AccountState, SystemTime) -> CloudResult<T>,
    ) -> CloudResult<T> {
        self.call_tracked(action, access, |state, now| (op(state, now), false))
            .await
    }

    /// As [`call`](Self::call), for reads that may move a simulation on:
    /// `op` also says whether it changed the state, which is then saved, so
    /// another process (or the next run) continues from the same point.
    pub(crate) async fn call_tracked<T>(
        &self,
        action: &str,
        access: Access,
        op: impl FnOnce(&mut AccountState, SystemTime) -> (CloudResult<T>, bool),
    ) -> CloudResult<T> {
        self.before_call(action).await?;
        self.apply(action, access, op)
    }

    /// The account side of a call: the current state at the current
    /// virtual time, saved when it changed.
    fn apply<T>(
        &self,
        action: &str,
        access: Access,
        op: impl FnOnce(&mut AccountState, SystemTime) -> (CloudResult<T>, bool),
    ) -> CloudResult<T> {
        // This machine failed, not AWS.
        let local = |e: SandboxError| CloudError::Local {
            detail: e.to_string(),
        };
        // In-process callers queue on the mutex, other processes on the file lock.
        let mut slot = self.lock_loaded();
        let _file_lock = self.file_lock().map_err(local)?;
        let current = self.stamp();
        let stale = slot.as_ref().is_none_or(|l| l.stamp != current);
        if stale {
            match self.read_file() {
                Ok(Some(mut fresh)) => {
                    if let Some(old) = slot.as_ref() {
                        fresh.last_virtual = fresh.last_virtual.max(old.last_virtual);
                    }
                    fresh.apply_faults(&self.faults);
                    *slot = Some(fresh);
                }
                // Deleted under us: keep what we have; the next write recreates it.
                Ok(None) => {}
                Err(e) => return Err(local(e)),
            }
        }
        let loaded = slot.as_mut().expect("loaded at open");
        let now = self.virtual_now(loaded);
        loaded.last_virtual = now;
        let before = (access == Access::Write).then(|| loaded.state.clone());
        let settled = loaded.state.settle(now);
        let interrupt = Self::take_interrupt(&mut loaded.state, &self.faults, action);
        if interrupt == Some(InterruptKind::ServerError) {
            // Refused before anything was applied; only the count is kept.
            let _ = self.save(loaded);
            return Err(CloudError::Unavailable {
                service: action.split(':').next().unwrap_or("AWS").into(),
                detail: format!(
                    "HTTP 500: InternalFailure: {action} failed inside AWS (the sandbox fault \
                     script's [[interrupt]])"
                ),
            });
        }
        let (result, changed) = op(&mut loaded.state, now);
        let dirty = settled || changed || access == Access::Write || interrupt.is_some();
        if dirty && let Err(e) = self.save(loaded) {
            if let Some(before) = before {
                loaded.state = before;
            }
            return Err(local(e));
        }
        if interrupt == Some(InterruptKind::ResponseLost) {
            // Applied, but the answer never came back.
            return Err(CloudError::Unavailable {
                service: action.split(':').next().unwrap_or("AWS").into(),
                detail: format!(
                    "{action} timed out waiting for the response (the sandbox fault script's \
                     [[interrupt]] lost it; the call was applied)"
                ),
            });
        }
        result
    }

    /// Writes the state as the next generation and remembers the file.
    fn save(&self, loaded: &mut Loaded) -> Result<(), SandboxError> {
        loaded.state.generation += 1;
        self.write_state(&loaded.state)?;
        loaded.stamp = self.stamp();
        Ok(())
    }
}

/// Call `n` (1-based) is refused when it carries the running count of
/// refusals past a whole number: exactly `share` of calls, evenly spread.
fn throttled(n: u64, share: f64) -> bool {
    debug_assert!(n >= 1);
    let share = share.clamp(0.0, 1.0);
    (n as f64 * share).floor() > ((n - 1) as f64 * share).floor()
}

#[cfg(test)]
mod tests;
