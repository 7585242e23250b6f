//! Region rules: which partition a region code belongs to, whether the
//! installer may use it, and the sentence a person reads when it may not.
//!
//! Only the commercial partition (`aws`) is allowed. The isolated and
//! sovereign prefixes are checked before the commercial pattern because
//! `us-gov-` and `us-iso` also begin with `us-`.

use std::fmt;

use serde::{Deserialize, Serialize};

/// A validated commercial region code such as `eu-west-1`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct RegionCode(String);

impl RegionCode {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for RegionCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for RegionCode {
    type Error = RegionRefusal;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        parse_region(&value)
    }
}

impl From<RegionCode> for String {
    fn from(value: RegionCode) -> Self {
        value.0
    }
}

impl std::str::FromStr for RegionCode {
    type Err = RegionRefusal;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        parse_region(s)
    }
}

/// The AWS partitions, as the SDKs' partition metadata names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Partition {
    Aws,
    China,
    GovCloud,
    Iso,
    IsoB,
    IsoE,
    IsoF,
    Eusc,
}

impl Partition {
    /// The partition id used in ARNs (`arn:<id>:...`).
    pub fn id(self) -> &'static str {
        match self {
            Partition::Aws => "aws",
            Partition::China => "aws-cn",
            Partition::GovCloud => "aws-us-gov",
            Partition::Iso => "aws-iso",
            Partition::IsoB => "aws-iso-b",
            Partition::IsoE => "aws-iso-e",
            Partition::IsoF => "aws-iso-f",
            Partition::Eusc => "aws-eusc",
        }
    }

    /// What the partition is, for a sentence a person reads.
    pub fn description(self) -> &'static str {
        match self {
            Partition::Aws => "the commercial AWS partition",
            Partition::China => {
                "an AWS China region (partition aws-cn), operated separately by Sinnet and NWCD"
            }
            Partition::GovCloud => "an AWS GovCloud (US) region (partition aws-us-gov)",
            Partition::Iso => {
                "an AWS isolated region for US classified workloads (partition aws-iso)"
            }
            Partition::IsoB => {
                "an AWS isolated region for US classified workloads (partition aws-iso-b)"
            }
            Partition::IsoE => "an AWS isolated region in Europe (partition aws-iso-e)",
            Partition::IsoF => {
                "an AWS isolated region for US classified workloads (partition aws-iso-f)"
            }
            Partition::Eusc => "an AWS European Sovereign Cloud region (partition aws-eusc)",
        }
    }
}

/// Prefixes of the non-commercial partitions, most specific first.
const ISOLATED_PREFIXES: &[(&str, Partition)] = &[
    ("us-gov-", Partition::GovCloud),
    ("us-isob-", Partition::IsoB),
    ("us-isof-", Partition::IsoF),
    ("us-iso-", Partition::Iso),
    ("eu-isoe-", Partition::IsoE),
    ("eusc-", Partition::Eusc),
    ("cn-", Partition::China),
];

/// First segments of commercial region codes.
const COMMERCIAL_PREFIXES: &[&str] = &["us", "eu", "ap", "sa", "ca", "me", "af", "il", "mx"];

/// Why a region code cannot be used. `Display` is the sentence shown.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RegionRefusal {
    Empty,
    /// An availability zone (`us-east-1a`) was given where a region belongs.
    AvailabilityZone {
        input: String,
        region: String,
    },
    NonCommercial {
        code: String,
        partition: Partition,
    },
    Unknown {
        input: String,
    },
    NotOptedIn {
        code: String,
        name: Option<String>,
    },
    /// The code has a commercial shape but the account does not list it.
    NotInAccount {
        code: String,
    },
}

impl fmt::Display for RegionRefusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RegionRefusal::Empty => write!(
                f,
                "No region was given. Name a commercial AWS region such as us-east-1 \
                 (run `ph-installer regions` to list them)."
            ),
            RegionRefusal::AvailabilityZone { input, region } => write!(
                f,
                "'{input}' is an availability zone, not a region. Use the region {region}."
            ),
            RegionRefusal::NonCommercial { code, partition } => write!(
                f,
                "Region {code} is refused: it is {}. PersonalisationHub installs only into \
                 commercial AWS regions (partition aws); run `ph-installer regions` to list them.",
                partition.description()
            ),
            RegionRefusal::Unknown { input } => write!(
                f,
                "'{input}' is not an AWS region code. Region codes look like us-east-1 or \
                 eu-central-2; run `ph-installer regions` to list the commercial regions."
            ),
            RegionRefusal::NotOptedIn { code, name } => {
                let label = match name {
                    Some(n) => format!("{code} ({n})"),
                    None => code.clone(),
                };
                write!(
                    f,
                    "Region {label} is an opt-in region that this account has not enabled. \
                     Enable it in the AWS console under Account > AWS Regions, or run \
                     `aws account enable-region --region-name {code}`; wait until it shows \
                     Enabled (minutes, sometimes hours), then run the installer again."
                )
            }
            RegionRefusal::NotInAccount { code } => write!(
                f,
                "Region {code} looks like a commercial region but this account does not list \
                 it. Check the spelling, or run `ph-installer regions` to see the regions \
                 available to this account."
            ),
        }
    }
}

impl std::error::Error for RegionRefusal {}

/// Which partition a code belongs to, or `None` when it matches no known
/// region pattern at all.
pub fn partition_of(code: &str) -> Option<Partition> {
    for (prefix, partition) in ISOLATED_PREFIXES {
        if let Some(mut rest) = code.strip_prefix(prefix) {
            if *partition == Partition::Eusc {
                // eusc-<country>-<name>-<n>, e.g. eusc-de-east-1.
                match rest.split_once('-') {
                    Some((country, tail)) if country.len() == 2 => rest = tail,
                    _ => return None,
                }
            }
            return region_tail_ok(rest).then_some(*partition);
        }
    }
    let (first, rest) = code.split_once('-')?;
    (COMMERCIAL_PREFIXES.contains(&first) && region_tail_ok(rest)).then_some(Partition::Aws)
}

/// The partition outside the commercial one whose codes `text` starts
/// (`us-gov`, `cn`, `us-iso-e`...): for a code typed only in part.
pub fn isolated_partition_of_prefix(text: &str) -> Option<Partition> {
    let text = text.trim().to_ascii_lowercase();
    ISOLATED_PREFIXES
        .iter()
        .find(|(prefix, _)| text.starts_with(prefix.trim_end_matches('-')))
        .map(|(_, partition)| *partition)
}

/// `\w+-\d+`: a name of word characters, a dash, then digits.
fn region_tail_ok(rest: &str) -> bool {
    let Some((name, number)) = rest.rsplit_once('-') else {
        return false;
    };
    let name_ok = !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    let number_ok = !number.is_empty() && number.chars().all(|c| c.is_ascii_digit());
    name_ok && number_ok
}

/// Parses what a person typed (flag, env, profile, answers file, wizard)
/// into a commercial region code, or the reason it is refused. Surrounding
/// spaces and upper case are forgiven.
pub fn parse_region(input: &str) -> Result<RegionCode, RegionRefusal> {
    let code = input.trim().to_ascii_lowercase();
    if code.is_empty() {
        return Err(RegionRefusal::Empty);
    }
    match partition_of(&code) {
        Some(Partition::Aws) => Ok(RegionCode(code)),
        Some(partition) => Err(RegionRefusal::NonCommercial { code, partition }),
        None => {
            // `us-east-1a` or `use1-az1`-style zone names: point at the region.
            let trimmed = code.trim_end_matches(|c: char| c.is_ascii_lowercase());
            if trimmed.len() < code.len() && partition_of(trimmed) == Some(Partition::Aws) {
                return Err(RegionRefusal::AvailabilityZone {
                    input: input.trim().to_string(),
                    region: trimmed.to_string(),
                });
            }
            Err(RegionRefusal::Unknown {
                input: input.trim().to_string(),
            })
        }
    }
}

/// Whether the account has enabled a region, as DescribeRegions reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum OptInStatus {
    OptInNotRequired,
    OptedIn,
    NotOptedIn,
}

impl OptInStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            OptInStatus::OptInNotRequired => "opt-in-not-required",
            OptInStatus::OptedIn => "opted-in",
            OptInStatus::NotOptedIn => "not-opted-in",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "opt-in-not-required" => Some(OptInStatus::OptInNotRequired),
            "opted-in" => Some(OptInStatus::OptedIn),
            "not-opted-in" => Some(OptInStatus::NotOptedIn),
            _ => None,
        }
    }

    pub fn usable(self) -> bool {
        self != OptInStatus::NotOptedIn
    }
}

/// Refuses a region the account has not opted in to.
pub fn check_opt_in(
    code: &RegionCode,
    status: OptInStatus,
    name: Option<&str>,
) -> Result<(), RegionRefusal> {
    if status.usable() {
        Ok(())
    } else {
        Err(RegionRefusal::NotOptedIn {
            code: code.to_string(),
            name: name.map(str::to_string),
        })
    }
}

/// Where the region in use came from, in precedence order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case", tag = "kind", content = "detail")]
pub enum RegionSource {
    /// `--region` on the command line.
    Flag,
    /// `AWS_REGION` or `AWS_DEFAULT_REGION` (the variable's name).
    Environment(String),
    /// The `region` setting of a shared-config profile (the profile's name).
    Profile(String),
    /// The instance metadata service of the EC2 instance this runs on.
    InstanceMetadata,
    /// The installer's saved answers.
    Answers,
    /// The sandbox account's home region.
    Sandbox,
}

impl fmt::Display for RegionSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RegionSource::Flag => write!(f, "the --region flag"),
            RegionSource::Environment(var) => write!(f, "the {var} environment variable"),
            RegionSource::Profile(p) => write!(f, "the region setting of AWS profile '{p}'"),
            RegionSource::InstanceMetadata => {
                write!(f, "this EC2 instance's metadata (its own region)")
            }
            RegionSource::Answers => write!(f, "the saved answers (config.toml)"),
            RegionSource::Sandbox => write!(f, "the sandbox account's default"),
        }
    }
}

/// One candidate region value and where it came from.
#[derive(Debug, Clone)]
pub struct RegionCandidate {
    pub value: String,
    pub source: RegionSource,
}

/// The outcome of region resolution.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolvedRegion {
    pub code: RegionCode,
    pub source: RegionSource,
}

/// Why no region could be settled on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RegionResolutionError {
    /// The highest-precedence value given was refused.
    Refused {
        source: RegionSource,
        refusal: RegionRefusal,
    },
    /// Nothing named a region.
    NoneFound,
}

impl fmt::Display for RegionResolutionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RegionResolutionError::Refused { source, refusal } => {
                write!(f, "{refusal} (The region came from {source}.)")
            }
            RegionResolutionError::NoneFound => write!(
                f,
                "No AWS region is set. Pass --region (for example --region eu-west-1), set \
                 AWS_REGION, or add `region = ...` to your AWS profile. On an EC2 instance the \
                 installer uses the instance's own region when its metadata is reachable."
            ),
        }
    }
}

impl std::error::Error for RegionResolutionError {}

/// Picks the region by precedence: the first candidate wins (callers pass
/// them as flag, environment or profile, instance metadata). A refused
/// first choice is an error, never silently skipped in favour of a lower one:
/// the operator asked for it.
pub fn resolve_region(
    candidates: impl IntoIterator<Item = RegionCandidate>,
) -> Result<ResolvedRegion, RegionResolutionError> {
    let first = candidates
        .into_iter()
        .find(|c| !c.value.trim().is_empty())
        .ok_or(RegionResolutionError::NoneFound)?;
    match parse_region(&first.value) {
        Ok(code) => Ok(ResolvedRegion {
            code,
            source: first.source,
        }),
        Err(refusal) => Err(RegionResolutionError::Refused {
            source: first.source,
            refusal,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const COMMERCIAL: &[&str] = &[
        "us-east-1",
        "us-east-2",
        "us-west-1",
        "us-west-2",
        "ca-central-1",
        "ca-west-1",
        "mx-central-1",
        "sa-east-1",
        "eu-west-1",
        "eu-west-2",
        "eu-west-3",
        "eu-central-1",
        "eu-central-2",
        "eu-north-1",
        "eu-south-1",
        "eu-south-2",
        "af-south-1",
        "me-south-1",
        "me-central-1",
        "il-central-1",
        "ap-east-1",
        "ap-east-2",
        "ap-south-1",
        "ap-south-2",
        "ap-northeast-1",
        "ap-northeast-2",
        "ap-northeast-3",
        "ap-southeast-1",
        "ap-southeast-2",
        "ap-southeast-3",
        "ap-southeast-4",
        "ap-southeast-5",
        "ap-southeast-6",
        "ap-southeast-7",
    ];

    #[test]
    fn every_commercial_region_is_accepted() {
        assert_eq!(COMMERCIAL.len(), 34);
        for code in COMMERCIAL {
            let parsed = parse_region(code).unwrap_or_else(|e| panic!("{code}: {e}"));
            assert_eq!(parsed.as_str(), *code);
        }
    }

    #[test]
    fn future_commercial_regions_are_accepted_by_shape() {
        for code in ["eu-west-9", "ap-southeast-12", "us-central-1", "af-north-1"] {
            assert!(parse_region(code).is_ok(), "{code}");
        }
    }

    #[test]
    fn non_commercial_partitions_are_refused_naming_the_partition() {
        let cases = [
            ("us-gov-west-1", Partition::GovCloud, "GovCloud"),
            ("us-gov-east-1", Partition::GovCloud, "GovCloud"),
            ("cn-north-1", Partition::China, "China"),
            ("cn-northwest-1", Partition::China, "China"),
            ("us-iso-east-1", Partition::Iso, "aws-iso)"),
            ("us-isob-east-1", Partition::IsoB, "aws-iso-b"),
            ("eu-isoe-west-1", Partition::IsoE, "aws-iso-e"),
            ("us-isof-south-1", Partition::IsoF, "aws-iso-f"),
            (
                "eusc-de-east-1",
                Partition::Eusc,
                "European Sovereign Cloud",
            ),
        ];
        for (code, partition, words) in cases {
            let err = parse_region(code).unwrap_err();
            assert_eq!(
                err,
                RegionRefusal::NonCommercial {
                    code: code.into(),
                    partition
                }
            );
            let msg = err.to_string();
            assert!(msg.contains(code) && msg.contains(words), "{msg}");
            assert!(msg.contains("commercial"), "{msg}");
        }
    }

    #[test]
    fn unknown_codes_are_refused_as_not_a_region() {
        for input in [
            "mars-east-1",
            "us-east",
            "useast1",
            "us_east_1",
            "us-east-x",
            "-1",
            "eu-west-1-2",
        ] {
            let err = parse_region(input).unwrap_err();
            assert!(
                matches!(err, RegionRefusal::Unknown { .. }),
                "{input}: {err:?}"
            );
            assert!(err.to_string().contains(input));
        }
    }

    #[test]
    fn an_availability_zone_points_at_its_region() {
        let err = parse_region("eu-west-1b").unwrap_err();
        assert_eq!(
            err,
            RegionRefusal::AvailabilityZone {
                input: "eu-west-1b".into(),
                region: "eu-west-1".into()
            }
        );
        assert!(err.to_string().contains("Use the region eu-west-1"));
    }

    #[test]
    fn case_and_spaces_are_forgiven() {
        assert_eq!(parse_region("  EU-West-1 ").unwrap().as_str(), "eu-west-1");
    }

    #[test]
    fn empty_input_is_refused() {
        assert_eq!(parse_region("  "), Err(RegionRefusal::Empty));
    }

    #[test]
    fn not_opted_in_region_is_refused_with_how_to_enable_it() {
        let code = parse_region("ap-east-2").unwrap();
        let err = check_opt_in(&code, OptInStatus::NotOptedIn, Some("Taipei")).unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("ap-east-2 (Taipei)"), "{msg}");
        assert!(msg.contains("aws account enable-region --region-name ap-east-2"));
        assert!(check_opt_in(&code, OptInStatus::OptedIn, None).is_ok());
        assert!(check_opt_in(&code, OptInStatus::OptInNotRequired, None).is_ok());
    }

    #[test]
    fn flag_beats_environment_beats_metadata() {
        let c = |v: &str, s: RegionSource| RegionCandidate {
            value: v.into(),
            source: s,
        };
        let r = resolve_region([
            c("eu-west-1", RegionSource::Flag),
            c("us-east-1", RegionSource::Environment("AWS_REGION".into())),
            c("us-west-2", RegionSource::InstanceMetadata),
        ])
        .unwrap();
        assert_eq!(
            (r.code.as_str(), r.source),
            ("eu-west-1", RegionSource::Flag)
        );

        let r = resolve_region([
            c("", RegionSource::Flag),
            c("us-east-1", RegionSource::Environment("AWS_REGION".into())),
            c("us-west-2", RegionSource::InstanceMetadata),
        ])
        .unwrap();
        assert_eq!(r.code.as_str(), "us-east-1");
    }

    #[test]
    fn a_refused_first_choice_is_an_error_not_skipped() {
        let err = resolve_region([
            RegionCandidate {
                value: "cn-north-1".into(),
                source: RegionSource::Environment("AWS_REGION".into()),
            },
            RegionCandidate {
                value: "us-west-2".into(),
                source: RegionSource::InstanceMetadata,
            },
        ])
        .unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("China") && msg.contains("AWS_REGION"), "{msg}");
    }

    #[test]
    fn no_region_anywhere_says_how_to_set_one() {
        let err = resolve_region(Vec::new()).unwrap_err();
        assert_eq!(err, RegionResolutionError::NoneFound);
        assert!(err.to_string().contains("--region"));
    }

    #[test]
    fn region_code_deserializes_only_when_commercial() {
        #[derive(Deserialize)]
        struct A {
            region: RegionCode,
        }
        let ok: A = toml::from_str("region = \"eu-west-1\"").unwrap();
        assert_eq!(ok.region.as_str(), "eu-west-1");
        let err = toml::from_str::<A>("region = \"us-gov-west-1\"")
            .err()
            .unwrap();
        assert!(err.to_string().contains("GovCloud"), "{err}");
    }
}
