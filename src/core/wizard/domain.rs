//! The application's domain name: validated as DNS and ACM take it, an
//! internationalised name converted to its ASCII (punycode) form and shown
//! both ways; which hosted zones could hold it; which certificates cover it.

use std::fmt;
use std::time::{Duration, SystemTime};

/// A domain the installer can use: `ascii` is what DNS, ACM and the
/// templates get; `unicode` is what the operator typed, for display.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Domain {
    pub ascii: String,
    pub unicode: String,
}

impl Domain {
    /// Whether the name was internationalised (its two forms differ).
    pub fn is_idn(&self) -> bool {
        self.ascii != self.unicode
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DomainRefusal {
    Empty,
    Wildcard,
    SingleLabel(String),
    TooLong(usize),
    LabelTooLong { label: String, len: usize },
    BadCharacter { label: String },
    HyphenAtEdge { label: String },
    NumericTopLevel(String),
    NotConvertible(String),
}

impl fmt::Display for DomainRefusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DomainRefusal::Empty => write!(
                f,
                "Type the name the application will answer on, such as ph.example.com."
            ),
            DomainRefusal::Wildcard => write!(
                f,
                "A wildcard is not a name the application can answer on. Type the name itself \
                 (ph.example.com); a wildcard certificate that covers it can still be reused."
            ),
            DomainRefusal::SingleLabel(d) => write!(
                f,
                "'{d}' has no dot: give a fully qualified name such as ph.example.com."
            ),
            DomainRefusal::TooLong(n) => write!(
                f,
                "The name is {n} characters in DNS form; DNS allows 253 at most."
            ),
            DomainRefusal::LabelTooLong { label, len } => write!(
                f,
                "'{label}' is {len} characters; each part between dots may have 63 at most."
            ),
            DomainRefusal::BadCharacter { label } => write!(
                f,
                "'{label}' has a character DNS names cannot have: use letters, digits and \
                 hyphens between the dots."
            ),
            DomainRefusal::HyphenAtEdge { label } => write!(
                f,
                "'{label}' starts or ends with a hyphen, which DNS names cannot."
            ),
            DomainRefusal::NumericTopLevel(d) => write!(
                f,
                "'{d}' ends in a number: that is an IP address, not a domain name."
            ),
            DomainRefusal::NotConvertible(why) => write!(
                f,
                "The name cannot be written in DNS form ({why}); check its spelling."
            ),
        }
    }
}

/// Validates `input` as the application's domain.
pub fn parse_domain(input: &str) -> Result<Domain, DomainRefusal> {
    let typed = input.trim().trim_end_matches('.');
    if typed.is_empty() {
        return Err(DomainRefusal::Empty);
    }
    if typed.starts_with("*") || typed.contains("*") {
        return Err(DomainRefusal::Wildcard);
    }
    let ascii = idna::domain_to_ascii(typed)
        .map_err(|e| DomainRefusal::NotConvertible(format!("{e:?}")))?
        .to_ascii_lowercase();
    if ascii.len() > 253 {
        return Err(DomainRefusal::TooLong(ascii.len()));
    }
    let labels: Vec<&str> = ascii.split('.').collect();
    if labels.len() < 2 {
        return Err(DomainRefusal::SingleLabel(typed.to_string()));
    }
    for label in &labels {
        if label.len() > 63 {
            return Err(DomainRefusal::LabelTooLong {
                label: label.to_string(),
                len: label.len(),
            });
        }
        if label.is_empty() || !label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
            return Err(DomainRefusal::BadCharacter {
                label: label.to_string(),
            });
        }
        if label.starts_with('-') || label.ends_with('-') {
            return Err(DomainRefusal::HyphenAtEdge {
                label: label.to_string(),
            });
        }
    }
    if labels
        .last()
        .is_some_and(|tld| tld.chars().all(|c| c.is_ascii_digit()))
    {
        return Err(DomainRefusal::NumericTopLevel(typed.to_string()));
    }
    let (unicode, _) = idna::domain_to_unicode(&ascii);
    Ok(Domain { ascii, unicode })
}

/// The names a public hosted zone for `domain` could have, longest first
/// (`ph.shop.example.com` -> itself, `shop.example.com`, `example.com`);
/// a top-level domain alone is never one.
pub fn zone_candidates(domain: &Domain) -> Vec<String> {
    let labels: Vec<&str> = domain.ascii.split('.').collect();
    (0..labels.len().saturating_sub(1))
        .map(|i| labels[i..].join("."))
        .collect()
}

/// A certificate as the wizard weighs it for reuse.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertificateOffer {
    pub arn: String,
    /// The domain and every subject alternative name.
    pub names: Vec<String>,
    pub issued: bool,
    pub not_after: Option<SystemTime>,
}

/// How long a reused certificate must still be valid.
pub const REUSE_MARGIN: Duration = Duration::from_secs(30 * 24 * 3600);

/// Whether a certificate for `name` (exact, or a one-label wildcard)
/// covers `domain`.
pub fn covers(name: &str, domain: &str) -> bool {
    let name = name.trim_end_matches('.').to_ascii_lowercase();
    match name.strip_prefix("*.") {
        Some(parent) => domain
            .split_once('.')
            .is_some_and(|(_, rest)| rest == parent),
        None => name == domain,
    }
}

/// The certificates the operator may reuse for `domain`: issued, covering
/// it, and valid for at least [`REUSE_MARGIN`] after `now`.
pub fn reusable<'a>(
    offers: &'a [CertificateOffer],
    domain: &Domain,
    now: SystemTime,
) -> Vec<&'a CertificateOffer> {
    offers
        .iter()
        .filter(|c| c.issued)
        .filter(|c| c.names.iter().any(|n| covers(n, &domain.ascii)))
        .filter(|c| c.not_after.is_some_and(|t| t > now + REUSE_MARGIN))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn domains_are_accepted_or_refused_with_the_reason() {
        let cases: &[(&str, Result<&str, &str>)] = &[
            ("ph.example.com", Ok("ph.example.com")),
            ("  PH.Example.COM. ", Ok("ph.example.com")),
            ("shop-1.eu.example.co.uk", Ok("shop-1.eu.example.co.uk")),
            ("", Err("Type the name")),
            ("*.example.com", Err("wildcard")),
            ("localhost", Err("no dot")),
            ("-ph.example.com", Err("hyphen")),
            ("ph_1.example.com", Err("character")),
            ("ph..example.com", Err("character")),
            ("10.0.0.1", Err("IP address")),
        ];
        for (input, want) in cases {
            match (parse_domain(input), want) {
                (Ok(d), Ok(ascii)) => assert_eq!(d.ascii, *ascii, "{input}"),
                (Err(e), Err(says)) => assert!(e.to_string().contains(says), "{input}: {e}"),
                (got, want) => panic!("{input}: got {got:?}, wanted {want:?}"),
            }
        }
        let long_label = format!("{}.example.com", "a".repeat(64));
        assert!(matches!(
            parse_domain(&long_label),
            Err(DomainRefusal::LabelTooLong { len: 64, .. })
        ));
        let long = format!("{}.com", vec!["a".repeat(60); 5].join("."));
        assert!(matches!(
            parse_domain(&long),
            Err(DomainRefusal::TooLong(_))
        ));
    }

    #[test]
    fn an_internationalised_name_is_kept_in_both_forms() {
        let d = parse_domain("shop.bücher.example").unwrap();
        assert_eq!(d.ascii, "shop.xn--bcher-kva.example");
        assert_eq!(d.unicode, "shop.bücher.example");
        assert!(d.is_idn());
        assert!(!parse_domain("ph.example.com").unwrap().is_idn());
    }

    #[test]
    fn zones_are_tried_from_the_longest_suffix_and_never_the_top_level_domain() {
        let d = parse_domain("ph.shop.example.com").unwrap();
        assert_eq!(
            zone_candidates(&d),
            ["ph.shop.example.com", "shop.example.com", "example.com"]
        );
    }

    #[test]
    fn only_issued_covering_certificates_valid_for_a_month_are_offered() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        let days = |n: u64| Some(now + Duration::from_secs(n * 24 * 3600));
        let offer = |arn: &str, names: &[&str], issued: bool, not_after| CertificateOffer {
            arn: arn.into(),
            names: names.iter().map(|s| s.to_string()).collect(),
            issued,
            not_after,
        };
        let offers = vec![
            offer("wild", &["*.example.com"], true, days(200)),
            offer("exact", &["ph.example.com"], true, days(90)),
            offer("expiring", &["ph.example.com"], true, days(10)),
            offer("pending", &["ph.example.com"], false, days(300)),
            offer("deeper", &["*.shop.example.com"], true, days(300)),
            offer("apex", &["example.com"], true, days(300)),
        ];
        let d = parse_domain("ph.example.com").unwrap();
        let arns: Vec<&str> = reusable(&offers, &d, now)
            .iter()
            .map(|c| c.arn.as_str())
            .collect();
        assert_eq!(arns, ["wild", "exact"]);
        assert!(
            !covers("*.example.com", "a.b.example.com"),
            "one label only"
        );
    }
}
