//! `ph-installer doctor`: the preflight a person runs first. Each check
//! passes or says what to do; checks that depend on a failed one are skipped.

use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::time::Instant;

use super::progress::{Progress, Reporter};
use super::retry::{Backoff, patiently};
use super::{ConnectFailure, Session};
use crate::cloud::CloudError;
use crate::core::answers::Answers;
use crate::core::blueprint::Blueprint;
use crate::core::blueprint::zones::{OfferedZone, choose_zones};
use crate::core::doctor::{self as judge, Check, StateDirFacts};
use crate::core::region::{RegionCode, RegionRefusal, check_opt_in};
use crate::core::regions::known_region;
use crate::store::fsutil::{current_uid, user_name};
use crate::store::lock::{InstallLock, LockProbe};
use crate::store::secrets::SecretsFile;
use crate::store::{StateDir, StateDirSource};

/// The checks so far; each is reported the moment it is known.
struct Report<'a> {
    checks: Vec<Check>,
    reporter: &'a dyn Reporter,
}

impl Report<'_> {
    fn push(&mut self, check: Check) {
        self.reporter.report(Progress::Check(check.clone()));
        self.checks.push(check);
    }
}

/// Runs every check in order: identity, region, endpoint, clock, then the
/// local state (answers, state dir, secrets file, lock). Each check goes
/// to `reporter` as soon as it has finished; all of them are returned.
pub async fn run(
    session: &Result<Session, ConnectFailure>,
    state: &StateDir,
    chosen_by: StateDirSource,
    reporter: &dyn Reporter,
) -> Vec<Check> {
    let mut report = Report {
        checks: Vec::new(),
        reporter,
    };
    // Read once: the sizing check needs the chosen profile, the answers
    // check below reports the file either way.
    let saved = state.read_toml::<Answers>(&state.config_path());
    let chosen = saved
        .as_ref()
        .ok()
        .and_then(Option::as_ref)
        .and_then(|a| Some((a.profile.clone()?, a.sizing.clone())));
    let region = cloud_checks(session, chosen.as_ref(), &mut report).await;
    // The local checks read files and may wait a moment for the lock's
    // holder to finish writing its record: off the async workers.
    let state = state.clone();
    let local = tokio::task::spawn_blocking(move || {
        [
            answers_check(&state, saved, region.as_ref()),
            state_dir_check(state.root(), chosen_by),
            secrets_check(&state.secrets_path()),
            lock_check(&state.lock_path()),
        ]
    })
    .await;
    match local {
        Ok(checks) => checks.into_iter().for_each(|c| report.push(c)),
        Err(e) => report.push(Check::fail(
            "state-dir",
            "The local checks did not finish.",
            format!("{e}; run doctor again."),
        )),
    }
    report.checks
}

/// Returns the region in use, when a connection could be set up.
async fn cloud_checks(
    session: &Result<Session, ConnectFailure>,
    chosen_profile: Option<&Chosen>,
    checks: &mut Report<'_>,
) -> Option<RegionCode> {
    let connected = match session {
        Ok(c) => c,
        Err(e) => {
            checks.push(Check::fail(
                "connect",
                "Could not set up the AWS connection.",
                e.to_string(),
            ));
            for id in [
                "identity",
                "region",
                "endpoint",
                "clock",
                "s3-public",
                "sizing",
            ] {
                checks.push(Check::skipped(id, "skipped: no AWS connection"));
            }
            return None;
        }
    };
    let clock = connected.clock.as_ref();
    let session = &connected.info;
    let code = connected.region.code.clone();
    let endpoint = match &session.endpoint_override {
        Some(url) => format!("the endpoint {url}"),
        None => format!("the AWS endpoints of {code}"),
    };

    // Who am I: the first signed call, which also tells whether the endpoint answers.
    // The round trip is that of the last attempt, not of the pauses between.
    let started = std::cell::Cell::new(Instant::now());
    let identity = patiently(clock, Backoff::default(), || {
        started.set(Instant::now());
        connected.cloud.identity.caller_identity()
    })
    .await;
    let elapsed = started.get().elapsed();
    let credentials = format!("Credentials: {}.", session.credential_source);
    let refusal = match identity {
        Ok(id) => {
            checks.push(
                Check::pass(
                    "identity",
                    format!("Account {}, acting as {}.", id.account, id.arn),
                )
                .detail(credentials),
            );
            checks.push(region_check(connected).await);
            checks.push(Check::pass(
                "endpoint",
                format!(
                    "{} answered in {} ms.",
                    sentence_start(&endpoint),
                    elapsed.as_millis()
                ),
            ));
            checks.push(clock_check(connected).await);
            checks.push(public_access_check(connected, &id.account).await);
            for check in blueprint_checks(connected, chosen_profile).await {
                checks.push(check);
            }
            return Some(code);
        }
        Err(e) => {
            checks.push(
                Check::fail(
                    "identity",
                    "Could not find out who the installer acts as.",
                    e.to_string(),
                )
                .detail(credentials),
            );
            e
        }
    };
    // Every other call would be refused the same way.
    checks.push(Check::skipped(
        "region",
        format!(
            "skipped: region {code} (from {}) cannot be checked without a working identity",
            connected.region.source
        ),
    ));
    match refusal {
        CloudError::MissingCredentials { .. } => {
            checks.push(Check::skipped(
                "endpoint",
                format!(
                    "skipped: nothing was sent to {endpoint}; there are no credentials to sign \
                     a request"
                ),
            ));
            checks.push(Check::skipped(
                "clock",
                "skipped: AWS's clock is read from a signed call, and there are no credentials",
            ));
        }
        CloudError::Unavailable { .. } => {
            checks.push(Check::fail(
                "endpoint",
                format!("{} did not answer.", sentence_start(&endpoint)),
                "Check the instance's route to AWS (NAT gateway, VPC endpoints for sts, ec2, \
                 cloudformation, acm and route53, or an HTTPS proxy via HTTPS_PROXY), then run \
                 again.",
            ));
            checks.push(Check::skipped("clock", "skipped: AWS did not answer"));
        }
        _ => {
            // AWS answered with a refusal, and the refusal carries its clock:
            // a clock too far off is one reason signatures are refused.
            checks.push(Check::pass(
                "endpoint",
                format!(
                    "{} answered (with the refusal above).",
                    sentence_start(&endpoint)
                ),
            ));
            checks.push(clock_check(connected).await);
        }
    }
    checks.push(Check::skipped(
        "s3-public",
        "skipped: the account's S3 settings are read once the installer knows who it is",
    ));
    checks.push(Check::skipped(
        "sizing",
        "skipped: the services' offerings are read once the installer knows who it is",
    ));
    checks.push(Check::skipped(
        "eks-addons",
        "skipped: the EKS add-ons are read once the installer knows who it is",
    ));
    Some(code)
}

/// The chosen profile and the values the operator changed in it.
type Chosen = (String, std::collections::BTreeMap<String, String>);

/// The checks that read the embedded blueprint (parsed once for both):
/// sizing, then the EKS add-ons.
async fn blueprint_checks(connected: &Session, chosen: Option<&Chosen>) -> [Check; 2] {
    match crate::core::blueprint::Blueprint::embedded() {
        Ok(mut bp) => {
            // The chosen profile is checked as the operator changed it.
            if let Some((name, changed)) = chosen
                && let Some(p) = bp.sizing.profiles.get_mut(name)
            {
                *p = crate::core::wizard::custom::effective(p, changed);
            }
            [
                sizing_check(connected, &bp, chosen.map(|(n, _)| n.as_str())).await,
                addon_check(connected, &bp).await,
            ]
        }
        Err(e) => ["sizing", "eks-addons"].map(|id| {
            Check::fail(
                id,
                "The blueprint built into this binary does not parse.",
                format!("{e}; this is a defect of the build, report it."),
            )
        }),
    }
}

/// Whether the EKS add-ons accept the settings the templates give them.
async fn addon_check(connected: &Session, bp: &Blueprint) -> Check {
    let code = connected.region.code.as_str();
    let (k8s, wanted) = crate::core::blueprint::offerings::addon_configurations(bp);
    let mut found = Vec::new();
    for (addon, _) in &wanted {
        let settings = patiently(connected.clock.as_ref(), Backoff::default(), || {
            connected.cloud.offerings.addon_settings(addon, &k8s)
        })
        .await;
        match settings {
            Ok(s) => found.push((addon.clone(), s.map(|s| (s.version, s.keys)))),
            Err(e) => {
                return Check::fail(
                    "eks-addons",
                    format!("Could not ask EKS in {code} what its add-ons accept."),
                    e.to_string(),
                );
            }
        }
    }
    crate::core::blueprint::offerings::addon_check(&k8s, &wanted, &found, code)
}

/// Whether every profile's instance types are sold in the region.
async fn sizing_check(connected: &Session, bp: &Blueprint, chosen: Option<&str>) -> Check {
    let code = &connected.region.code;
    match super::sizing::profile_fits(&connected.cloud, connected.clock.as_ref(), bp, code).await {
        Ok(fits) => crate::core::blueprint::offerings::sizing_check(&fits, chosen, code.as_str()),
        Err(e) => Check::fail(
            "sizing",
            format!("Could not ask the services of {code} which instance types they offer."),
            e.to_string(),
        ),
    }
}

/// Whether the account's S3 Block Public Access lets the media bucket's
/// `public/` prefix be served, as deployment guide 9.2 promises.
async fn public_access_check(connected: &Session, account: &str) -> Check {
    let read = patiently(connected.clock.as_ref(), Backoff::default(), || {
        connected.cloud.account.public_access_block(account)
    })
    .await;
    match read {
        Ok(block) => crate::core::account::public_access(block.as_ref(), account),
        Err(e) => Check::fail(
            "s3-public",
            "Could not read the account's S3 Block Public Access settings.",
            e.to_string(),
        ),
    }
}

/// `text` with its first letter capitalised, to open a sentence.
fn sentence_start(text: &str) -> String {
    let mut chars = text.chars();
    chars
        .next()
        .map(|c| c.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

/// Which region and why, and whether the account can use it.
async fn region_check(connected: &Session) -> Check {
    let code = &connected.region.code;
    let source = &connected.region.source;
    let clock = connected.clock.as_ref();
    let list = match patiently(clock, Backoff::default(), || {
        connected.cloud.regions.list_regions()
    })
    .await
    {
        Ok(list) => list,
        Err(e) => {
            return Check::fail(
                "region",
                format!("Could not list the account's regions (region {code} from {source})."),
                e.to_string(),
            );
        }
    };
    let name = known_region(code.as_str()).map(|k| k.name);
    let Some(r) = list.iter().find(|r| &r.code == code) else {
        return Check::fail(
            "region",
            format!("Region {code} (from {source}) is not available to this account."),
            RegionRefusal::NotInAccount {
                code: code.to_string(),
            }
            .to_string(),
        );
    };
    if let Err(refusal) = check_opt_in(code, r.opt_in, name.as_deref()) {
        return Check::fail(
            "region",
            format!("Region {code} (from {source}) is not enabled."),
            refusal.to_string(),
        );
    }
    let label = name.map_or(code.to_string(), |n| format!("{code} ({n})"));
    let check = Check::pass("region", format!("{label}, chosen by {source}."))
        .detail(format!("Opt-in status: {}.", r.opt_in.as_str()));
    match patiently(clock, Backoff::default(), || {
        connected.cloud.regions.availability_zones(code)
    })
    .await
    {
        Ok(z) => {
            let offered: Vec<OfferedZone> = z.iter().map(OfferedZone::from).collect();
            // The largest profile spans three zones.
            match choose_zones(&offered, 3) {
                Ok(choice) => {
                    let mut check = check.detail(format!(
                        "{} availability zones; an install would span {}.",
                        z.len(),
                        choice.zones.join(", ")
                    ));
                    for (zone, why) in &choice.passed_over {
                        check = check.detail(format!("{zone} is passed over: {why}."));
                    }
                    check
                }
                Err(shortage) => Check::fail(
                    "region",
                    format!("Region {label} cannot hold an install."),
                    shortage.to_string(),
                ),
            }
        }
        Err(e) => check.detail(format!("Availability zones unknown: {e}")),
    }
}

/// The local clock against the `Date` AWS sends.
async fn clock_check(connected: &Session) -> Check {
    match patiently(connected.clock.as_ref(), Backoff::default(), || {
        connected.cloud.identity.server_time()
    })
    .await
    {
        Ok(server) => judge::clock_skew(connected.clock.now(), server),
        Err(e) => Check::warn(
            "clock",
            "Could not read AWS's clock to compare.",
            e.to_string(),
        ),
    }
}

/// The saved answers parse, and their region is the one in use.
fn answers_check(
    state: &StateDir,
    saved: Result<Option<Answers>, crate::store::StoreError>,
    in_use: Option<&RegionCode>,
) -> Check {
    let path = state.config_path();
    match saved {
        Ok(None) => Check::pass(
            "answers",
            format!(
                "No saved answers yet ({} is written as the wizard goes).",
                path.display()
            ),
        ),
        Ok(Some(answers)) => match (&answers.region, in_use) {
            (Some(saved), Some(used)) if saved != used => Check::warn(
                "answers",
                format!(
                    "{} saves region {saved}, but this session uses {used}.",
                    path.display()
                ),
                format!("Pass --region {saved} to continue that install, or start over in {used}."),
            ),
            _ => Check::pass("answers", format!("{} is readable.", path.display())),
        },
        Err(e) => Check::fail(
            "answers",
            format!("{} cannot be used.", path.display()),
            e.to_string(),
        ),
    }
}

fn state_dir_check(root: &Path, chosen_by: StateDirSource) -> Check {
    match std::fs::metadata(root) {
        Ok(meta) => {
            let probe = root.join(format!(".doctor-{}", std::process::id()));
            let writable = std::fs::write(&probe, b"").is_ok();
            let _ = std::fs::remove_file(&probe);
            judge::state_dir(&StateDirFacts {
                path: root.display().to_string(),
                chosen_by: chosen_by.to_string(),
                mode: meta.mode() & 0o777,
                owner: user_name(meta.uid()),
                owned_by_me: meta.uid() == current_uid(),
                writable,
            })
        }
        Err(e) => Check::fail(
            "state-dir",
            format!("{} cannot be inspected: {e}.", root.display()),
            "Choose a directory you own with --state-dir.",
        ),
    }
}

fn secrets_check(path: &Path) -> Check {
    match SecretsFile::load(path) {
        Ok(None) => Check::pass(
            "secrets",
            format!(
                "No secrets yet; {} is written 0600 when the install needs them.",
                path.display()
            ),
        ),
        Ok(Some(s)) => Check::pass(
            "secrets",
            format!(
                "{} holds {} secrets and is private (0600).",
                path.display(),
                s.names().count()
            ),
        ),
        Err(e) => Check::fail(
            "secrets",
            format!("{} is not usable.", path.display()),
            e.to_string(),
        ),
    }
}

fn lock_check(path: &Path) -> Check {
    match InstallLock::probe(path) {
        Ok(LockProbe::Free) => Check::pass("lock", "No other installer session is running."),
        Ok(LockProbe::Held(None)) => Check::warn(
            "lock",
            "Another session is driving the install (it has not said who it is yet).",
            "Finish or close that session before starting the wizard here.",
        ),
        Ok(LockProbe::Held(Some(h))) => Check::warn(
            "lock",
            format!(
                "Another session is driving the install: PID {} run by {} since {}.",
                h.pid,
                h.user,
                humantime::format_rfc3339_seconds(h.since)
            ),
            "Finish or close that session before starting the wizard here.",
        ),
        Err(e) => Check::warn(
            "lock",
            "The install lock could not be inspected.",
            e.to_string(),
        ),
    }
}
