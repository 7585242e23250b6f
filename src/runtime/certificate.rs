//! The certificate the wizard requests: the ACM request, kept in the state
//! dir as soon as ACM answers; and the background watch that writes the
//! validation records (into the Route 53 zone the operator agreed to, or
//! into a file for their DNS provider) and follows the validation until
//! ACM issues the certificate or gives up.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::clock::Clock;
use crate::cloud::types::{
    Certificate, CertificateRequest, CertificateStatus, ChangeStatus, RecordAction, RecordChange,
    RecordSet, Tag,
};
use crate::cloud::{Cloud, CloudError};
use crate::core::wizard::RecordsTo;
use crate::core::wizard::certificate::{
    CertPhase, CertView, CertificateOrder, RequestedCertificate, RequestedFile, ValidationCname,
    records_file,
};
use crate::runtime::retry::{Backoff, patiently};
use crate::store::StateDir;

/// The state dir's record of the certificate the installer requested.
pub fn requested_path(state: &StateDir) -> PathBuf {
    state.root().join("certificate.toml")
}

/// The file that holds the validation records for a DNS provider.
pub fn records_path(state: &StateDir) -> PathBuf {
    state.root().join("dns-validation.txt")
}

/// Asks ACM for the certificate and keeps the answer in the state dir
/// before reporting it, so a crash after this never leads to a second one.
pub async fn request(
    cloud: &Cloud,
    clock: &dyn Clock,
    state: &StateDir,
    order: &CertificateOrder,
) -> Result<RequestedCertificate, String> {
    let req = CertificateRequest {
        domain: order.domain.clone(),
        sans: Vec::new(),
        idempotency_token: order.token.clone(),
        tags: vec![
            Tag::new(crate::core::wizard::INSTALL_TAG, &order.install_name),
            Tag::new("Name", format!("ph-{}", order.install_name)),
        ],
    };
    let arn = patiently(clock, Backoff::default(), || {
        cloud.certificates.request_certificate(&req)
    })
    .await
    .map_err(|e| e.to_string())?;
    let kept = RequestedCertificate {
        arn,
        domain: order.domain.clone(),
        region: order.region.clone(),
        zone: order.zone.clone(),
        attempt: order.attempt,
    };
    let path = requested_path(state);
    let mut file: RequestedFile = state.read_toml(&path).ok().flatten().unwrap_or_default();
    file.certificates
        .retain(|r| r.domain != kept.domain || r.region != kept.region);
    file.certificates.push(kept.clone());
    state.write_toml(&path, &file).map_err(|e| {
        format!(
            "ACM created certificate {} but the installer could not note it: {e}",
            kept.arn
        )
    })?;
    tracing::info!(arn = %kept.arn, domain = %kept.domain, "requested a certificate");
    Ok(kept)
}

/// How often the watch asks ACM again.
pub fn poll_interval(sandbox: bool) -> Duration {
    if sandbox {
        Duration::from_secs(1)
    } else {
        Duration::from_secs(10)
    }
}

/// A certificate to follow, and where its validation records go.
pub struct Watch {
    pub arn: String,
    pub domain: String,
    pub records: RecordsTo,
    /// How often ACM is asked again.
    pub every: Duration,
}

/// Follows the certificate until it is issued or has failed, writing its
/// validation records once where the watch says, and reports every change
/// to `report`.
pub async fn watch(
    cloud: &Cloud,
    clock: &dyn Clock,
    state: &StateDir,
    w: &Watch,
    report: impl Fn(CertView),
) {
    let (arn, domain, to) = (w.arn.as_str(), w.domain.as_str(), &w.records);
    let mut view = CertView {
        arn: arn.to_string(),
        phase: CertPhase::AwaitingRecords,
        records: Vec::new(),
        written_to: None,
        records_file: None,
        error: None,
        note: None,
    };
    let mut last: Option<CertView> = None;
    loop {
        match patiently(clock, Backoff::default(), || {
            cloud.certificates.describe_certificate(arn)
        })
        .await
        {
            Ok(cert) => {
                view.error = None;
                view.records = cnames(&cert);
                view.phase = phase(&cert, !view.records.is_empty());
                if view.phase == CertPhase::Validating
                    && view.written_to.is_none()
                    && view.records_file.is_none()
                    && let Err(e) = write_records(cloud, clock, state, domain, to, &mut view).await
                {
                    view.error = Some(e);
                }
            }
            Err(e) => view.error = Some(e.to_string()),
        }
        if last.as_ref() != Some(&view) {
            report(view.clone());
            last = Some(view.clone());
        }
        if view.is_settled() {
            return;
        }
        clock.sleep(w.every).await;
    }
}

fn cnames(cert: &Certificate) -> Vec<ValidationCname> {
    let mut out: Vec<ValidationCname> = Vec::new();
    for r in cert.validations.iter().filter_map(|v| v.record.as_ref()) {
        // A domain and its wildcard share one record.
        if !out.iter().any(|o| o.name == r.name) {
            out.push(ValidationCname {
                name: r.name.clone(),
                value: r.value.clone(),
            });
        }
    }
    out
}

fn phase(cert: &Certificate, has_records: bool) -> CertPhase {
    match &cert.status {
        CertificateStatus::Issued => CertPhase::Issued,
        CertificateStatus::PendingValidation if has_records => CertPhase::Validating,
        CertificateStatus::PendingValidation => CertPhase::AwaitingRecords,
        other => CertPhase::Failed(match &cert.failure_reason {
            Some(why) => format!("{} ({why})", other.as_str()),
            None => other.as_str().to_string(),
        }),
    }
}

async fn write_records(
    cloud: &Cloud,
    clock: &dyn Clock,
    state: &StateDir,
    domain: &str,
    to: &RecordsTo,
    view: &mut CertView,
) -> Result<(), String> {
    match to {
        RecordsTo::Nowhere => Ok(()),
        RecordsTo::File => to_file(state, domain, view),
        RecordsTo::Zone(id, name) => {
            let changes: Vec<RecordChange> = view
                .records
                .iter()
                .map(|r| RecordChange {
                    // UPSERT: the same record written again (a restart) is no error.
                    action: RecordAction::Upsert,
                    record: RecordSet {
                        name: r.name.clone(),
                        record_type: "CNAME".into(),
                        ttl: Some(300),
                        values: vec![r.value.clone()],
                        alias: None,
                    },
                })
                .collect();
            let change = match patiently(clock, Backoff::default(), || {
                cloud.dns.change_records(id, &changes)
            })
            .await
            {
                Ok(c) => c,
                Err(e @ CloudError::AccessDenied { .. }) => {
                    // The installer's role may write only the zone its stack
                    // was given (HostedZoneId): the records go to the file,
                    // and the screen says why.
                    tracing::warn!(zone = %name, error = %e, "Route 53 refused the validation records; writing them to the records file");
                    to_file(state, domain, view)?;
                    view.note = Some(format!(
                        "Route 53 refused the record in zone {} (the installer stack's \
                         HostedZoneId names another zone or none): create it at your DNS \
                         provider or in the zone yourself",
                        name.trim_end_matches('.')
                    ));
                    return Ok(());
                }
                Err(e) => return Err(zone_error(name, e)),
            };
            tracing::info!(zone = %name, change = %change.id, "wrote the certificate's validation records");
            let mut status = change.status;
            let started = clock.elapsed();
            while status == ChangeStatus::Pending {
                if clock.elapsed().saturating_sub(started) > Duration::from_secs(300) {
                    // Route 53 normally syncs within a minute; ACM sees the
                    // record once it is, and the watch goes on regardless.
                    view.written_to = Some(name.trim_end_matches('.').to_string());
                    view.note = Some(format!("Route 53 change {} is still PENDING", change.id));
                    return Ok(());
                }
                clock.sleep(Duration::from_secs(2)).await;
                status = patiently(clock, Backoff::default(), || {
                    cloud.dns.get_change(&change.id)
                })
                .await
                .map_err(|e| zone_error(name, e))?
                .status;
            }
            view.written_to = Some(name.trim_end_matches('.').to_string());
            Ok(())
        }
    }
}

/// The records into the state dir's records file.
fn to_file(state: &StateDir, domain: &str, view: &mut CertView) -> Result<(), String> {
    let path = records_path(state);
    write_file(&path, &records_file(domain, &view.arn, &view.records))?;
    view.records_file = Some(path.display().to_string());
    Ok(())
}

fn zone_error(zone: &str, e: CloudError) -> String {
    format!("The validation records could not be written to zone {zone}: {e}")
}

fn write_file(path: &Path, text: &str) -> Result<(), String> {
    crate::store::write_private_atomic(path, text.as_bytes()).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use super::*;
    use crate::clock::ManualClock;
    use crate::cloud::sandbox::SandboxAccount;
    use crate::cloud::sandbox::faults::FaultScript;

    struct Fixture {
        _dir: tempfile::TempDir,
        clock: Arc<ManualClock>,
        cloud: Cloud,
        state: StateDir,
    }

    fn fixture() -> Fixture {
        fixture_with(FaultScript::default())
    }

    fn fixture_with(faults: FaultScript) -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let state = StateDir::open(dir.path(), true).unwrap();
        let (clock, account) =
            SandboxAccount::on_manual_clock(&state.sandbox_account_dir(), faults);
        let cloud = account.cloud(account.home_region());
        Fixture {
            _dir: dir,
            clock,
            cloud,
            state,
        }
    }

    async fn follow(f: &Fixture, kept: &RequestedCertificate, to: RecordsTo) -> Vec<CertView> {
        let seen = Mutex::new(Vec::new());
        watch(
            &f.cloud,
            f.clock.as_ref(),
            &f.state,
            &Watch {
                arn: kept.arn.clone(),
                domain: kept.domain.clone(),
                records: to,
                every: Duration::from_secs(10),
            },
            |v| seen.lock().unwrap().push(v),
        )
        .await;
        seen.into_inner().unwrap()
    }

    fn order(domain: &str, zone: Option<(&str, &str)>) -> CertificateOrder {
        CertificateOrder::new(
            "shop",
            "us-east-1",
            domain,
            zone.map(|(i, n)| (i.to_string(), n.to_string())),
        )
    }

    #[tokio::test]
    async fn a_request_is_kept_in_the_state_dir_and_repeating_it_gives_the_same_certificate() {
        let f = fixture();
        let o = order("app.eu.example.com", None);
        let first = request(&f.cloud, f.clock.as_ref(), &f.state, &o)
            .await
            .unwrap();
        let kept: RequestedFile = f
            .state
            .read_toml(&requested_path(&f.state))
            .unwrap()
            .unwrap();
        assert_eq!(kept.certificates, std::slice::from_ref(&first));
        // Another domain is kept beside it, not over it.
        let other = request(
            &f.cloud,
            f.clock.as_ref(),
            &f.state,
            &order("ph.example.org", None),
        )
        .await
        .unwrap();
        let kept: RequestedFile = f
            .state
            .read_toml(&requested_path(&f.state))
            .unwrap()
            .unwrap();
        assert_eq!(kept.certificates, [first.clone(), other]);
        let again = request(&f.cloud, f.clock.as_ref(), &f.state, &o)
            .await
            .unwrap();
        assert_eq!(again.arn, first.arn, "a restart requested a second one");
    }

    #[tokio::test]
    async fn with_a_route53_zone_the_records_are_written_there_and_the_certificate_is_issued() {
        let f = fixture();
        let zone = f.cloud.dns.zones_named("example.com").await.unwrap();
        let z = zone.iter().find(|z| !z.private).unwrap();
        let o = order("app.eu.example.com", Some((&z.id, &z.name)));
        let kept = request(&f.cloud, f.clock.as_ref(), &f.state, &o)
            .await
            .unwrap();
        let views = follow(&f, &kept, RecordsTo::Zone(z.id.clone(), z.name.clone())).await;
        let last = views.last().unwrap();
        assert_eq!(last.phase, CertPhase::Issued, "{views:#?}");
        assert_eq!(last.written_to.as_deref(), Some("example.com"));
        let records = f.cloud.dns.list_records(&z.id).await.unwrap();
        let want = &last.records[0];
        assert!(
            records
                .iter()
                .any(|r| r.name == want.name && r.values == [want.value.clone()]),
            "the CNAME is not in the zone: {records:#?}"
        );
        assert!(!records_path(&f.state).exists());
    }

    #[tokio::test]
    async fn a_zone_the_installer_may_not_write_gets_the_records_file_and_says_why() {
        use crate::cloud::sandbox::faults::Deny;
        let f = fixture_with(FaultScript {
            deny: vec![Deny {
                action: crate::cloud::actions::CHANGE_RESOURCE_RECORD_SETS.into(),
            }],
            ..FaultScript::default()
        });
        let zones = f.cloud.dns.zones_named("example.com").await.unwrap();
        let z = zones.iter().find(|z| !z.private).unwrap();
        let o = order("app.eu.example.com", Some((&z.id, &z.name)));
        let kept = request(&f.cloud, f.clock.as_ref(), &f.state, &o)
            .await
            .unwrap();
        let seen = Mutex::new(Vec::new());
        // The watch would wait for the record forever: look at its first reports.
        let w = Watch {
            arn: kept.arn.clone(),
            domain: kept.domain.clone(),
            records: RecordsTo::Zone(z.id.clone(), z.name.clone()),
            every: Duration::from_secs(10),
        };
        let _ = tokio::time::timeout(
            Duration::from_secs(2),
            watch(&f.cloud, f.clock.as_ref(), &f.state, &w, |v| {
                seen.lock().unwrap().push(v)
            }),
        )
        .await;
        let views = seen.into_inner().unwrap();
        let v = views
            .iter()
            .find(|v| v.records_file.is_some())
            .expect("the records went nowhere");
        assert!(v.note.as_ref().unwrap().contains("refused"), "{v:?}");
        assert!(v.written_to.is_none());
        assert!(records_path(&f.state).exists());
    }

    #[tokio::test]
    async fn without_a_zone_the_records_go_to_a_file_and_validation_is_still_followed() {
        let f = fixture();
        let o = order("ph.example.org", None);
        let kept = request(&f.cloud, f.clock.as_ref(), &f.state, &o)
            .await
            .unwrap();
        let views = follow(&f, &kept, RecordsTo::File).await;
        let validating = views
            .iter()
            .find(|v| v.phase == CertPhase::Validating)
            .expect("validation was never reported");
        let file = validating.records_file.as_ref().expect("no records file");
        let text = std::fs::read_to_string(file).unwrap();
        assert!(text.contains(&validating.records[0].name), "{text}");
        assert_eq!(views.last().unwrap().phase, CertPhase::Issued);
    }

    #[tokio::test]
    async fn a_certificate_the_operator_brought_is_only_read() {
        let f = fixture();
        let certs = f.cloud.certificates.list_certificates().await.unwrap();
        let issued = certs
            .iter()
            .find(|c| c.status == CertificateStatus::Issued)
            .unwrap();
        let kept = RequestedCertificate {
            arn: issued.arn.clone(),
            domain: "ph.example.com".into(),
            region: "us-east-1".into(),
            zone: None,
            attempt: 0,
        };
        let views = follow(&f, &kept, RecordsTo::Nowhere).await;
        assert_eq!(views.len(), 1);
        assert_eq!(views[0].phase, CertPhase::Issued);
        assert!(views[0].written_to.is_none() && views[0].records_file.is_none());
    }
}
