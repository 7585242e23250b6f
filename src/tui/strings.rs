//! Every word the wizard shows, in one place: one review of the wording,
//! and one place to check that no secret is ever formatted.

use crate::core::wizard::Step;

pub const APP: &str = "ph-installer";
pub const SANDBOX_BADGE: &str = "sandbox";

pub fn step_title(step: Step) -> &'static str {
    match step {
        Step::Welcome => "Welcome",
        Step::Region => "Region",
        Step::Domain => "Domain & certificate",
        Step::Sizing => "Sizing",
        Step::Secrets => "Secrets",
        Step::Review => "Review",
    }
}

/// The step's name in the steps line, short enough for six in 60 columns.
pub fn step_short(step: Step) -> &'static str {
    match step {
        Step::Domain => "Domain",
        other => step_title(other),
    }
}

pub const WHO: &str = "Who the installer acts as";
pub const ACCOUNT: &str = "Account";
pub const IDENTITY: &str = "Identity";
pub const CREDENTIALS: &str = "Credentials";
pub const REGION: &str = "Region";
pub const ASKING_AWS: &str = "asking AWS...";
pub const NO_IDENTITY: &str = "The installer cannot act in AWS yet:";
pub const RETRY_OR_LEAVE: &str = "Fix that, then press Enter to try again (Esc leaves).";

pub const INSTALLER: &str = "Installer";
pub const ROLE: &str = "Role";
pub fn bootstrap_found(stack: &str) -> String {
    format!("stack {stack} (installer.yaml) found")
}
pub fn role_in_use(role: &str) -> String {
    format!("{role}, the installer instance's, in use")
}
pub fn role_not_in_use(role: &str) -> String {
    format!(
        "These credentials are not the installer instance's role {role}: the installer is \
         meant to run on that instance, where its permissions and boundary apply."
    )
}
pub fn bootstrap_missing(region: &str) -> String {
    format!(
        "The installer's own stack (installer.yaml) is not in {region}: deploy it first \
         (README, \"Running on an installer instance\") and run ph-installer on its instance."
    )
}
pub fn holds_install(name: &str) -> String {
    format!(
        "This state directory holds install '{name}'. Nothing of it is deployed yet, so \
         another name renames it; a second install needs its own state directory \
         (--state-dir)."
    )
}
pub const INSTALL_NAME: &str = "Install name";
pub const INSTALL_NAME_RULE: &str = "3-16 lowercase letters, digits and single hyphens";
pub fn install_name_use(name: &str) -> String {
    let n = if name.is_empty() { "<name>" } else { name };
    format!("Prefixes every resource (ph-{n}-...) and tags it ph:install={n}.")
}

pub const FILTER: &str = "Filter";
pub const FILTER_HINT: &str = "type a code, a city or a group";
pub const LOADING_REGIONS: &str = "Listing the account's regions...";
pub const REGIONS_FAILED: &str = "The regions could not be listed:";
pub const ZONES: &str = "zones";
pub const ENABLED: &str = "enabled";
pub const NOT_ENABLED: &str = "not enabled";
pub const NEW_REGION: &str = "(newer than this build)";
pub fn current_region(code: &str, why: &str) -> String {
    format!("The session's region is {code}, chosen by {why}.")
}

pub const PROFILES: &str = "Sizing profile";
pub fn creates(profile: &str, zones: u8) -> String {
    format!("What {profile} creates here ({zones} zones):")
}
pub fn creates_changed(profile: &str, zones: u8, changed: usize) -> String {
    format!(
        "What {profile} creates here ({zones} zones), {changed} value{} changed:",
        if changed == 1 { "" } else { "s" }
    )
}
pub fn editing(profile: &str) -> String {
    format!("Values of {profile} (* changed; Enter edits, x restores, Esc done):")
}
pub const CHECKING_OFFERINGS: &str = "Asking the region's services about these instance types...";
pub const OFFERINGS_FAILED: &str = "The region's offerings could not be read (r asks again):";
pub const NOT_OFFERED: &str = "not offered here";
pub const ALL_OFFERED: &str = "Every instance type is offered in the region.";
pub const SECRETS_INTRO: &str = "Generated once, with a secure random generator, to each \
     service's rules; never shown, logged, put in templates, outputs or tags.";
pub const PREPARING_SECRETS: &str = "Generating the secrets and the provisioning key...";
pub const SECRETS_FAILED: &str = "The secrets could not be prepared:";
pub const GENERATED_NOW: &str = "generated now";
pub const KEPT: &str = "kept from an earlier run";
pub fn stored_in(path: &str) -> String {
    format!("Stored in {path} (0600, this user only).")
}
pub fn secret_label(name: &str) -> &str {
    match name {
        "db_master_password" => "Database master password",
        "redis_auth_token" => "Redis AUTH token",
        "opensearch_master_password" => "OpenSearch master password",
        other => other,
    }
}
pub const ACCESS_KEY: &str = "Provisioning user's access key";
pub const KEY_CREATED: &str = "created through IAM";
pub const KEY_KEPT: &str = "kept: IAM lists it active";
pub fn key_user(user: &str) -> String {
    format!("IAM user {user}")
}
pub const SECRETS_RETRY: &str = "Enter tries again.";
pub const REVIEW_ANSWERS: &str = "Answers";
pub fn review_stacks(stacks: usize, resources: usize) -> String {
    format!("{stacks} stacks, {resources} resources, in the order they deploy (from the templates)")
}
pub const MORE_BELOW: &str = "(Down: more)";
pub const SECRETS_REVIEW: &str = "Secrets";
pub fn stack_line(wave: usize, name: &str, resources: usize, conditional: usize) -> String {
    let cond = if conditional > 0 {
        format!(", {conditional} by sizing")
    } else {
        String::new()
    };
    format!("wave {wave}  {name:<9} {resources:>3} resources{cond}")
}
pub const REVIEW_CONFIRM: &str = "Enter confirms; 1-6 or Esc go back to a step.";
pub const CONFIRMED: &str = "Confirmed.";
pub const DEPLOY_NEXT: &str = "Deploying the stacks is the next part of ph-installer and is not \
     in this build: nothing more has been created in the account. Everything is kept; a \
     build with the deploy starts from this review.";
pub const NOTHING_CREATED: &str = "Nothing else is created before the review is confirmed.";
pub const DOMAIN: &str = "Domain";
pub const CERTIFICATE: &str = "Certificate";
pub const DOMAIN_PROMPT: &str = "The application's domain name";
pub const DOMAIN_EXAMPLE: &str = "e.g. ph.example.com";
pub fn idn_forms(unicode: &str, ascii: &str) -> String {
    format!("{unicode} is {ascii} in DNS and in the certificate.")
}
pub const LOOKING: &str = "Looking for its hosted zone and certificates...";
pub const EXAMINE_FAILED: &str = "The account could not be asked about the domain:";
pub fn zone_found(name: &str, id: &str) -> String {
    format!("Route 53 hosts it: public zone {name} ({id}).")
}
pub const NO_ZONE: &str = "No public Route 53 zone in this account holds it: DNS records go to \
     your DNS provider.";
pub fn reuse_heading(region: &str) -> String {
    format!("Issued certificates in {region} that cover it (valid for 30 days or more):")
}
pub fn no_reusable(region: &str, domain: &str) -> String {
    format!("No issued certificate in {region} covers {domain} for 30 days or more.")
}
pub fn request_row(domain: &str) -> String {
    format!("Request a new certificate for {domain}, validated by DNS")
}
pub fn earlier_row(domain: &str) -> String {
    format!("Use the certificate requested earlier for {domain}")
}
pub const REQUEST_TITLE: &str = "Request a certificate";
pub fn request_will(domain: &str, region: &str) -> String {
    format!(
        "The installer asks ACM in {region} for a certificate for {domain}, validated by DNS. \
         Before the review, only this, its validation record and the provisioning user's \
         access key are created."
    )
}
pub fn request_zone(zone: &str) -> String {
    format!(
        "It writes the validation record (a CNAME) into the Route 53 zone {zone}; ACM issues \
         the certificate minutes after it sees it."
    )
}
pub fn request_no_zone(file: &str) -> String {
    format!(
        "No Route 53 zone holds the name: create the record at your DNS provider. It is \
         written to {file}, and checked while you go on."
    )
}
pub const REQUEST_CONFIRM: &str = "Enter requests the certificate; Esc goes back without it.";
pub const REQUESTING: &str = "Asking ACM for the certificate...";
pub const REQUEST_FAILED: &str = "Not requested:";
pub const REQUEST_RETRY: &str = "Enter tries again: the same request, never a second.";
pub const EXAMINE_RETRY: &str = "Enter asks again; Esc types another name.";
pub fn expires(days: u64) -> String {
    format!("{days} days left")
}
pub fn saved_so_far(path: &str) -> String {
    format!("Your answers so far are saved in {path}:")
}
/// The certificate's state, on one line.
pub fn cert_line(view: Option<&crate::core::wizard::certificate::CertView>) -> String {
    use crate::core::wizard::certificate::CertPhase;
    let Some(v) = view else {
        return "checking...".into();
    };
    let mut line = match &v.phase {
        CertPhase::Issued => "issued".to_string(),
        CertPhase::AwaitingRecords => "requested; ACM is preparing its validation record".into(),
        CertPhase::Validating => match (&v.written_to, &v.records_file) {
            (Some(zone), _) => {
                format!("pending validation; record written to Route 53 zone {zone}")
            }
            (None, Some(file)) => {
                format!("pending validation; create the record in {file} at your DNS provider")
            }
            (None, None) => "pending validation".into(),
        },
        CertPhase::Failed(why) => {
            format!("not issued: {why}. Go back to Domain to request another")
        }
    };
    if let Some(n) = &v.note {
        line.push_str(&format!(" ({n})"));
    }
    if let Some(e) = &v.error {
        line.push_str(&format!(" (retrying: {e})"));
    }
    line
}
pub const NOT_SAVED: &str = "The answers could not be saved:";

pub fn too_small(need: (u16, u16), have: (u16, u16)) -> String {
    format!(
        "Terminal too small: need {}x{}, have {}x{}. Enlarge the window.",
        need.0, need.1, have.0, have.1
    )
}

pub const QUIT_TITLE: &str = "Quit now?";
pub const QUIT_CONFIRM: &str = "y or Ctrl-C quits; any other key stays.";
pub fn in_flight(what: crate::core::wizard::InFlight) -> &'static str {
    use crate::core::wizard::InFlight::*;
    match what {
        CertificateRequest => {
            "ACM has the certificate request and has not answered yet. A rerun within the \
             hour asks with the same token and gets the same certificate; later, ACM may \
             have made one that the installer does not know of (delete it in ACM)."
        }
        Secrets => {
            "The secrets and the provisioning user's access key are being made. Quitting \
             now can leave a key in IAM that the secrets file lacks; IAM allows two per \
             user, so delete such a key if a rerun reaches the limit."
        }
        ValidationRecords => {
            "The certificate's validation record is being written to Route 53. Quitting \
             is safe: a rerun writes it again (the same record) and goes on checking."
        }
    }
}
pub const HELP_TITLE: &str = "Keys";
pub const HELP_CLOSE: &str = "Any key closes this help.";
pub fn goodbye(path: &str) -> String {
    format!("Answers saved in {path}. Run ph-installer again to continue where you left off.")
}

pub fn unknown_install(name: &str, stacks: usize, region: &str) -> String {
    format!(
        "This account has {stacks} stack{} of install '{name}' in {region} that this state \
         directory does not know. If another user started it (ec2-user over SSH, ssm-user over \
         SSM), run ph-installer as that user, with sudo, or with --state-dir set to its state \
         directory; to start another install, type a different name.",
        if stacks == 1 { "" } else { "s" }
    )
}
