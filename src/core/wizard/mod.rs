//! The install wizard as a pure state machine: [`Wizard::handle`] takes a
//! message (a key, a result the runtime brings back) and returns effects as
//! data (load this, save that). It never waits and never does I/O, so every
//! step, validator and transition is tested without a runtime or a terminal.

use super::answers::Answers;
use super::install_name::parse_install_name;
use super::region::{RegionCode, RegionRefusal, parse_region};
use super::regions::RegionRow;

pub mod certificate;
pub mod custom;
pub mod domain;
#[cfg(test)]
pub(crate) mod fixtures;
pub mod review;
pub mod sizing;
#[cfg(test)]
mod tests;

/// A key as the wizard understands it; the front end maps terminal events
/// to these, so the core knows nothing of crossterm.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Key {
    Char(char),
    Enter,
    Esc,
    Up,
    Down,
    PageUp,
    PageDown,
    Home,
    End,
    Tab,
    BackTab,
    Backspace,
    /// Ctrl-C: leave at once, from anywhere.
    Interrupt,
}

/// The wizard's screens, in order. The review's confirm hands over to the
/// deploy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Step {
    Welcome,
    Region,
    Domain,
    Sizing,
    Secrets,
    Review,
}

impl Step {
    pub const ALL: [Step; 6] = [
        Step::Welcome,
        Step::Region,
        Step::Domain,
        Step::Sizing,
        Step::Secrets,
        Step::Review,
    ];

    /// The first step whose answer is missing: where a resumed wizard opens.
    pub fn resume_at(answers: &Answers) -> Step {
        if answers.install_name.is_none() {
            Step::Welcome
        } else if answers.region.is_none() {
            Step::Region
        } else if answers.domain.is_none() || answers.certificate_arn.is_none() {
            Step::Domain
        } else if answers.profile.is_none() {
            Step::Sizing
        } else {
            // The secrets are checked again on every run before the review.
            Step::Secrets
        }
    }

    fn back(self) -> Step {
        match self {
            Step::Welcome | Step::Region => Step::Welcome,
            Step::Domain => Step::Region,
            Step::Sizing => Step::Domain,
            Step::Secrets => Step::Sizing,
            Step::Review => Step::Secrets,
        }
    }
}

/// Who the installer acts as, as `doctor` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    pub account: String,
    pub arn: String,
    /// Where the credentials came from.
    pub credentials: String,
}

/// Something the runtime is fetching.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Load<T> {
    Pending,
    Ready(T),
    /// What went wrong and what to do, as the error says it.
    Failed(String),
}

impl<T> Load<T> {
    pub fn ready(&self) -> Option<&T> {
        match self {
            Load::Ready(v) => Some(v),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Overlay {
    Help,
    /// Quitting was asked for while something is in flight: what it is.
    ConfirmQuit(InFlight),
}

/// Work of the account's that a quit would leave running.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InFlight {
    /// ACM has the request but has not answered yet.
    CertificateRequest,
    /// The secrets are being generated and the access key created.
    Secrets,
    /// The validation record is being written to the Route 53 zone.
    ValidationRecords,
}

/// Messages into the wizard.
#[derive(Debug, Clone, PartialEq)]
pub enum Msg {
    Key(Key),
    Identity(Result<Identity, String>),
    Regions(Result<Vec<RegionRow>, String>),
    /// The answers were written (or not: the error says why).
    Saved(Result<(), String>),
    /// What the account has for the domain asked about.
    Examined(Result<DomainFacts, String>),
    /// The installs whose stacks the account has.
    Installs(Result<Vec<FoundInstall>, String>),
    /// The installer's own bootstrap stack (installer.yaml), if the
    /// session's region has it.
    Bootstrap(Result<Option<Bootstrap>, String>),
    /// ACM answered the request (or not: the error says why).
    CertificateRequested(Result<certificate::RequestedCertificate, String>),
    /// Where the certificate's validation stands now.
    Certificate(certificate::CertView),
    /// The blueprint's sizing profiles (smallest first) and its stacks.
    Blueprint(Result<BlueprintView, String>),
    /// What the region's services said about each profile, by name.
    SizingChecked(
        SizingAsk,
        Result<std::collections::BTreeMap<String, sizing::ProfileCheck>, String>,
    ),
    /// The furthest the review scrolls at the terminal's size.
    ReviewFits(u16),
    /// The secrets are in the secrets file (or why not).
    SecretsReady(Result<SecretsReport, String>),
}

/// What the region's services are asked about: every profile there, one
/// of them (`base`) with the operator's changed values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SizingAsk {
    pub region: RegionCode,
    pub base: String,
    pub overrides: std::collections::BTreeMap<String, String>,
}

/// The sized-value editor over one profile.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Editor {
    /// Index into [`Wizard::limits`].
    pub row: usize,
    /// The value being typed, once Enter started it.
    pub input: Option<String>,
    pub error: Option<String>,
}

/// What the wizard shows of the blueprint.
#[derive(Debug, Clone, PartialEq)]
pub struct BlueprintView {
    pub profiles: Vec<(String, crate::core::blueprint::sizing::Profile)>,
    pub stacks: Vec<review::StackPreview>,
    pub limits: Vec<custom::Limit>,
}

impl BlueprintView {
    pub fn of(bp: &crate::core::blueprint::Blueprint) -> BlueprintView {
        BlueprintView {
            profiles: sizing::ordered(&bp.sizing),
            stacks: review::previews(bp),
            limits: custom::limits(bp),
        }
    }
}

/// What the secrets step did, by name only: values never leave the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecretsReport {
    /// The secrets file, as shown.
    pub path: String,
    /// Generated now, and found from an earlier run.
    pub generated: Vec<String>,
    pub kept: Vec<String>,
    /// The provisioning user's access key.
    pub access_key: AccessKeyState,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AccessKeyState {
    Created {
        user: String,
    },
    Kept {
        user: String,
    },
    /// Why there is none, and what to do.
    Failed(String),
}

/// An install whose stacks are in the account (found by their `ph:install`
/// tag).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FoundInstall {
    pub name: String,
    pub region: String,
    pub stacks: usize,
}

/// The installer's own stack (installer.yaml), as its outputs describe it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bootstrap {
    pub stack: String,
    /// The `InstallerRoleArn` output: the role the installer instance has.
    pub role_arn: Option<String>,
}

impl Bootstrap {
    /// The installer role's name (the ARN's last path part).
    pub fn role_name(&self) -> Option<&str> {
        self.role_arn.as_deref()?.rsplit('/').next()
    }

    /// Whether `identity_arn` (an STS ARN) acts as the installer role.
    pub fn is_used_by(&self, identity_arn: &str) -> bool {
        // arn:aws:sts::<account>:assumed-role/<role name>/<session>
        let acting = identity_arn
            .split_once(":assumed-role/")
            .and_then(|(_, rest)| rest.split('/').next());
        acting.is_some() && acting == self.role_name()
    }
}

/// The tag value of the installer's own bootstrap stack, never an install.
pub const BOOTSTRAP_TAG_VALUE: &str = "installer-bootstrap";

/// The tag that names the install a stack (or certificate) belongs to.
pub const INSTALL_TAG: &str = "ph:install";

/// What the account has for a domain: the public hosted zone that would
/// hold it, and the certificates of the region.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DomainFacts {
    /// The domain these facts are about (ASCII form), and the region whose
    /// certificates they list.
    pub domain: String,
    pub region: String,
    /// The public Route 53 zone with the longest matching name: (id, name).
    pub zone: Option<(String, String)>,
    pub certificates: Vec<domain::CertificateOffer>,
    /// When the facts were read, for the certificates' remaining validity.
    pub read_at: std::time::SystemTime,
}

/// What the wizard asks the runtime to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Effect {
    LoadIdentity,
    /// Parse the embedded blueprint (its sizing profiles and stacks), off
    /// the path to the first frame.
    LoadBlueprint,
    /// Find the installs whose stacks are in the session's region.
    LoadInstalls,
    /// Find the installer's own stack in this region (where the installer
    /// instance runs, whatever the install region).
    LoadBootstrap(RegionCode),
    LoadRegions,
    /// Write the answers to `config.toml`.
    Save(Answers),
    /// Point the session at this region for everything after.
    UseRegion(RegionCode),
    /// Find the hosted zone and the certificates for this domain.
    ExamineDomain(domain::Domain),
    /// Ask ACM for a certificate validated by DNS, and keep what it
    /// answers in the state dir.
    RequestCertificate(certificate::CertificateOrder),
    /// Ask the region's services about every sizing profile's types.
    CheckSizing(SizingAsk),
    /// Generate the secrets the file lacks and make sure the provisioning
    /// user has its access key; its user is named by the installer's
    /// bootstrap stack in `bootstrap_region`.
    PrepareSecrets {
        bootstrap_region: RegionCode,
    },
    /// Follow the certificate's validation in the background until it is
    /// issued or fails; write its records where `records` says.
    WatchCertificate {
        arn: String,
        domain: String,
        records: RecordsTo,
    },
    Quit,
}

/// Where the validation records of a watched certificate go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RecordsTo {
    /// Into this public Route 53 zone (id, name), as the operator agreed.
    Zone(String, String),
    /// Into a file in the state dir, for the operator's DNS provider.
    File,
    /// Nowhere: a certificate the operator brought is only read.
    Nowhere,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Wizard {
    pub step: Step,
    pub answers: Answers,
    pub identity: Load<Identity>,
    pub regions: Load<Vec<RegionRow>>,
    pub installs: Load<Vec<FoundInstall>>,
    pub bootstrap: Load<Option<Bootstrap>>,
    /// The session's region and why it was chosen (preselected on the
    /// region screen).
    pub session_region: RegionCode,
    pub region_why: String,
    /// The install name as typed.
    pub name_input: String,
    pub name_error: Option<String>,
    /// What the operator typed to filter the regions.
    pub filter: String,
    /// Index into [`Wizard::visible_regions`].
    pub cursor: usize,
    /// Why the region typed or chosen cannot be used.
    pub region_error: Option<String>,
    /// The last save failed: what to do.
    pub save_error: Option<String>,
    /// The domain as typed.
    pub domain_input: String,
    pub domain_error: Option<String>,
    /// The validated domain and what the account has for it.
    pub domain: Option<domain::Domain>,
    pub examined: Option<Load<DomainFacts>>,
    /// Index into [`Wizard::reusable_certificates`]; one past its end is
    /// "request a new certificate".
    pub cert_cursor: usize,
    /// The request the operator is asked to confirm, and its call once
    /// confirmed (`None` until Enter).
    pub cert_order: Option<(certificate::CertificateOrder, Option<Load<()>>)>,
    /// The certificates the installer requested for this install, one per
    /// domain and region.
    pub requested: Vec<certificate::RequestedCertificate>,
    /// The newest report on the chosen certificate.
    pub cert: Option<certificate::CertView>,
    /// The blueprint's sizing profiles, smallest first.
    pub profiles: Vec<(String, crate::core::blueprint::sizing::Profile)>,
    pub profile_cursor: usize,
    /// What the region's services said, for the region it was asked in.
    pub sizing_checks: Option<(
        SizingAsk,
        Load<std::collections::BTreeMap<String, sizing::ProfileCheck>>,
    )>,
    /// The sized values' limits, from the templates.
    pub limits: Vec<custom::Limit>,
    /// The profile being customised and its changed values (from the
    /// answers at the start).
    pub custom: (String, std::collections::BTreeMap<String, String>),
    pub editor: Option<Editor>,
    pub sizing_error: Option<String>,
    pub secrets: Option<Load<SecretsReport>>,
    /// The blueprint's stacks, in deployment waves, with what each creates.
    pub stacks: Vec<review::StackPreview>,
    /// The review was confirmed.
    pub confirmed: bool,
    /// Lines the review is scrolled by, and the most it can be at the
    /// terminal's size (as the front end last drew it).
    pub review_scroll: u16,
    pub review_max: u16,
    pub overlay: Option<Overlay>,
    pub done: bool,
}

impl Wizard {
    /// A wizard resumed from `answers`, and the loads it starts with.
    pub fn new(
        answers: Answers,
        session_region: RegionCode,
        region_why: String,
    ) -> (Wizard, Vec<Effect>) {
        Self::resumed(answers, Vec::new(), session_region, region_why)
    }

    /// A wizard resumed from `answers` and the certificate the installer
    /// requested earlier (the state dir's `certificate.toml`).
    pub fn resumed(
        answers: Answers,
        requested: Vec<certificate::RequestedCertificate>,
        session_region: RegionCode,
        region_why: String,
    ) -> (Wizard, Vec<Effect>) {
        let step = Step::resume_at(&answers);
        let name_input = answers
            .install_name
            .as_ref()
            .map(|n| n.as_str().to_string())
            .unwrap_or_default();
        let domain_input = answers.domain.clone().unwrap_or_default();
        let mut w = Wizard {
            step,
            answers,
            identity: Load::Pending,
            regions: Load::Pending,
            installs: Load::Pending,
            bootstrap: Load::Pending,
            session_region,
            region_why,
            name_input,
            name_error: None,
            filter: String::new(),
            cursor: 0,
            region_error: None,
            save_error: None,
            domain_input,
            domain_error: None,
            domain: None,
            examined: None,
            cert_cursor: 0,
            cert_order: None,
            requested,
            cert: None,
            profiles: Vec::new(),
            profile_cursor: 0,
            sizing_checks: None,
            limits: Vec::new(),
            custom: (String::new(), Default::default()),
            editor: None,
            sizing_error: None,
            secrets: None,
            stacks: Vec::new(),
            confirmed: false,
            review_scroll: 0,
            review_max: u16::MAX,
            overlay: None,
            done: false,
        };
        w.place_cursor_on_chosen();
        w.custom = (
            w.answers.profile.clone().unwrap_or_default(),
            w.answers.sizing.clone(),
        );
        let mut effects = Vec::new();
        if let Some(saved) = w.answers.region.clone()
            && saved != w.session_region
        {
            // Everything the saved answers lead to happens in their region.
            effects.push(Effect::UseRegion(saved));
        }
        effects.extend([
            Effect::LoadIdentity,
            Effect::LoadRegions,
            Effect::LoadInstalls,
            Effect::LoadBootstrap(w.session_region.clone()),
            Effect::LoadBlueprint,
        ]);
        effects.extend(w.watch_chosen_certificate());
        effects.extend(w.arrive());
        (w, effects)
    }

    /// What a step needs from the account when the wizard arrives on it.
    fn arrive(&mut self) -> Vec<Effect> {
        match self.step {
            Step::Sizing => {
                let Some(ask) = self.sizing_ask() else {
                    return vec![];
                };
                let asked = matches!(&self.sizing_checks, Some((a, l)) if *a == ask && !matches!(l, Load::Failed(_)));
                if asked {
                    return vec![];
                }
                self.sizing_checks = Some((ask.clone(), Load::Pending));
                vec![Effect::CheckSizing(ask)]
            }
            Step::Secrets => {
                if self.secrets == Some(Load::Pending) {
                    // One run at a time: two would race for the access key.
                    return vec![];
                }
                self.secrets = Some(Load::Pending);
                vec![Effect::PrepareSecrets {
                    bootstrap_region: self.session_region.clone(),
                }]
            }
            _ => vec![],
        }
    }

    /// The region's zone count, as the region list reports it.
    pub fn region_zones(&self) -> Option<usize> {
        let region = self.answers.region.as_ref()?;
        self.regions
            .ready()?
            .iter()
            .find(|r| &r.code == region)?
            .az_count
    }

    /// What the region's services are to be asked now.
    pub fn sizing_ask(&self) -> Option<SizingAsk> {
        Some(SizingAsk {
            region: self.answers.region.clone()?,
            base: self.custom.0.clone(),
            overrides: self.custom.1.clone(),
        })
    }

    /// What the services said about `profile`, once they have.
    pub fn profile_check(&self, profile: &str) -> Option<&sizing::ProfileCheck> {
        match &self.sizing_checks {
            Some((a, Load::Ready(checks))) if Some(a) == self.sizing_ask().as_ref() => {
                checks.get(profile)
            }
            _ => None,
        }
    }

    /// `name`'s values with the operator's changes, if it is the profile
    /// being customised.
    pub fn effective_profile(&self, name: &str) -> Option<crate::core::blueprint::sizing::Profile> {
        let p = self.profile(name)?;
        Some(if self.custom.0 == name {
            custom::effective(p, &self.custom.1)
        } else {
            p.clone()
        })
    }

    /// The blueprint's profile `name`, as it is (without changes).
    pub fn profile(&self, name: &str) -> Option<&crate::core::blueprint::sizing::Profile> {
        self.profiles
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, p)| p)
    }

    /// The zones profile `name` gets: as the services' check found, else as
    /// the region list says; 2 (the least any profile has) for a profile
    /// the blueprint does not have.
    pub fn profile_zones(&self, name: &str) -> u8 {
        match (self.profile_check(name), self.profile(name)) {
            (Some(c), _) => c.az_count,
            (None, Some(p)) => sizing::az_count(p, self.region_zones()),
            (None, None) => 2,
        }
    }

    fn place_profile_cursor(&mut self) {
        let want = self.answers.profile.as_deref().unwrap_or("production");
        if let Some(i) = self.profiles.iter().position(|(n, _)| n == want) {
            self.profile_cursor = i;
        }
    }

    /// The watch of the chosen certificate, if one is chosen: the records
    /// of one the installer requested go where the operator agreed.
    fn watch_chosen_certificate(&self) -> Option<Effect> {
        let arn = self.answers.certificate_arn.clone()?;
        let domain = self.answers.domain.clone().unwrap_or_default();
        let records = match self.requested.iter().find(|r| r.arn == arn) {
            Some(r) => match &r.zone {
                Some((id, name)) => RecordsTo::Zone(id.clone(), name.clone()),
                None => RecordsTo::File,
            },
            _ => RecordsTo::Nowhere,
        };
        Some(Effect::WatchCertificate {
            arn,
            domain,
            records,
        })
    }

    /// Installs in the account that these answers are not about: started
    /// from another state directory (another user, another machine).
    pub fn unknown_installs(&self) -> Vec<&FoundInstall> {
        let mine = self.answers.install_name.as_ref().map(|n| n.as_str());
        self.installs
            .ready()
            .map(|all| {
                all.iter()
                    .filter(|i| Some(i.name.as_str()) != mine)
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Whether something the screen waits for is on its way (a spinner
    /// turns only then).
    pub fn is_loading(&self) -> bool {
        self.identity == Load::Pending
            || self.regions == Load::Pending
            || self.examined == Some(Load::Pending)
            || matches!(self.cert_order, Some((_, Some(Load::Pending))))
    }

    /// The regions the filter lets through, in the table's order.
    pub fn visible_regions(&self) -> Vec<&RegionRow> {
        let Some(rows) = self.regions.ready() else {
            return Vec::new();
        };
        let f = self.filter.trim().to_ascii_lowercase();
        let mut visible: Vec<&RegionRow> = rows
            .iter()
            .filter(|r| {
                f.is_empty()
                    || r.code.as_str().contains(&f)
                    || r.name
                        .as_deref()
                        .is_some_and(|n| n.to_ascii_lowercase().contains(&f))
                    || group_of(&r.geography).to_ascii_lowercase().contains(&f)
            })
            .collect();
        visible.sort_by_key(|r| group_rank(&r.geography));
        visible
    }

    /// The region under the cursor.
    pub fn selected_region(&self) -> Option<&RegionRow> {
        self.visible_regions().get(self.cursor).copied()
    }

    pub fn handle(&mut self, msg: Msg) -> Vec<Effect> {
        match msg {
            Msg::Identity(r) => {
                self.identity = match r {
                    Ok(i) => Load::Ready(i),
                    Err(e) => Load::Failed(e),
                };
                vec![]
            }
            Msg::Bootstrap(r) => {
                self.bootstrap = match r {
                    Ok(b) => Load::Ready(b),
                    Err(e) => Load::Failed(e),
                };
                if self.bootstrap.ready().is_some_and(Option::is_some) {
                    self.name_error = None;
                }
                vec![]
            }
            Msg::Installs(r) => {
                self.installs = match r {
                    Ok(found) => Load::Ready(found),
                    Err(e) => Load::Failed(e),
                };
                vec![]
            }
            Msg::Regions(r) => {
                self.regions = match r {
                    Ok(rows) => Load::Ready(rows),
                    Err(e) => Load::Failed(e),
                };
                self.place_cursor_on_chosen();
                vec![]
            }
            Msg::Saved(r) => {
                self.save_error = r.err();
                vec![]
            }
            Msg::Examined(r) => {
                // Facts about a domain typed before the current one are stale.
                let current = self.domain.as_ref().map(|d| d.ascii.clone());
                let region = self.answers.region.as_ref().map(|r| r.to_string());
                match r {
                    Ok(f) if Some(&f.domain) != current.as_ref() => {}
                    Ok(f) if Some(&f.region) != region.as_ref() => {}
                    Ok(f) => self.examined = Some(Load::Ready(f)),
                    Err(e) => self.examined = Some(Load::Failed(e)),
                }
                self.cert_cursor = 0;
                vec![]
            }
            Msg::CertificateRequested(r) => self.certificate_requested(r),
            Msg::Certificate(view) => {
                if self.answers.certificate_arn.as_ref() == Some(&view.arn) {
                    self.cert = Some(view);
                }
                vec![]
            }
            Msg::Blueprint(r) => {
                match r {
                    Ok(view) => {
                        self.profiles = view.profiles;
                        self.stacks = view.stacks;
                        self.limits = view.limits;
                        self.place_profile_cursor();
                    }
                    // A build defect: the blueprint tests catch it first.
                    Err(e) => self.sizing_error = Some(e),
                }
                vec![]
            }
            Msg::SizingChecked(ask, r) => {
                // An answer about a region (or values) no longer chosen is dropped.
                if let Some((asked, load)) = &mut self.sizing_checks
                    && *asked == ask
                {
                    *load = match r {
                        Ok(c) => Load::Ready(c),
                        Err(e) => Load::Failed(e),
                    };
                }
                vec![]
            }
            Msg::ReviewFits(max) => {
                self.review_max = max;
                self.review_scroll = self.review_scroll.min(max);
                vec![]
            }
            Msg::SecretsReady(r) => {
                self.secrets = Some(match r {
                    Ok(rep) => Load::Ready(rep),
                    Err(e) => Load::Failed(e),
                });
                vec![]
            }
            Msg::Key(k) => self.key(k),
        }
    }

    fn certificate_requested(
        &mut self,
        r: Result<certificate::RequestedCertificate, String>,
    ) -> Vec<Effect> {
        let Some((order, call)) = &mut self.cert_order else {
            return vec![];
        };
        match r {
            Err(e) => {
                *call = Some(Load::Failed(e));
                vec![]
            }
            Ok(req) if req.domain != order.domain || req.region != order.region => {
                self.cert_order = None;
                vec![]
            }
            Ok(req) => {
                self.cert_order = None;
                let (domain, arn) = (req.domain.clone(), req.arn.clone());
                self.requested
                    .retain(|r| r.domain != req.domain || r.region != req.region);
                self.requested.push(req);
                self.adopt_certificate(domain, arn)
            }
        }
    }

    /// What quitting now would leave running, if anything.
    pub fn in_flight(&self) -> Option<InFlight> {
        if matches!(self.cert_order, Some((_, Some(Load::Pending)))) {
            return Some(InFlight::CertificateRequest);
        }
        if self.secrets == Some(Load::Pending) {
            return Some(InFlight::Secrets);
        }
        let writing = self
            .requested
            .iter()
            .any(|r| r.zone.is_some() && self.answers.certificate_arn.as_ref() == Some(&r.arn))
            && self.cert.as_ref().is_none_or(|c| {
                c.written_to.is_none() && c.records_file.is_none() && !c.is_settled()
            });
        writing.then_some(InFlight::ValidationRecords)
    }

    fn key(&mut self, k: Key) -> Vec<Effect> {
        if let Some(Overlay::ConfirmQuit(_)) = self.overlay {
            self.overlay = None;
            if matches!(k, Key::Interrupt | Key::Char('y') | Key::Char('Y')) {
                self.done = true;
                return vec![Effect::Quit];
            }
            return vec![];
        }
        if k == Key::Interrupt {
            if let Some(what) = self.in_flight() {
                self.overlay = Some(Overlay::ConfirmQuit(what));
                return vec![];
            }
            self.done = true;
            return vec![Effect::Quit];
        }
        if let Some(Overlay::Help) = self.overlay {
            // Any key closes the help; it does nothing else.
            self.overlay = None;
            return vec![];
        }
        if k == Key::Char('?') {
            self.overlay = Some(Overlay::Help);
            return vec![];
        }
        match self.step {
            Step::Welcome => self.welcome_key(k),
            Step::Region => self.region_key(k),
            Step::Domain => self.domain_key(k),
            Step::Sizing => self.sizing_key(k),
            Step::Secrets => self.secrets_key(k),
            Step::Review => self.review_key(k),
        }
    }

    fn go(&mut self, step: Step) -> Vec<Effect> {
        self.step = step;
        if step == Step::Region {
            // Back on the list: the whole list, on the region chosen.
            self.filter.clear();
            self.region_error = None;
            self.place_cursor_on_chosen();
        }
        self.arrive()
    }

    fn sizing_key(&mut self, k: Key) -> Vec<Effect> {
        if self.editor.is_some() {
            return self.editor_key(k);
        }
        match k {
            Key::Char('e') => {
                let Some((name, _)) = self.profiles.get(self.profile_cursor) else {
                    return vec![];
                };
                if self.custom.0 != *name {
                    // Changes belong to one profile: another starts afresh.
                    self.custom = (name.clone(), Default::default());
                }
                self.sizing_error = None;
                self.editor = Some(Editor::default());
                vec![]
            }
            Key::Esc | Key::BackTab => self.go(self.step.back()),
            Key::Up | Key::Char('k') => {
                self.profile_cursor = self.profile_cursor.saturating_sub(1);
                self.sizing_error = None;
                vec![]
            }
            Key::Down | Key::Char('j') => {
                if self.profile_cursor + 1 < self.profiles.len() {
                    self.profile_cursor += 1;
                }
                self.sizing_error = None;
                vec![]
            }
            Key::Char('r') if matches!(&self.sizing_checks, Some((_, Load::Failed(_)))) => {
                self.sizing_checks = None;
                self.arrive()
            }
            Key::Enter | Key::Tab => {
                let Some((name, _)) = self.profiles.get(self.profile_cursor) else {
                    return vec![];
                };
                let name = name.clone();
                if matches!(&self.sizing_checks, Some((_, Load::Pending))) {
                    self.sizing_error = Some(
                        "The region's offerings are still being read; choose once they are.".into(),
                    );
                    return vec![];
                }
                let zones = self.profile_zones(&name);
                let problems = self
                    .effective_profile(&name)
                    .map(|p| custom::problems(&p, zones))
                    .unwrap_or_default();
                if !problems.is_empty() {
                    self.sizing_error = Some(format!(
                        "The changed values disagree: {} Press e to change them.",
                        problems.join(" ")
                    ));
                    return vec![];
                }
                if let Some(check) = self.profile_check(&name)
                    && !check.fit.missing.is_empty()
                {
                    self.sizing_error = Some(format!(
                        "The {name} profile cannot be installed here: {}. Choose another profile.",
                        check.fit.missing.join("; ")
                    ));
                    return vec![];
                }
                self.sizing_error = None;
                self.answers.sizing = if self.custom.0 == name {
                    self.custom.1.clone()
                } else {
                    Default::default()
                };
                self.answers.profile = Some(name);
                let mut effects = vec![Effect::Save(self.answers.clone())];
                effects.extend(self.go(Step::Secrets));
                effects
            }
            _ => vec![],
        }
    }

    /// The value a sized key has in the profile being customised.
    pub fn custom_value(&self, key: &str) -> Option<String> {
        let zones = self.profile_zones(&self.custom.0);
        self.effective_profile(&self.custom.0)?.value(key, zones)
    }

    fn editor_key(&mut self, k: Key) -> Vec<Effect> {
        let Some(ed) = self.editor.as_mut() else {
            return vec![];
        };
        let rows = self.limits.len();
        if let Some(input) = ed.input.as_mut() {
            match k {
                Key::Char(c) if !c.is_control() => {
                    if input.chars().count() < 40 {
                        input.push(c);
                    }
                    ed.error = None;
                }
                Key::Backspace => {
                    input.pop();
                    ed.error = None;
                }
                Key::Esc => {
                    ed.input = None;
                    ed.error = None;
                }
                Key::Enter => {
                    let Some(limit) = self.limits.get(ed.row).cloned() else {
                        return vec![];
                    };
                    match limit.check(input) {
                        Err(e) => ed.error = Some(e),
                        Ok(v) => {
                            ed.input = None;
                            ed.error = None;
                            self.set_override(&limit.key, v);
                        }
                    }
                }
                _ => {}
            }
            return vec![];
        }
        match k {
            Key::Up | Key::Char('k') => ed.row = ed.row.saturating_sub(1),
            Key::Down | Key::Char('j') if ed.row + 1 < rows => ed.row += 1,
            Key::Enter => {
                let key = self.limits.get(ed.row).map(|l| l.key.clone());
                let current = key.and_then(|k| self.custom_value(&k)).unwrap_or_default();
                if let Some(ed) = self.editor.as_mut() {
                    ed.input = Some(current);
                    ed.error = None;
                }
            }
            Key::Char('x') | Key::Backspace => {
                // Back to the profile's own value.
                if let Some(l) = self.limits.get(ed.row) {
                    self.custom.1.remove(&l.key);
                }
            }
            Key::Esc | Key::Tab | Key::BackTab => {
                self.editor = None;
                // The changed types are asked about before they can be chosen.
                return self.arrive();
            }
            _ => {}
        }
        vec![]
    }

    /// Keeps `value` for `key`, or forgets the change when it is the base
    /// profile's own value.
    fn set_override(&mut self, key: &str, value: String) {
        let zones = self.profile_zones(&self.custom.0);
        let own = self
            .profile(&self.custom.0)
            .and_then(|p| p.value(key, zones));
        if own.as_deref() == Some(value.as_str()) {
            self.custom.1.remove(key);
        } else {
            self.custom.1.insert(key.to_string(), value);
        }
    }

    fn secrets_key(&mut self, k: Key) -> Vec<Effect> {
        match k {
            Key::Esc | Key::BackTab => self.go(self.step.back()),
            Key::Enter | Key::Tab => match &self.secrets {
                Some(Load::Ready(rep)) if !matches!(rep.access_key, AccessKeyState::Failed(_)) => {
                    self.go(Step::Review)
                }
                Some(Load::Pending) => vec![],
                // Something is missing: Enter tries again.
                _ => self.arrive(),
            },
            _ => vec![],
        }
    }

    fn review_key(&mut self, k: Key) -> Vec<Effect> {
        match k {
            Key::Esc | Key::BackTab if self.confirmed => {
                self.confirmed = false;
                vec![]
            }
            Key::Esc | Key::BackTab => self.go(self.step.back()),
            Key::Char(c @ '1'..='6') if !self.confirmed => {
                // Straight back to any step.
                let i = c as usize - '1' as usize;
                self.go(Step::ALL[i])
            }
            Key::Enter if !self.confirmed => {
                self.confirmed = true;
                vec![]
            }
            Key::Up | Key::Char('k') => {
                self.review_scroll = self.review_scroll.saturating_sub(1);
                vec![]
            }
            Key::Down | Key::Char('j') => {
                self.review_scroll = (self.review_scroll + 1).min(self.review_max);
                vec![]
            }
            Key::PageUp => {
                self.review_scroll = self.review_scroll.saturating_sub(10);
                vec![]
            }
            Key::PageDown => {
                self.review_scroll = (self.review_scroll + 10).min(self.review_max);
                vec![]
            }
            Key::Char('q') if self.confirmed => {
                self.done = true;
                vec![Effect::Quit]
            }
            _ => vec![],
        }
    }

    fn welcome_key(&mut self, k: Key) -> Vec<Effect> {
        if let Load::Failed(_) = self.identity {
            // Nothing can be done without credentials: Enter tries again.
            return match k {
                Key::Enter => {
                    self.identity = Load::Pending;
                    vec![Effect::LoadIdentity]
                }
                Key::Esc => {
                    self.done = true;
                    vec![Effect::Quit]
                }
                _ => vec![],
            };
        }
        match k {
            Key::Char(c) if !c.is_control() => {
                if self.name_input.chars().count() < 40 {
                    self.name_input.push(c);
                }
                self.name_error = None;
                vec![]
            }
            Key::Backspace => {
                self.name_input.pop();
                self.name_error = None;
                vec![]
            }
            Key::Enter | Key::Tab if matches!(self.bootstrap, Load::Ready(None)) => {
                // Without its own stack the installer has no role, no
                // boundary and no provisioning user to work with.
                self.name_error = Some(format!(
                    "Nothing can be installed from here until the installer's own stack \
                     (installer.yaml, tagged ph:install={BOOTSTRAP_TAG_VALUE}) is found in {}: \
                     see above. If it is in another region, start with --region set to it.",
                    self.session_region
                ));
                vec![]
            }
            Key::Enter | Key::Tab => match parse_install_name(&self.name_input) {
                Ok(name)
                    if self.answers.install_name.as_ref() != Some(&name)
                        && self
                            .unknown_installs()
                            .iter()
                            .any(|i| i.name == name.as_str()) =>
                {
                    self.name_error = Some(format!(
                        "Stacks of an install named {name} already exist in this account, started \
                         from another state directory. Continue it from there, or choose another \
                         name."
                    ));
                    vec![]
                }
                Ok(name) => {
                    self.name_error = None;
                    self.answers.install_name = Some(name);
                    let mut effects = vec![Effect::Save(self.answers.clone())];
                    effects.extend(self.go(Step::Region));
                    effects
                }
                Err(refusal) => {
                    self.name_error = Some(refusal.to_string());
                    vec![]
                }
            },
            _ => vec![],
        }
    }

    fn region_key(&mut self, k: Key) -> Vec<Effect> {
        let count = self.visible_regions().len();
        let filtering = !self.filter.is_empty();
        match k {
            Key::Esc if filtering => {
                self.set_filter(String::new());
                vec![]
            }
            Key::Esc | Key::BackTab => self.go(self.step.back()),
            Key::Up | Key::Char('k') if k == Key::Up || !filtering => {
                self.cursor = self.cursor.saturating_sub(1);
                self.region_error = None;
                vec![]
            }
            Key::Down | Key::Char('j') if k == Key::Down || !filtering => {
                if self.cursor + 1 < count {
                    self.cursor += 1;
                }
                self.region_error = None;
                vec![]
            }
            Key::PageUp => {
                self.cursor = self.cursor.saturating_sub(10);
                vec![]
            }
            Key::PageDown => {
                self.cursor = (self.cursor + 10).min(count.saturating_sub(1));
                vec![]
            }
            Key::Home => {
                self.cursor = 0;
                vec![]
            }
            Key::End => {
                self.cursor = count.saturating_sub(1);
                vec![]
            }
            Key::Backspace => {
                let mut f = self.filter.clone();
                f.pop();
                self.set_filter(f);
                vec![]
            }
            Key::Char(c) if c.is_ascii_alphanumeric() || c == '-' || c == ' ' => {
                let mut f = self.filter.clone();
                f.push(c);
                self.set_filter(f);
                vec![]
            }
            Key::Enter | Key::Tab => self.choose_region(),
            _ => vec![],
        }
    }

    /// The certificates of the region the operator may reuse for the domain.
    pub fn reusable_certificates(&self) -> Vec<&domain::CertificateOffer> {
        match (&self.domain, &self.examined) {
            (Some(d), Some(Load::Ready(f))) => domain::reusable(&f.certificates, d, f.read_at),
            _ => Vec::new(),
        }
    }

    fn domain_key(&mut self, k: Key) -> Vec<Effect> {
        if self.cert_order.is_some() {
            return self.order_key(k);
        }
        let examined = self.examined.is_some();
        let ready = matches!(self.examined, Some(Load::Ready(_)));
        match k {
            Key::Esc | Key::BackTab if examined => {
                // Back to typing the name.
                self.examined = None;
                self.domain = None;
                vec![]
            }
            Key::Esc | Key::BackTab => self.go(self.step.back()),
            Key::Up | Key::Char('k') if ready => {
                self.cert_cursor = self.cert_cursor.saturating_sub(1);
                vec![]
            }
            Key::Down | Key::Char('j') if ready => {
                // The last row is "request a new certificate".
                if self.cert_cursor < self.reusable_certificates().len() {
                    self.cert_cursor += 1;
                }
                vec![]
            }
            Key::Enter | Key::Tab if ready => self.choose_certificate(),
            Key::Enter if matches!(self.examined, Some(Load::Failed(_))) => {
                // Ask the account again.
                let Some(d) = self.domain.clone() else {
                    return vec![];
                };
                self.examined = Some(Load::Pending);
                vec![Effect::ExamineDomain(d)]
            }
            _ if examined => vec![],
            Key::Char(c) if !c.is_control() => {
                if self.domain_input.chars().count() < 253 {
                    self.domain_input.push(c);
                }
                self.domain_error = None;
                vec![]
            }
            Key::Backspace => {
                self.domain_input.pop();
                self.domain_error = None;
                vec![]
            }
            Key::Enter | Key::Tab => match domain::parse_domain(&self.domain_input) {
                Ok(d) => {
                    self.domain_error = None;
                    self.domain = Some(d.clone());
                    self.examined = Some(Load::Pending);
                    self.cert_cursor = 0;
                    vec![Effect::ExamineDomain(d)]
                }
                Err(refusal) => {
                    self.domain_error = Some(refusal.to_string());
                    vec![]
                }
            },
            _ => vec![],
        }
    }

    /// Keys while the operator is asked to confirm a certificate request.
    fn order_key(&mut self, k: Key) -> Vec<Effect> {
        let Some((order, call)) = &mut self.cert_order else {
            return vec![];
        };
        match (k, &call) {
            (_, Some(Load::Pending)) => vec![],
            (Key::Esc | Key::BackTab, _) => {
                self.cert_order = None;
                vec![]
            }
            (Key::Enter, _) => {
                *call = Some(Load::Pending);
                vec![Effect::RequestCertificate(order.clone())]
            }
            _ => vec![],
        }
    }

    /// The certificate the installer already requested for the domain
    /// being examined, in the install's region.
    pub fn earlier_request(&self) -> Option<&certificate::RequestedCertificate> {
        self.same_request().filter(|r| !self.has_failed(&r.arn))
    }

    /// The certificate requested before for this domain and region,
    /// whatever became of it.
    fn same_request(&self) -> Option<&certificate::RequestedCertificate> {
        let d = self.domain.as_ref()?;
        let region = self.answers.region.as_ref()?;
        self.requested
            .iter()
            .find(|r| r.domain == d.ascii && r.region == region.as_str())
    }

    /// Whether ACM gave up on `arn`, as the watch last saw it.
    fn has_failed(&self, arn: &str) -> bool {
        self.cert
            .as_ref()
            .is_some_and(|c| c.arn == arn && matches!(c.phase, certificate::CertPhase::Failed(_)))
    }

    /// Whether the cursor is on "request a new certificate".
    pub fn on_request_row(&self) -> bool {
        self.cert_cursor >= self.reusable_certificates().len()
    }

    fn choose_certificate(&mut self) -> Vec<Effect> {
        let (Some(d), Some(Load::Ready(facts))) = (&self.domain, &self.examined) else {
            return vec![];
        };
        if self.on_request_row() {
            let (Some(name), Some(region)) = (&self.answers.install_name, &self.answers.region)
            else {
                return vec![];
            };
            if let Some(earlier) = self.earlier_request() {
                // Requested before (this run or an earlier one): the same
                // certificate, never a second request.
                let (domain, arn) = (d.ascii.clone(), earlier.arn.clone());
                return self.adopt_certificate(domain, arn);
            }
            // After a failed one, the next attempt needs a token of its own:
            // the same token would return the failed certificate.
            let attempt = self.same_request().map_or(0, |r| r.attempt + 1);
            let order = certificate::CertificateOrder::new(
                name.as_str(),
                region.as_str(),
                &d.ascii,
                facts.zone.clone(),
            )
            .attempt(attempt);
            self.cert_order = Some((order, None));
            return vec![];
        }
        let Some(cert) = self
            .reusable_certificates()
            .get(self.cert_cursor)
            .map(|c| c.arn.clone())
        else {
            return vec![];
        };
        let domain = d.ascii.clone();
        self.adopt_certificate(domain, cert)
    }

    /// The domain and its certificate are answered: save, watch the
    /// certificate, go on to sizing.
    fn adopt_certificate(&mut self, domain: String, arn: String) -> Vec<Effect> {
        self.answers.domain = Some(domain);
        self.answers.certificate_arn = Some(arn);
        self.cert = None;
        let mut effects = vec![Effect::Save(self.answers.clone())];
        effects.extend(self.watch_chosen_certificate());
        effects.extend(self.go(Step::Sizing));
        effects
    }

    fn set_filter(&mut self, filter: String) {
        self.filter = filter;
        self.cursor = 0;
        self.region_error = self
            .refusal_of_filter()
            .map(|r| r.to_string())
            .or_else(|| self.no_match());
    }

    /// What a filter that matches no region says, while the list is known.
    fn no_match(&self) -> Option<String> {
        let f = self.filter.trim();
        (!f.is_empty() && self.regions.ready().is_some() && self.visible_regions().is_empty()).then(
            || format!("No region matches '{f}'. Backspace to change the filter, Esc to clear it."),
        )
    }

    /// A filter that is a whole region code the rules refuse (GovCloud,
    /// China, an ISO partition, an availability zone) says why, instead of
    /// just matching nothing.
    fn refusal_of_filter(&self) -> Option<RegionRefusal> {
        let f = self.filter.trim();
        if f.is_empty() || f.contains(' ') || !self.visible_regions().is_empty() {
            return None;
        }
        match parse_region(f) {
            // Part of a refused partition's code (`us-gov`, `cn`) is refused
            // for the same reason, before the code is whole.
            Err(RegionRefusal::Unknown { .. }) => super::region::isolated_partition_of_prefix(f)
                .map(|partition| RegionRefusal::NonCommercial {
                    code: f.to_string(),
                    partition,
                }),
            Err(RegionRefusal::Empty) => None,
            Err(r) => Some(r),
            Ok(code) => Some(RegionRefusal::NotInAccount {
                code: code.to_string(),
            }),
        }
    }

    fn choose_region(&mut self) -> Vec<Effect> {
        let Some(row) = self.selected_region().cloned() else {
            if self.region_error.is_none() {
                self.region_error = self.no_match();
            }
            return vec![];
        };
        if let Err(refusal) = super::region::check_opt_in(
            &row.code,
            row.opt_in.unwrap_or(super::region::OptInStatus::NotOptedIn),
            row.name.as_deref(),
        ) {
            self.region_error = Some(refusal.to_string());
            return vec![];
        }
        self.region_error = None;
        if self.answers.region.as_ref() != Some(&row.code) {
            // A certificate belongs to its region: another region needs its own.
            self.answers.certificate_arn = None;
            self.examined = None;
            self.domain = None;
        }
        self.answers.region = Some(row.code.clone());
        let mut effects = vec![
            Effect::Save(self.answers.clone()),
            Effect::UseRegion(row.code),
        ];
        effects.extend(self.go(Step::Domain));
        effects
    }

    /// Puts the cursor on the saved region, else the session's region.
    fn place_cursor_on_chosen(&mut self) {
        let want = self
            .answers
            .region
            .clone()
            .unwrap_or_else(|| self.session_region.clone());
        if let Some(i) = self.visible_regions().iter().position(|r| r.code == want) {
            self.cursor = i;
        }
    }
}

/// The deployment guide's groups, in its order; regions of a group this
/// build does not know come last.
pub const GROUPS: &[&str] = &[
    "North America",
    "Europe",
    "Asia Pacific",
    "Middle East & Africa",
    "South America",
];

fn group_rank(geography: &str) -> usize {
    let g = group_of(geography);
    GROUPS.iter().position(|x| *x == g).unwrap_or(GROUPS.len())
}

/// The deployment guide's region groups.
pub fn group_of(geography: &str) -> &str {
    match geography {
        "Middle East" | "Africa" => "Middle East & Africa",
        other => other,
    }
}
