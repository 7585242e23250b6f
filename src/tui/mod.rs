//! The wizard's terminal front end. One task owns the terminal and the
//! wizard; terminal events, results of the runtime's work and signals feed
//! one loop; each becomes a message to the pure wizard, whose effects are
//! run in the background, never awaited here. A frame is drawn only when
//! something changed (and while a spinner turns).

pub mod app;
pub mod keymap;
pub mod screens;
pub mod strings;
pub mod terminal;
pub mod theme;

#[cfg(test)]
mod tests;

use std::time::Duration;

use futures_util::StreamExt;
use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::mpsc;

use crate::cli::Exit;
use crate::core::answers::Answers;
use crate::core::region::{RegionSource, ResolvedRegion};
use crate::core::wizard::{self, Effect, Msg, Wizard};
use crate::runtime::Session;
use crate::runtime::certificate;
use crate::runtime::retry::{Backoff, patiently};
use crate::store::lock::InstallLock;
use app::View;
use theme::Glyphs;

/// No AWS call keeps a screen waiting longer than this.
const CALL_TIMEOUT: Duration = Duration::from_secs(60);
/// Spinner speed; there is no tick while nothing is loading.
const TICK: Duration = Duration::from_millis(250);

pub struct Options {
    pub ascii: bool,
    /// An answers file that prefills the wizard.
    pub answers_file: Option<std::path::PathBuf>,
}

/// The saved answers with the answers file's laid over them. A file that
/// cannot be read or does not parse is refused naming it (and the line).
fn starting_answers(
    state: &crate::store::StateDir,
    file: Option<&std::path::Path>,
) -> Result<Answers, String> {
    let saved = state
        .read_toml::<Answers>(&state.config_path())
        .map_err(|e| e.to_string())?
        .unwrap_or_default();
    let Some(path) = file else {
        return Ok(saved);
    };
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("the answers file {} cannot be read: {e}", path.display()))?;
    let given: Answers = crate::store::parse_toml(path, &text).map_err(|e| e.to_string())?;
    if !given.sizing.is_empty() {
        let bp = crate::core::blueprint::Blueprint::shared()?;
        let refused = wizard::custom::refusals(&wizard::custom::limits(bp), &given.sizing);
        if !refused.is_empty() {
            let each: Vec<String> = refused
                .iter()
                .map(|(key, why)| match wizard::custom::line_of(&text, key) {
                    Some(n) => format!("line {n}: {why}"),
                    None => why.clone(),
                })
                .collect();
            return Err(format!(
                "the answers file {} is refused: {}",
                path.display(),
                each.join(" ")
            ));
        }
    }
    Ok(saved.overlaid(given))
}

/// Runs the wizard until the operator leaves, the terminal goes away or a
/// signal ends the session. Answers are saved after every step.
pub async fn run(session: Session, opts: Options) -> Exit {
    let state = session.state.clone();
    let _lock = match InstallLock::acquire(&state.lock_path(), "ph-installer (wizard)") {
        Ok(l) => l,
        Err(e) => {
            eprintln!("error: {e}");
            return Exit::Failed;
        }
    };
    let config = state.config_path();
    let answers = match starting_answers(&state, opts.answers_file.as_deref()) {
        Ok(a) => a,
        Err(e) => {
            eprintln!("error: {e}");
            return Exit::Refused;
        }
    };
    // Signals are taken before raw mode, so a hang-up (a dropped SSH
    // connection) or a kill still goes through the guard that restores
    // the terminal.
    let mut signals = match Signals::new() {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: could not watch for signals: {e}");
            return Exit::Failed;
        }
    };
    let mut guard = match terminal::TerminalGuard::enter() {
        Ok(g) => g,
        Err(e) => {
            eprintln!("error: the terminal could not be set up for the wizard: {e}");
            return Exit::Failed;
        }
    };
    let view_path = config.display().to_string();
    let mut view = View {
        glyphs: Glyphs::detect(opts.ascii),
        sandbox: session.is_sandbox(),
        config_path: view_path.clone(),
        records_path: certificate::records_path(&state).display().to_string(),
        spinner: 0,
        review_max: Default::default(),
    };
    // A certificate requested by an earlier run; unreadable is the same as
    // none (the request's token finds it again within ACM's hour).
    let requested = state
        .read_toml::<wizard::certificate::RequestedFile>(&certificate::requested_path(&state))
        .unwrap_or_else(|e| {
            tracing::warn!(error = %e, "the certificate record cannot be read");
            None
        })
        .unwrap_or_default()
        .certificates;
    let (mut wiz, first) = Wizard::resumed(
        answers,
        requested,
        session.region.code.clone(),
        session.region.source.to_string(),
    );
    let (tx, mut rx) = mpsc::unbounded_channel::<Msg>();
    let mut runner = Runner {
        session,
        tx,
        last_save: None,
        watch: None,
    };
    let mut quit = runner.run_all(first);
    let mut events = crossterm::event::EventStream::new();
    let mut tick = tokio::time::interval(TICK);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let mut dirty = true;
    let mut input_errors = 0;
    let mut outcome = Exit::Success;
    while !quit {
        if dirty {
            let size = guard.terminal.size().unwrap_or_default();
            if size.width > 0 && size.height > 0 {
                let _ = guard.terminal.draw(|f| app::render(f, &wiz, &view));
                if wiz.step == wizard::Step::Review {
                    wiz.handle(Msg::ReviewFits(view.review_max.get()));
                }
            }
            dirty = false;
        }
        let loading = wiz.is_loading();
        tokio::select! {
            biased;
            sig = signals.next() => {
                tracing::info!(signal = sig, "wizard ended by a signal; answers are saved");
                outcome = Exit::Failed;
                break;
            }
            ev = events.next() => match ev {
                Some(Ok(crossterm::event::Event::Key(k))) => {
                    input_errors = 0;
                    if let Some(key) = keymap::key(&k) {
                        quit = runner.run_all(wiz.handle(Msg::Key(key)));
                        dirty = true;
                    }
                }
                Some(Ok(crossterm::event::Event::Resize(_, _))) => {
                    let _ = guard.terminal.autoresize();
                    dirty = true;
                }
                Some(Ok(_)) => {}
                Some(Err(e)) => {
                    input_errors += 1;
                    if input_errors > 3 {
                        tracing::warn!(error = %e, "the terminal keeps failing; leaving");
                        outcome = Exit::Failed;
                        break;
                    }
                }
                None => {
                    // The input is gone (the terminal closed): leave, never spin.
                    tracing::info!("terminal input ended; answers are saved");
                    outcome = Exit::Failed;
                    break;
                }
            },
            Some(msg) = rx.recv() => {
                quit = runner.run_all(wiz.handle(msg));
                while let Ok(more) = rx.try_recv() {
                    quit |= runner.run_all(wiz.handle(more));
                }
                dirty = true;
            }
            _ = tick.tick(), if loading => {
                view.spinner = view.spinner.wrapping_add(1);
                dirty = true;
            }
        }
    }
    drop(guard);
    if let Some(answers) = runner.last_save.take() {
        // The same write the background task makes: atomic, so whichever
        // lands last leaves a whole file.
        if let Err(e) = state.write_toml(&config, &answers) {
            eprintln!("error: the answers could not be saved: {e}");
            outcome = Exit::Failed;
        }
    }
    if outcome == Exit::Success {
        println!("{}", strings::goodbye(&view_path));
    }
    outcome
}

/// Runs the wizard's effects in the background; their results come back
/// as messages.
struct Runner {
    session: Session,
    tx: mpsc::UnboundedSender<Msg>,
    /// The answers of the newest save asked for, written once more when the
    /// wizard ends however it ends, so a save still running is never lost.
    last_save: Option<Answers>,
    /// The background watch of the chosen certificate.
    watch: Option<tokio::task::JoinHandle<()>>,
}

impl Runner {
    /// Starts every effect; `true` when one of them is to quit.
    fn run_all(&mut self, effects: Vec<Effect>) -> bool {
        let mut quit = false;
        for e in effects {
            quit |= self.start(e);
        }
        quit
    }

    fn start(&mut self, effect: Effect) -> bool {
        let tx = self.tx.clone();
        match effect {
            Effect::Quit => return true,
            Effect::LoadIdentity => {
                let s = self.session.clone();
                tokio::spawn(async move {
                    let call = patiently(s.clock.as_ref(), Backoff::default(), || {
                        s.cloud.identity.caller_identity()
                    });
                    let r = match tokio::time::timeout(CALL_TIMEOUT, call).await {
                        Ok(Ok(id)) => Ok(wizard::Identity {
                            account: id.account,
                            arn: id.arn,
                            credentials: s.info.credential_source.clone(),
                        }),
                        Ok(Err(e)) => Err(e.to_string()),
                        Err(_) => Err(timed_out("STS GetCallerIdentity")),
                    };
                    let _ = tx.send(Msg::Identity(r));
                });
            }
            Effect::LoadInstalls => {
                let s = self.session.clone();
                tokio::spawn(async move {
                    let call = patiently(s.clock.as_ref(), Backoff::default(), || {
                        s.cloud.stacks.list_stacks()
                    });
                    let r = match tokio::time::timeout(CALL_TIMEOUT, call).await {
                        Ok(Ok(stacks)) => Ok(stacks),
                        Ok(Err(e)) => Err(e.to_string()),
                        Err(_) => Err(timed_out("CloudFormation ListStacks")),
                    };
                    let region = s.region.code.as_str();
                    let _ = tx.send(Msg::Installs(r.map(|st| found_installs(&st, region))));
                });
            }
            Effect::LoadBootstrap(code) => {
                let s = self.session.in_region(ResolvedRegion {
                    code,
                    source: self.session.region.source.clone(),
                });
                tokio::spawn(async move {
                    let call = patiently(s.clock.as_ref(), Backoff::default(), || {
                        s.cloud.stacks.list_stacks()
                    });
                    let r = match tokio::time::timeout(CALL_TIMEOUT, call).await {
                        Ok(Ok(stacks)) => Ok(bootstrap_of(&stacks)),
                        Ok(Err(e)) => Err(e.to_string()),
                        Err(_) => Err(timed_out("CloudFormation ListStacks")),
                    };
                    let _ = tx.send(Msg::Bootstrap(r));
                });
            }
            Effect::LoadRegions => {
                let s = self.session.clone();
                tokio::spawn(async move {
                    let call =
                        crate::runtime::regions::collect(s.cloud.regions.clone(), s.clock.clone());
                    let r = match tokio::time::timeout(CALL_TIMEOUT, call).await {
                        Ok(Ok(rows)) => Ok(rows),
                        Ok(Err(e)) => Err(e.to_string()),
                        Err(_) => Err(timed_out("EC2 DescribeRegions")),
                    };
                    let _ = tx.send(Msg::Regions(r));
                });
            }
            Effect::Save(answers) => {
                self.last_save = Some(answers.clone());
                let state = self.session.state.clone();
                tokio::task::spawn_blocking(move || {
                    let r = state
                        .write_toml(&state.config_path(), &answers)
                        .map_err(|e| e.to_string());
                    let _ = tx.send(Msg::Saved(r));
                });
            }
            Effect::ExamineDomain(domain) => {
                let s = self.session.clone();
                tokio::spawn(async move {
                    let r = match tokio::time::timeout(CALL_TIMEOUT, examine(&s, &domain)).await {
                        Ok(r) => r,
                        Err(_) => Err(timed_out("Route 53 and ACM")),
                    };
                    let _ = tx.send(Msg::Examined(r));
                });
            }
            Effect::RequestCertificate(order) => {
                let s = self.session.clone();
                tokio::spawn(async move {
                    let call = certificate::request(&s.cloud, s.clock.as_ref(), &s.state, &order);
                    let r = match tokio::time::timeout(CALL_TIMEOUT, call).await {
                        Ok(r) => r,
                        Err(_) => Err(timed_out("ACM RequestCertificate")),
                    };
                    let _ = tx.send(Msg::CertificateRequested(r));
                });
            }
            Effect::WatchCertificate {
                arn,
                domain,
                records,
            } => {
                // One watch at a time: a newer choice replaces the older.
                if let Some(old) = self.watch.take() {
                    old.abort();
                }
                let s = self.session.clone();
                self.watch = Some(tokio::spawn(async move {
                    let w = certificate::Watch {
                        arn,
                        domain,
                        records,
                        every: certificate::poll_interval(s.is_sandbox()),
                    };
                    certificate::watch(&s.cloud, s.clock.as_ref(), &s.state, &w, |view| {
                        let _ = tx.send(Msg::Certificate(view));
                    })
                    .await;
                }));
            }
            Effect::LoadBlueprint => {
                tokio::task::spawn_blocking(move || {
                    let r =
                        crate::core::blueprint::Blueprint::shared().map(wizard::BlueprintView::of);
                    let _ = tx.send(Msg::Blueprint(r));
                });
            }
            Effect::CheckSizing(ask) => {
                let s = self.session.clone();
                tokio::spawn(async move {
                    let r = match crate::core::blueprint::Blueprint::shared() {
                        Err(e) => Err(e),
                        Ok(shared) => {
                            // The profile being customised is asked about
                            // with its changed values.
                            let mut bp = shared.clone();
                            if let Some(p) = bp.sizing.profiles.get_mut(&ask.base) {
                                *p = wizard::custom::effective(p, &ask.overrides);
                            }
                            let call = crate::runtime::sizing::profile_checks(
                                &s.cloud,
                                s.clock.as_ref(),
                                &bp,
                                &ask.region,
                            );
                            match tokio::time::timeout(CALL_TIMEOUT, call).await {
                                Ok(r) => r.map_err(|e| e.to_string()),
                                Err(_) => Err(timed_out(
                                    "The offerings of EC2, RDS, OpenSearch and ElastiCache",
                                )),
                            }
                        }
                    };
                    let _ = tx.send(Msg::SizingChecked(ask, r));
                });
            }
            Effect::PrepareSecrets { bootstrap_region } => {
                let s = self.session.clone();
                tokio::spawn(async move {
                    let r = match crate::core::blueprint::Blueprint::shared() {
                        Err(e) => Err(e),
                        Ok(bp) => {
                            let call = crate::runtime::secrets::prepare(&s, bp, &bootstrap_region);
                            match tokio::time::timeout(CALL_TIMEOUT, call).await {
                                Ok(r) => r,
                                Err(_) => Err(timed_out("IAM")),
                            }
                        }
                    };
                    let _ = tx.send(Msg::SecretsReady(r));
                });
            }
            Effect::UseRegion(code) => {
                self.session = self.session.in_region(ResolvedRegion {
                    code,
                    source: RegionSource::Answers,
                });
            }
        }
        false
    }
}

/// The installer's own stack among `stacks`, by its tag.
fn bootstrap_of(stacks: &[crate::cloud::types::Stack]) -> Option<wizard::Bootstrap> {
    let s = stacks.iter().find(|s| s.is_bootstrap())?;
    Some(wizard::Bootstrap {
        stack: s.name.clone(),
        role_arn: s.output("InstallerRoleArn").map(str::to_string),
    })
}

/// The installs the stacks' `ph:install` tags name (the installer's own
/// bootstrap stack aside), with how many stacks each has.
fn found_installs(
    stacks: &[crate::cloud::types::Stack],
    region: &str,
) -> Vec<wizard::FoundInstall> {
    let mut found: Vec<wizard::FoundInstall> = Vec::new();
    for s in stacks {
        let Some(install) = s.install() else {
            continue;
        };
        if s.is_bootstrap() {
            continue;
        }
        match found.iter_mut().find(|f| f.name == install) {
            Some(f) => f.stacks += 1,
            None => found.push(wizard::FoundInstall {
                name: install.to_string(),
                region: region.to_string(),
                stacks: 1,
            }),
        }
    }
    found
}

/// The public hosted zone with the longest name that holds `domain`, and
/// the region's certificates.
async fn examine(
    s: &Session,
    domain: &wizard::domain::Domain,
) -> Result<wizard::DomainFacts, String> {
    let mut zone = None;
    for name in wizard::domain::zone_candidates(domain) {
        let zones = patiently(s.clock.as_ref(), Backoff::default(), || {
            s.cloud.dns.zones_named(&name)
        })
        .await
        .map_err(|e| e.to_string())?;
        if let Some(z) = zones.into_iter().find(|z| !z.private) {
            zone = Some((z.id, z.name));
            break;
        }
    }
    let summaries = patiently(s.clock.as_ref(), Backoff::default(), || {
        s.cloud.certificates.list_certificates()
    })
    .await
    .map_err(|e| e.to_string())?;
    let certificates = summaries
        .into_iter()
        .map(|c| wizard::domain::CertificateOffer {
            // ACM lists the domain among the alternative names too.
            names: std::iter::once(c.domain)
                .chain(c.sans)
                .fold(Vec::new(), |mut names, n| {
                    if !names.contains(&n) {
                        names.push(n);
                    }
                    names
                }),
            issued: c.status == crate::cloud::types::CertificateStatus::Issued,
            not_after: c.not_after,
            arn: c.arn,
        })
        .collect();
    Ok(wizard::DomainFacts {
        domain: domain.ascii.clone(),
        region: s.region.code.to_string(),
        zone,
        certificates,
        read_at: s.clock.now(),
    })
}

fn timed_out(call: &str) -> String {
    format!(
        "{call} did not answer within {} s. Check the instance's route to AWS, then try again.",
        CALL_TIMEOUT.as_secs()
    )
}

/// Hang-up, terminate, interrupt and quit, as one stream of signal names.
struct Signals {
    hup: tokio::signal::unix::Signal,
    term: tokio::signal::unix::Signal,
    int: tokio::signal::unix::Signal,
    quit: tokio::signal::unix::Signal,
}

impl Signals {
    fn new() -> std::io::Result<Signals> {
        Ok(Signals {
            hup: signal(SignalKind::hangup())?,
            term: signal(SignalKind::terminate())?,
            int: signal(SignalKind::interrupt())?,
            quit: signal(SignalKind::quit())?,
        })
    }

    async fn next(&mut self) -> &'static str {
        tokio::select! {
            _ = self.hup.recv() => "SIGHUP",
            _ = self.term.recv() => "SIGTERM",
            _ = self.int.recv() => "SIGINT",
            _ = self.quit.recv() => "SIGQUIT",
        }
    }
}
