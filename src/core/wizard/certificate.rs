//! A certificate the installer requests: the idempotency token that makes
//! a restart find the same request, what is kept of it in the state dir,
//! where its validation stands, and the records file for a DNS provider
//! outside Route 53.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// A certificate the installer requested for an install, kept in the state
/// dir (`certificate.toml`) from the moment ACM answered, so a restart
/// watches it again instead of requesting another. The operator agreed to
/// the validation records going into `zone` when they confirmed the request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RequestedCertificate {
    pub arn: String,
    pub domain: String,
    pub region: String,
    /// The public Route 53 zone the validation records go to: (id, name).
    pub zone: Option<(String, String)>,
    /// 0 for the first request for this domain and region, one more for
    /// each after ACM gave up on the one before.
    #[serde(default)]
    pub attempt: u32,
}

/// `certificate.toml`: every certificate the installer requested, one per
/// domain and region, so going back to an earlier choice finds its
/// certificate instead of requesting a second.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RequestedFile {
    #[serde(default, rename = "certificate")]
    pub certificates: Vec<RequestedCertificate>,
}

/// What the operator confirms before the installer asks ACM for a
/// certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertificateOrder {
    pub domain: String,
    pub region: String,
    pub install_name: String,
    /// ACM's idempotency token: the same install, region and domain give
    /// the same token, so a request repeated within ACM's hour (a crash
    /// between the request and the save) returns the same certificate.
    pub token: String,
    pub zone: Option<(String, String)>,
    pub attempt: u32,
}

impl CertificateOrder {
    pub fn new(
        install_name: &str,
        region: &str,
        domain: &str,
        zone: Option<(String, String)>,
    ) -> Self {
        CertificateOrder {
            domain: domain.to_string(),
            region: region.to_string(),
            install_name: install_name.to_string(),
            token: idempotency_token(install_name, region, domain, 0),
            zone,
            attempt: 0,
        }
    }

    /// The same order as a later attempt, with a token of its own.
    pub fn attempt(mut self, attempt: u32) -> Self {
        self.attempt = attempt;
        self.token = idempotency_token(&self.install_name, &self.region, &self.domain, attempt);
        self
    }
}

/// ACM accepts 1 to 32 word characters (`\w+`): the first 32 hex digits of
/// a digest of what identifies the request.
pub fn idempotency_token(install_name: &str, region: &str, domain: &str, attempt: u32) -> String {
    let digest = Sha256::digest(format!(
        "ph-installer\n{install_name}\n{region}\n{domain}\n{attempt}"
    ));
    digest.iter().take(16).map(|b| format!("{b:02x}")).collect()
}

/// One validation record ACM asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidationCname {
    pub name: String,
    pub value: String,
}

/// Where a certificate's validation stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CertPhase {
    /// ACM has not published the validation records yet (a few seconds).
    AwaitingRecords,
    /// The records are known; ACM is waiting to see them in DNS.
    Validating,
    Issued,
    /// ACM gave up or refused: the reason, as ACM says it.
    Failed(String),
}

/// What the background watch reports about a certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertView {
    pub arn: String,
    pub phase: CertPhase,
    pub records: Vec<ValidationCname>,
    /// The zone the records were written to (the change is in sync).
    pub written_to: Option<String>,
    /// The file in the state dir that holds the records for a DNS provider.
    pub records_file: Option<String>,
    /// The watch's last call failed; it goes on trying.
    pub error: Option<String>,
    /// Why the records went to the file rather than the zone agreed.
    pub note: Option<String>,
}

impl CertView {
    pub fn is_settled(&self) -> bool {
        matches!(self.phase, CertPhase::Issued | CertPhase::Failed(_))
    }
}

/// The records file for a DNS provider outside Route 53: what to create,
/// in the form most providers' forms ask for, and as a zone-file line.
pub fn records_file(domain: &str, arn: &str, records: &[ValidationCname]) -> String {
    let mut out = format!(
        "# DNS validation for the certificate of {domain}\n\
         # {arn}\n\
         #\n\
         # Create each CNAME record below at the DNS provider that hosts {domain}.\n\
         # ACM issues the certificate a few minutes after it sees them; keep them:\n\
         # ACM renews the certificate with the same records.\n\n"
    );
    for r in records {
        out.push_str(&format!(
            "Type:  CNAME\nName:  {}\nValue: {}\n\n",
            r.name, r.value
        ));
    }
    out.push_str("# As zone-file lines:\n");
    for r in records {
        out.push_str(&format!("{} 300 IN CNAME {}\n", r.name, r.value));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_token_is_the_same_for_the_same_install_and_acm_accepts_it() {
        let a = idempotency_token("shop", "eu-west-1", "ph.example.com", 0);
        assert_eq!(
            a,
            idempotency_token("shop", "eu-west-1", "ph.example.com", 0)
        );
        assert_ne!(
            a,
            idempotency_token("shop", "eu-west-2", "ph.example.com", 0)
        );
        assert_ne!(
            a,
            idempotency_token("shop2", "eu-west-1", "ph.example.com", 0)
        );
        assert_ne!(
            a,
            idempotency_token("shop", "eu-west-1", "ph2.example.com", 0)
        );
        assert_ne!(
            a,
            idempotency_token("shop", "eu-west-1", "ph.example.com", 1)
        );
        assert_eq!(a.len(), 32);
        assert!(a.chars().all(|c| c.is_ascii_alphanumeric()));
    }

    #[test]
    fn the_records_file_names_every_record_both_ways() {
        let recs = vec![ValidationCname {
            name: "_abc.ph.example.org.".into(),
            value: "_def.acm-validations.aws.".into(),
        }];
        let text = records_file("ph.example.org", "arn:aws:acm:x", &recs);
        assert!(text.contains("Name:  _abc.ph.example.org."), "{text}");
        assert!(text.contains("Value: _def.acm-validations.aws."), "{text}");
        assert!(
            text.contains("_abc.ph.example.org. 300 IN CNAME _def.acm-validations.aws."),
            "{text}"
        );
    }
}
