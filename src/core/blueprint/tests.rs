use std::collections::BTreeMap;

use super::manifest::Source;
use super::plan::{self, Inputs, Value};
use super::*;
use crate::core::secret::Secret;

fn zone(name: &str, id: &str) -> zones::OfferedZone {
    zones::OfferedZone {
        name: name.into(),
        zone_id: id.into(),
        available: true,
    }
}

fn two_zones() -> plan::Derived {
    plan::Derived {
        zones: zones::choose_zones(
            &[
                zone("eu-west-1a", "euw1-az1"),
                zone("eu-west-1b", "euw1-az2"),
            ],
            3,
        )
        .unwrap(),
        app_image_id: Some("ami-0123456789abcdef0".into()),
    }
}

fn blueprint() -> Blueprint {
    Blueprint::embedded().expect("the embedded blueprint parses")
}

#[test]
fn the_embedded_blueprint_wires_every_parameter_to_a_real_source() {
    let problems = blueprint().problems();
    assert!(
        problems.is_empty(),
        "blueprint problems:\n{}",
        problems.join("\n")
    );
}

#[test]
fn an_unwired_parameter_a_missing_output_and_a_leaked_secret_are_each_reported() {
    let mut bp = blueprint();
    let rds = bp
        .manifest
        .stacks
        .iter_mut()
        .find(|s| s.name == "rds")
        .unwrap();
    rds.parameters.remove("DbInstanceClass");
    rds.parameters.insert(
        "PrivateSubnetIds".into(),
        Source::Output {
            stack: "network".into(),
            output: "NoSuchOutput".into(),
        },
    );
    rds.parameters.insert(
        "DbMasterPassword".into(),
        Source::Answers("install_name".into()),
    );
    let cache = bp
        .manifest
        .stacks
        .iter_mut()
        .find(|s| s.name == "cache")
        .unwrap();
    cache.parameters.insert(
        "InstallName".into(),
        Source::Secret("redis_auth_token".into()),
    );
    let problems = bp.problems().join("\n");
    for expected in [
        "rds: template parameter DbInstanceClass is not wired",
        "rds: PrivateSubnetIds reads network.NoSuchOutput, which is not an output of network",
        "rds: NoEcho parameter DbMasterPassword must come from a secret",
        "cache: secret redis_auth_token goes to InstallName, which is not NoEcho",
    ] {
        assert!(
            problems.contains(expected),
            "missing {expected:?} in:\n{problems}"
        );
    }
}

#[test]
fn a_dependency_cycle_is_reported_with_the_stacks_in_it() {
    let mut bp = blueprint();
    bp.manifest
        .stacks
        .iter_mut()
        .find(|s| s.name == "network")
        .unwrap()
        .depends_on
        .push("edge".into());
    let err = plan::waves(&bp.manifest).unwrap_err();
    assert!(
        err.contains("cycle") && err.contains("network") && err.contains("edge"),
        "{err}"
    );
}

#[test]
fn independent_stacks_share_a_wave_and_edge_comes_after_the_app() {
    let waves = plan::waves(&blueprint().manifest).unwrap();
    let wave_of = |name: &str| {
        waves
            .iter()
            .position(|w| w.iter().any(|s| s == name))
            .unwrap()
    };
    assert_eq!(wave_of("network"), 0);
    assert_eq!(wave_of("security"), 0);
    for data in ["rds", "cache", "search", "msk"] {
        assert_eq!(
            wave_of(data),
            1,
            "{data} runs in parallel with the other data stacks"
        );
    }
    assert!(wave_of("edge") > wave_of("app"));
}

#[test]
fn every_template_fits_in_a_template_body() {
    for (file, text) in TEMPLATES {
        assert!(
            text.len() < TEMPLATE_BODY_LIMIT,
            "{file} is {} bytes; CloudFormation refuses TemplateBody over {TEMPLATE_BODY_LIMIT}",
            text.len()
        );
    }
}

#[test]
fn templates_use_long_form_intrinsics_that_any_yaml_parser_reads() {
    let short = [
        "!Ref",
        "!GetAtt",
        "!Sub",
        "!Join",
        "!If",
        "!Equals",
        "!Select",
        "!GetAZs",
        "!Split",
        "!FindInMap",
        "!Not",
        "!And",
        "!Or",
        "!Condition",
        "!Base64",
        "!Cidr",
        "!ImportValue",
    ];
    for (file, text) in TEMPLATES {
        for (n, line) in text.lines().enumerate() {
            let code = line.split(" #").next().unwrap_or(line);
            for tag in short {
                assert!(
                    !code.contains(&format!("{tag} ")) && !code.trim_end().ends_with(tag),
                    "stacks/{file}:{}: short-form {tag}; write the long form",
                    n + 1
                );
            }
        }
        assert!(
            template::TemplateSummary::parse(text).is_ok(),
            "{file} does not parse as YAML"
        );
    }
}

#[test]
fn every_profile_adapts_to_a_two_zone_region_with_valid_counts() {
    let bp = blueprint();
    assert!(
        bp.sizing.profiles.len() >= 3,
        "at least evaluation, production, large"
    );
    for (name, profile) in &bp.sizing.profiles {
        assert!(
            (2..=3).contains(&profile.max_az_count),
            "{name}: spans 2 or 3 zones"
        );
        for az in [2u8, 3] {
            let n = |k: &str| -> i64 {
                profile
                    .value(k, az)
                    .unwrap_or_else(|| panic!("{name} lacks {k}"))
                    .parse()
                    .unwrap()
            };
            assert_eq!(
                n("msk_broker_count") % i64::from(az),
                0,
                "{name}: MSK brokers vs {az} AZs"
            );
            assert!(
                n("node_min_size") <= n("node_desired_size")
                    && n("node_desired_size") <= n("node_max_size"),
                "{name}: node group min <= desired <= max at {az} AZs"
            );
        }
    }
}

#[test]
fn every_declared_secret_can_meet_its_own_character_rules() {
    use manifest::CharClass;
    for (name, spec) in &blueprint().manifest.secrets {
        assert!(spec.length >= 16, "{name} is too short");
        for class in &spec.require {
            let ok = spec.alphabet.chars().any(|c| match class {
                CharClass::Upper => c.is_ascii_uppercase(),
                CharClass::Lower => c.is_ascii_lowercase(),
                CharClass::Digit => c.is_ascii_digit(),
                CharClass::Special => !c.is_ascii_alphanumeric(),
            });
            assert!(ok, "{name} requires {class:?} but its alphabet has none");
        }
    }
}

#[test]
fn parameters_resolve_from_answers_sizing_secrets_and_outputs_or_say_what_is_missing() {
    let bp = blueprint();
    let rds = bp.manifest.stack("rds").unwrap();
    let answers = crate::core::answers::Answers {
        install_name: Some("demo".parse().unwrap()),
        ..Default::default()
    };
    let secrets = BTreeMap::from([(
        "db_master_password".to_string(),
        Secret::new("pw-0123456789abcdef".to_string()),
    )]);
    let profile = &bp.sizing.profiles["evaluation"];
    let no_outputs = BTreeMap::new();
    let derived = two_zones();
    let inputs = Inputs {
        answers: &answers,
        profile,
        derived: &derived,
        secrets: &secrets,
        outputs: &no_outputs,
    };
    let missing = plan::resolve(rds, &inputs).unwrap_err().join("\n");
    assert!(
        missing.contains("PrivateSubnetIds needs stack.network.PrivateSubnetIds"),
        "{missing}"
    );

    let outputs = BTreeMap::from([
        (
            "network".to_string(),
            BTreeMap::from([
                (
                    "PrivateSubnetIds".to_string(),
                    "subnet-a,subnet-b".to_string(),
                ),
                ("RdsSecurityGroupId".to_string(), "sg-1".to_string()),
            ]),
        ),
        (
            "security".to_string(),
            BTreeMap::from([("DataKeyArn".to_string(), "arn:aws:kms:key".to_string())]),
        ),
    ]);
    let inputs = Inputs {
        outputs: &outputs,
        ..inputs
    };
    let values = plan::resolve(rds, &inputs).unwrap();
    let get = |k: &str| values.iter().find(|v| v.key == k).map(|v| v.value.clone());
    assert_eq!(
        get("PrivateSubnetIds"),
        Some(Value::Plain("subnet-a,subnet-b".into()))
    );
    assert_eq!(get("InstallName"), Some(Value::Plain("demo".into())));
    assert!(matches!(get("DbMasterPassword"), Some(Value::Secret(_))));
    assert_eq!(
        get("DbMasterUsername"),
        None,
        "defaulted parameters are not passed"
    );
    assert!(
        !format!("{values:?}").contains("pw-0123456789abcdef"),
        "secrets stay redacted"
    );
}

/// Whether a resource's `Tags` (a list of Key/Value or a map) carry `key`.
fn has_tag(tags: &serde_json::Value, key: &str) -> bool {
    match tags {
        serde_json::Value::Array(items) => items.iter().any(|t| t["Key"] == key),
        serde_json::Value::Object(map) => map.contains_key(key),
        _ => false,
    }
}

#[test]
fn every_tagged_kind_of_resource_carries_the_install_tag_everywhere() {
    let bp = blueprint();
    // A resource type that takes tags somewhere must take them everywhere.
    let mut taggable = std::collections::BTreeSet::new();
    for t in bp.templates.values() {
        for r in t.body["Resources"].as_object().unwrap().values() {
            if r["Properties"].get("Tags").is_some() {
                taggable.insert(r["Type"].as_str().unwrap().to_string());
            }
        }
    }
    let mut untagged = Vec::new();
    for (file, t) in &bp.templates {
        for (id, r) in t.body["Resources"].as_object().unwrap() {
            let kind = r["Type"].as_str().unwrap();
            if taggable.contains(kind) && !has_tag(&r["Properties"]["Tags"], "ph:install") {
                untagged.push(format!("{file}: {id} ({kind})"));
            }
        }
    }
    assert!(
        untagged.is_empty(),
        "missing the ph:install tag:\n{}",
        untagged.join("\n")
    );
}

#[test]
fn no_output_metadata_or_tag_mentions_a_noecho_parameter() {
    for (file, t) in &blueprint().templates {
        let secret_params: Vec<&String> = t
            .parameters
            .iter()
            .filter(|(_, p)| p.no_echo)
            .map(|(n, _)| n)
            .collect();
        let mut places = vec![(
            "Outputs",
            t.body.get("Outputs").cloned().unwrap_or_default(),
        )];
        for r in t.body["Resources"].as_object().unwrap().values() {
            places.push(("Metadata", r.get("Metadata").cloned().unwrap_or_default()));
            places.push((
                "Tags",
                r["Properties"].get("Tags").cloned().unwrap_or_default(),
            ));
        }
        for (place, value) in places {
            let text = value.to_string();
            for p in &secret_params {
                assert!(
                    !text.contains(&format!("\"{p}\"")) && !text.contains(&format!("${{{p}}}")),
                    "{file}: NoEcho parameter {p} appears in {place}"
                );
            }
        }
    }
}

#[test]
fn every_lint_suppression_has_its_reason_written_next_to_it() {
    for (file, text) in TEMPLATES {
        let lines: Vec<&str> = text.lines().collect();
        for (n, line) in lines.iter().enumerate() {
            if !line.contains("ignore_checks") {
                continue;
            }
            let ids: Vec<&str> = lines[n + 1..]
                .iter()
                .map(|l| l.trim())
                .take_while(|l| l.starts_with("- "))
                .map(|l| l.trim_start_matches("- ").trim())
                .collect();
            assert!(
                !ids.is_empty(),
                "stacks/{file}:{}: empty ignore_checks",
                n + 1
            );
            let before = &lines[n.saturating_sub(10)..n];
            for id in ids {
                assert!(
                    before
                        .iter()
                        .any(|l| l.trim_start().starts_with('#') && l.contains(id)),
                    "stacks/{file}:{}: {id} is suppressed without a comment giving the reason",
                    n + 1
                );
            }
        }
    }
}

/// An EC2-style family (`m6g` in `m6g.large`) built on Graviton (ARM).
fn is_graviton(instance_type: &str) -> bool {
    let family = instance_type
        .trim_start_matches("db.")
        .trim_start_matches("cache.");
    let family = family.split('.').next().unwrap_or_default();
    family
        .trim_start_matches(|c: char| c.is_ascii_alphabetic())
        .trim_start_matches(|c: char| c.is_ascii_digit())
        .starts_with('g')
}

#[test]
fn every_sized_instance_type_meets_its_service_restrictions() {
    let bp = blueprint();
    for (name, profile) in &bp.sizing.profiles {
        let v = |k: &str| {
            profile
                .value(k, 3)
                .unwrap_or_else(|| panic!("{name} lacks {k}"))
        };
        for key in ["search_instance_type", "search_dedicated_master_type"] {
            let t = v(key);
            assert!(t.ends_with(".search"), "{name}.{key} = {t}");
            // T2 lacks encryption at rest; t3.small lacks fine-grained access control.
            assert!(
                !t.starts_with("t2.") && t != "t3.small.search",
                "{name}.{key} = {t} cannot meet the OpenSearch promises"
            );
        }
        assert!(
            v("msk_broker_instance_type").starts_with("kafka."),
            "{name}"
        );
        assert!(v("cache_node_type").starts_with("cache."), "{name}");
        assert!(v("db_instance_class").starts_with("db."), "{name}");
        // The EKS nodes run the x86_64 AL2023 image.
        assert!(
            !is_graviton(&v("node_instance_type")),
            "{name}: EKS node type must be x86_64"
        );
        let n = |k: &str| v(k).parse::<i64>().unwrap();
        assert!(
            n("db_allocated_storage") <= n("db_max_allocated_storage"),
            "{name}: RDS storage"
        );
    }
    assert!(
        is_graviton("m6g.large.search") && is_graviton("db.t4g.medium") && !is_graviton("t3.large")
    );
}

#[test]
fn redis_runs_an_engine_version_with_transit_encryption_and_auth() {
    let cache = template_text("cache.yaml").unwrap();
    let version = cache
        .lines()
        .find_map(|l| l.trim().strip_prefix("EngineVersion:"))
        .expect("cache.yaml pins EngineVersion")
        .trim()
        .trim_matches('"')
        .to_string();
    let major: u32 = version.split('.').next().unwrap().parse().unwrap();
    // In-transit encryption and AUTH need Redis OSS 4.0.10 or later.
    assert!(
        major >= 5,
        "Redis {version} is too old for in-transit encryption with AUTH"
    );
}

#[test]
fn every_template_refuses_the_install_names_the_installer_refuses() {
    use crate::core::install_name::{MAX_LEN, MIN_LEN, PATTERN};
    let bp = blueprint();
    let mut checked = 0;
    for (file, t) in &bp.templates {
        let Some(p) = t.body["Parameters"].get("InstallName") else {
            continue;
        };
        assert_eq!(p["AllowedPattern"], PATTERN, "{file}");
        assert_eq!(p["MinLength"], MIN_LEN as u64, "{file}");
        assert_eq!(p["MaxLength"], MAX_LEN as u64, "{file}");
        checked += 1;
    }
    // Every stack of the manifest takes the install name.
    assert_eq!(checked, bp.manifest.stacks.len());
}

/// A sized value against the template parameter's own constraints.
fn parameter_constraint_breaks(param: &serde_json::Value, value: &str) -> Vec<String> {
    let mut out = Vec::new();
    let text = |v: &serde_json::Value| match v {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    if let Some(allowed) = param.get("AllowedValues").and_then(|a| a.as_array())
        && !allowed.iter().any(|a| text(a) == value)
    {
        out.push(format!("{value} is not among {allowed:?}"));
    }
    let number = value.parse::<f64>();
    for (key, ok) in [
        (
            "MinValue",
            (|n: f64, b: f64| n >= b) as fn(f64, f64) -> bool,
        ),
        ("MaxValue", |n, b| n <= b),
    ] {
        if let Some(bound) = param.get(key).and_then(|b| text(b).parse::<f64>().ok()) {
            match number {
                Ok(n) if ok(n, bound) => {}
                _ => out.push(format!("{value} breaks {key} {bound}")),
            }
        }
    }
    for (key, ok) in [
        (
            "MinLength",
            (|n: usize, b: usize| n >= b) as fn(usize, usize) -> bool,
        ),
        ("MaxLength", |n, b| n <= b),
    ] {
        if let Some(bound) = param.get(key).and_then(|b| text(b).parse::<usize>().ok())
            && !ok(value.chars().count(), bound)
        {
            out.push(format!("{value} breaks {key} {bound}"));
        }
    }
    out
}

#[test]
fn every_sized_value_meets_its_template_parameter_constraints_at_two_and_three_zones() {
    let bp = blueprint();
    let mut checked = 0;
    let mut broken = Vec::new();
    for spec in &bp.manifest.stacks {
        let params = &bp.templates[&spec.template].body["Parameters"];
        for (param, source) in &spec.parameters {
            let Source::Sizing(key) = source else {
                continue;
            };
            for (profile_name, profile) in &bp.sizing.profiles {
                for az in [2u8, 3] {
                    let value = profile.value(key, az).unwrap();
                    for why in parameter_constraint_breaks(&params[param], &value) {
                        broken.push(format!("{profile_name} at {az} AZs: {param}: {why}"));
                    }
                    checked += 1;
                }
            }
        }
    }
    assert!(checked > 50, "only {checked} sized values were checked");
    assert!(broken.is_empty(), "{}", broken.join("\n"));
}

#[test]
fn zone_aware_counts_divide_by_the_zone_count() {
    // OpenSearch zone awareness and one-per-zone Redis replicas need counts
    // that spread evenly; a single node is the unreplicated evaluation case.
    for (name, profile) in &blueprint().sizing.profiles {
        for az in [2u8, 3] {
            for key in ["search_instance_count", "cache_node_count"] {
                let n: u32 = profile.value(key, az).unwrap().parse().unwrap();
                assert!(
                    n == 1 || n.is_multiple_of(u32::from(az)),
                    "{name}: {key} {n} at {az} AZs"
                );
            }
        }
    }
}

#[test]
fn a_sized_value_outside_its_parameter_constraints_is_caught() {
    let param: serde_json::Value = serde_json::json!({
        "Type": "Number", "MinValue": 1, "MaxValue": 80, "AllowedValues": ["1", "3"]
    });
    assert!(parameter_constraint_breaks(&param, "3").is_empty());
    let breaks = parameter_constraint_breaks(&param, "81");
    assert_eq!(breaks.len(), 2, "{breaks:?}");
    let text: serde_json::Value = serde_json::json!({"MinLength": 3, "MaxLength": 4});
    assert_eq!(parameter_constraint_breaks(&text, "ab").len(), 1);
    assert_eq!(parameter_constraint_breaks(&text, "abcde").len(), 1);
}
