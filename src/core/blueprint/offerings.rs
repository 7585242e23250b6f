//! Whether every instance type a sizing profile names is offered in the
//! region: what to ask each service (read from the profile and the engine
//! versions the templates pin), and the judgement on the answers.

use std::collections::BTreeMap;

use serde_json::Value;

use super::Blueprint;
use super::sizing::Profile;
use crate::core::doctor::Check;

/// Sizing keys whose value is an EC2 instance type.
pub const EC2_KEYS: &[&str] = &["node_instance_type", "app_instance_type"];

/// What one profile asks of the services, for `az_count` zones.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SizedTypes {
    /// EC2 types (EKS nodes, the app instance).
    pub ec2: Vec<String>,
    /// RDS: the engine and version the database template pins, and the class.
    pub db: (String, String, String),
    /// OpenSearch Service: the engine version and the data (and dedicated
    /// master, when the profile has masters) instance types.
    pub search: (String, Vec<String>),
    /// ElastiCache node type.
    pub cache: String,
    /// MSK broker type: no AWS API lists them per region.
    pub msk: String,
}

/// A template property of the first resource of `rtype`, as text.
fn pinned(bp: &Blueprint, rtype: &str, property: &str) -> Option<String> {
    bp.templates.values().find_map(|t| {
        let resources = t.body.get("Resources")?.as_object()?;
        resources.values().find_map(|r| {
            (r.get("Type")?.as_str()? == rtype)
                .then(|| r.get("Properties")?.get(property))
                .flatten()
                .and_then(Value::as_str)
                .map(str::to_string)
        })
    })
}

/// What `profile` asks for. `Err` names a key or pin the blueprint lacks.
pub fn sized_types(bp: &Blueprint, profile: &Profile, az_count: u8) -> Result<SizedTypes, String> {
    let get = |key: &str| {
        profile
            .value(key, az_count)
            .ok_or_else(|| format!("the sizing profile has no {key}"))
    };
    let pin = |rtype: &str, prop: &str| {
        pinned(bp, rtype, prop).ok_or_else(|| format!("no template pins {rtype} {prop}"))
    };
    let mut ec2 = Vec::new();
    for key in EC2_KEYS {
        let t = get(key)?;
        if !ec2.contains(&t) {
            ec2.push(t);
        }
    }
    let mut search = vec![get("search_instance_type")?];
    let masters: u32 = get("search_dedicated_master_count")?.parse().unwrap_or(0);
    let master_type = get("search_dedicated_master_type")?;
    if masters > 0 && !search.contains(&master_type) {
        search.push(master_type);
    }
    Ok(SizedTypes {
        ec2,
        db: (
            pin("AWS::RDS::DBInstance", "Engine")?,
            pin("AWS::RDS::DBInstance", "EngineVersion")?,
            get("db_instance_class")?,
        ),
        search: (
            pin("AWS::OpenSearchService::Domain", "EngineVersion")?,
            search,
        ),
        cache: get("cache_node_type")?,
        msk: get("msk_broker_instance_type")?,
    })
}

/// What the region's services said about the types asked for.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Offered {
    /// EC2 types the region offers, of those asked.
    pub ec2: Vec<String>,
    pub db_class: bool,
    /// OpenSearch types offered for the engine version.
    pub search: Vec<String>,
    /// ElastiCache: whether the node type has reserved-node offerings in
    /// the region, the only per-region listing of node types AWS has.
    pub cache_listed: bool,
}

/// One profile's verdict: what is missing (the install would fail), and
/// what could not be confirmed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Fit {
    pub missing: Vec<String>,
    pub unconfirmed: Vec<String>,
    /// The instance types of `missing`, to flag where they are shown.
    pub missing_types: Vec<String>,
}

pub fn fit(asked: &SizedTypes, offered: &Offered, region: &str) -> Fit {
    let mut f = Fit::default();
    for t in &asked.ec2 {
        if !offered.ec2.contains(t) {
            f.missing
                .push(format!("EC2 does not offer {t} in {region}"));
            f.missing_types.push(t.clone());
        }
    }
    let (engine, version, class) = &asked.db;
    if !offered.db_class {
        f.missing.push(format!(
            "RDS cannot create a {class} instance of {engine} {version} in {region}"
        ));
        f.missing_types.push(class.clone());
    }
    let (search_version, types) = &asked.search;
    for t in types {
        if !offered.search.contains(t) {
            f.missing.push(format!(
                "OpenSearch Service does not offer {t} for {search_version} in {region}"
            ));
            f.missing_types.push(t.clone());
        }
    }
    if !offered.cache_listed {
        f.unconfirmed.push(format!(
            "ElastiCache lists no reserved offering of {} in {region}; AWS has no other \
             per-region list of node types, so it could not be confirmed",
            asked.cache
        ));
    }
    f
}

/// The `sizing` check over every profile: `chosen` (the saved answer, if
/// any) must fit; another profile that does not is a warning, so the
/// operator knows before choosing it.
pub fn sizing_check(fits: &BTreeMap<String, Fit>, chosen: Option<&str>, region: &str) -> Check {
    const ID: &str = "sizing";
    let unfit: Vec<&String> = fits
        .iter()
        .filter(|(_, f)| !f.missing.is_empty())
        .map(|(n, _)| n)
        .collect();
    let mut details = Vec::new();
    for (name, f) in fits {
        for m in &f.missing {
            details.push(format!("{name}: {m}."));
        }
        for u in &f.unconfirmed {
            details.push(format!("{name}: {u}."));
        }
    }
    details.push(
        "MSK broker types are not checked: AWS has no API that lists them per region.".to_string(),
    );
    let names: Vec<&str> = fits.keys().map(String::as_str).collect();
    let check = match chosen {
        Some(c) if unfit.iter().any(|u| u.as_str() == c) => Check::fail(
            ID,
            format!("The chosen profile {c} names types {region} does not offer."),
            "Choose another profile in the wizard, or another region; the details name each \
             type.",
        ),
        _ if unfit.is_empty() => {
            let unconfirmed = fits.values().any(|f| !f.unconfirmed.is_empty());
            let summary = format!(
                "Every instance type of the profiles ({}) is offered in {region}.",
                names.join(", ")
            );
            if unconfirmed {
                Check::warn(
                    ID,
                    summary,
                    "The types the details name could not be confirmed; the install may still \
                     succeed.",
                )
            } else {
                Check::pass(ID, summary)
            }
        }
        _ => Check::warn(
            ID,
            format!(
                "{} cannot be installed in {region}: a type it names is not offered.",
                unfit
                    .iter()
                    .map(|s| s.as_str())
                    .collect::<Vec<_>>()
                    .join(" and ")
            ),
            "Choose a profile the details do not name, or another region.",
        ),
    };
    details.into_iter().fold(check, Check::detail)
}

/// The EKS add-ons the templates configure: (the Kubernetes version
/// eks.yaml pins by default, [(add-on, the top-level settings its
/// ConfigurationValues use)]).
pub fn addon_configurations(bp: &Blueprint) -> (String, Vec<(String, Vec<String>)>) {
    let mut version = String::new();
    let mut addons = Vec::new();
    for t in bp.templates.values() {
        if let Some(v) = t
            .body
            .pointer("/Parameters/KubernetesVersion/Default")
            .and_then(Value::as_str)
        {
            version = v.to_string();
        }
        let Some(resources) = t.body.get("Resources").and_then(Value::as_object) else {
            continue;
        };
        for r in resources.values() {
            if r.get("Type").and_then(Value::as_str) != Some("AWS::EKS::Addon") {
                continue;
            }
            let props = &r["Properties"];
            let Some(name) = props.get("AddonName").and_then(Value::as_str) else {
                continue;
            };
            let text = match props.get("ConfigurationValues") {
                Some(Value::String(s)) => Some(s.clone()),
                Some(v) => v.get("Fn::Sub").and_then(Value::as_str).map(str::to_string),
                None => None,
            };
            let keys = text
                .map(|t| without_substitutions(&t))
                .and_then(|t| serde_json::from_str::<Value>(&t).ok())
                .and_then(|v| v.as_object().map(|o| o.keys().cloned().collect()))
                .unwrap_or_default();
            addons.push((name.to_string(), keys));
        }
    }
    (version, addons)
}

/// `text` with every `${...}` of an Fn::Sub replaced by a plain word.
fn without_substitutions(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        match rest[start..].find('}') {
            Some(end) => {
                out.push('x');
                rest = &rest[start + end + 1..];
            }
            None => {
                rest = &rest[start..];
                break;
            }
        }
    }
    out.push_str(rest);
    out
}

/// An add-on's default version and the settings it accepts; `None` when
/// EKS has no such add-on for the Kubernetes version.
pub type AddonFound = Option<(String, Vec<String>)>;

/// The `eks-addons` check: every setting the templates give an add-on is one
/// the add-on's default version accepts, or CreateAddon fails ("is not
/// defined in the schema") after the cluster and its nodes exist.
/// `found` holds, per add-on, (its default version, its settings) or `None`
/// when EKS has no such add-on for the Kubernetes version.
pub fn addon_check(
    kubernetes_version: &str,
    wanted: &[(String, Vec<String>)],
    found: &[(String, AddonFound)],
    region: &str,
) -> Check {
    const ID: &str = "eks-addons";
    let mut problems = Vec::new();
    let mut fine = Vec::new();
    for (addon, keys) in wanted {
        match found
            .iter()
            .find(|(a, _)| a == addon)
            .and_then(|(_, f)| f.as_ref())
        {
            None => problems.push(format!(
                "EKS in {region} has no {addon} add-on for Kubernetes {kubernetes_version}"
            )),
            Some((version, accepted)) => {
                let refused: Vec<&str> = keys
                    .iter()
                    .filter(|k| !accepted.contains(k))
                    .map(String::as_str)
                    .collect();
                if refused.is_empty() {
                    fine.push(format!("{addon} {version}"));
                } else {
                    problems.push(format!(
                        "{addon} {version} does not accept the setting{} {} that eks.yaml gives it",
                        if refused.len() == 1 { "" } else { "s" },
                        refused.join(", ")
                    ));
                }
            }
        }
    }
    if problems.is_empty() {
        return Check::pass(
            ID,
            format!(
                "The EKS add-ons accept the templates' settings for Kubernetes \
                 {kubernetes_version}: {}.",
                fine.join(", ")
            ),
        );
    }
    let check = Check::fail(
        ID,
        format!(
            "The eks stack would fail in {region} after its cluster and nodes exist: {}.",
            problems.join("; ")
        ),
        "This build's templates need an add-on setting EKS does not take here. Report it with \
         this output; an install would stop at the eks stack. (The EBS CSI driver's \
         storageClasses setting is what makes its volumes use the cluster key.)",
    );
    fine.into_iter()
        .fold(check, |c, f| c.detail(format!("Accepted: {f}.")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::doctor::CheckStatus;

    fn bp() -> Blueprint {
        Blueprint::embedded().unwrap()
    }

    fn everything(asked: &SizedTypes) -> Offered {
        Offered {
            ec2: asked.ec2.clone(),
            db_class: true,
            search: asked.search.1.clone(),
            cache_listed: true,
        }
    }

    #[test]
    fn a_profile_asks_for_its_types_and_the_engine_versions_the_templates_pin() {
        let bp = bp();
        let prod = sized_types(&bp, &bp.sizing.profiles["production"], 3).unwrap();
        assert_eq!(prod.db.0, "postgres");
        assert!(prod.db.1.starts_with("17."), "{:?}", prod.db);
        assert!(
            prod.search.0.starts_with("OpenSearch_"),
            "{:?}",
            prod.search
        );
        // Production has dedicated masters, of another type than the data nodes.
        assert_eq!(prod.search.1.len(), 2, "{:?}", prod.search);
        let eval = sized_types(&bp, &bp.sizing.profiles["evaluation"], 2).unwrap();
        assert_eq!(eval.search.1.len(), 1, "no masters: {:?}", eval.search);
        assert!(
            eval.ec2.iter().all(|t| !t.ends_with(".search")),
            "{:?}",
            eval.ec2
        );
    }

    #[test]
    fn a_missing_type_is_named_with_its_service_and_region() {
        let bp = bp();
        let asked = sized_types(&bp, &bp.sizing.profiles["large"], 3).unwrap();
        let mut offered = everything(&asked);
        assert_eq!(fit(&asked, &offered, "eu-west-1"), Fit::default());
        offered.search.clear();
        offered.db_class = false;
        let f = fit(&asked, &offered, "eu-west-1");
        assert!(
            f.missing
                .iter()
                .any(|m| m.starts_with("OpenSearch Service does not offer")
                    && m.ends_with("in eu-west-1")),
            "{f:?}"
        );
        assert!(f.missing.iter().any(|m| m.contains(&asked.db.2)), "{f:?}");
    }

    #[test]
    fn the_chosen_profile_must_fit_and_another_that_does_not_is_a_warning() {
        let mut fits = BTreeMap::new();
        fits.insert("evaluation".to_string(), Fit::default());
        fits.insert(
            "large".to_string(),
            Fit {
                missing: vec!["EC2 does not offer m7i.4xlarge in mx-central-1".into()],
                unconfirmed: vec![],
                missing_types: vec!["m7i.4xlarge".into()],
            },
        );
        let warn = sizing_check(&fits, None, "mx-central-1");
        assert_eq!(warn.status, CheckStatus::Warn);
        assert!(
            warn.summary.starts_with("large cannot be installed"),
            "{}",
            warn.summary
        );
        assert!(
            warn.details.iter().any(|d| d.contains("m7i.4xlarge")),
            "{warn:?}"
        );
        let chosen = sizing_check(&fits, Some("large"), "mx-central-1");
        assert_eq!(chosen.status, CheckStatus::Fail);
        let fine = sizing_check(&fits, Some("evaluation"), "mx-central-1");
        assert_eq!(fine.status, CheckStatus::Warn, "large still does not fit");
        fits.remove("large");
        assert_eq!(sizing_check(&fits, None, "x").status, CheckStatus::Pass);
    }

    #[test]
    fn the_ebs_csi_drivers_settings_are_read_from_eks_yaml() {
        let (version, addons) = addon_configurations(&bp());
        assert!(version.starts_with("1."), "{version}");
        let csi = addons
            .iter()
            .find(|(a, _)| a == "aws-ebs-csi-driver")
            .expect("eks.yaml configures the EBS CSI driver");
        assert!(csi.1.contains(&"storageClasses".to_string()), "{csi:?}");
    }

    #[test]
    fn an_add_on_setting_eks_does_not_accept_fails_naming_it_before_anything_is_created() {
        let wanted = vec![(
            "aws-ebs-csi-driver".to_string(),
            vec!["controller".to_string(), "storageClasses".to_string()],
        )];
        let accepts = |keys: &[&str]| {
            vec![(
                "aws-ebs-csi-driver".to_string(),
                Some((
                    "v1.40.0-eksbuild.1".to_string(),
                    keys.iter().map(|k| k.to_string()).collect(),
                )),
            )]
        };
        let ok = addon_check(
            "1.34",
            &wanted,
            &accepts(&["controller", "storageClasses"]),
            "x",
        );
        assert_eq!(ok.status, CheckStatus::Pass, "{ok:?}");
        let bad = addon_check("1.34", &wanted, &accepts(&["controller"]), "eu-west-1");
        assert_eq!(bad.status, CheckStatus::Fail);
        assert!(
            bad.summary
                .contains("does not accept the setting storageClasses"),
            "{}",
            bad.summary
        );
        let none = addon_check(
            "1.34",
            &wanted,
            &[("aws-ebs-csi-driver".to_string(), None)],
            "eu-west-1",
        );
        assert!(
            none.summary.contains("has no aws-ebs-csi-driver add-on"),
            "{}",
            none.summary
        );
    }

    #[test]
    fn a_node_type_elasticache_does_not_list_is_unconfirmed_not_missing() {
        let bp = bp();
        let asked = sized_types(&bp, &bp.sizing.profiles["evaluation"], 2).unwrap();
        let offered = Offered {
            cache_listed: false,
            ..everything(&asked)
        };
        let f = fit(&asked, &offered, "ap-southeast-7");
        assert!(f.missing.is_empty(), "{f:?}");
        assert_eq!(f.unconfirmed.len(), 1);
        let mut fits = BTreeMap::new();
        fits.insert("evaluation".to_string(), f);
        assert_eq!(
            sizing_check(&fits, Some("evaluation"), "ap-southeast-7").status,
            CheckStatus::Warn
        );
    }
}
