//! The templates against the tools that judge them: cfn-lint (no error, no
//! warning) and cfn-guard (every security promise as a rule file, each named
//! rule in it passing on some template, failing on none, and failing on a
//! fixture that breaks it). Both tools are installed by scripts/test; without
//! them these tests fail, never skip.
//!
//! Fixtures (stacks/rules/fixtures/) are named after their rule file:
//! `<file>-violation-<what>.yaml` must make exactly the named rules listed on
//! its `# violates: <rule>[, <rule>...]` line(s) FAIL, and
//! `<file>-pass[-<what>].yaml` must make none FAIL and at least one PASS.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn venv() -> PathBuf {
    std::env::var_os("PH_TEST_VENV")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join(".venv"))
}

fn tool(relative: &str) -> PathBuf {
    let path = venv().join(relative);
    assert!(
        path.exists(),
        "{} is missing: run scripts/test, which installs cfn-lint and cfn-guard into .venv",
        path.display()
    );
    path
}

fn yaml_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    files.sort();
    files
}

fn templates() -> Vec<PathBuf> {
    let t = yaml_files(&root().join("stacks"));
    assert!(
        t.len() >= 10,
        "expected the stack templates in stacks/, found {t:?}"
    );
    t
}

fn rules() -> Vec<PathBuf> {
    let mut r: Vec<PathBuf> = std::fs::read_dir(root().join("stacks/rules"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "guard"))
        .collect();
    r.sort();
    r
}

fn name(p: &Path) -> String {
    p.file_stem().unwrap().to_string_lossy().into_owned()
}

/// The named rules of a .guard file: `rule <name>` at the start of a line,
/// except parameterized helpers (`rule <name>(...)`), which cfn-guard does not
/// report on their own.
fn named_rules(rule: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(rule).unwrap();
    let mut names = Vec::new();
    for line in text.lines() {
        let Some(rest) = line.strip_prefix("rule") else {
            continue;
        };
        if !rest.starts_with(char::is_whitespace) {
            continue;
        }
        let rest = rest.trim_start();
        let ident: String = rest
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        if ident.is_empty() || rest[ident.len()..].trim_start().starts_with('(') {
            continue;
        }
        names.push(ident);
    }
    assert!(!names.is_empty(), "no named rule in {}", rule.display());
    names
}

/// The per-rule lines of cfn-guard's summary, rule name -> PASS, FAIL or SKIP.
/// `cfn-guard validate --show-summary all -r <file>.guard -d <data>` (3.2.1)
/// prints, before any detail:
///
/// ```text
/// <data> Status = FAIL
/// PASS rules
/// <file>.guard/<rule>    PASS
/// FAILED rules
/// <file>.guard/<rule>    FAIL
/// SKIP rules
/// <file>.guard/<rule>    SKIP
/// ---
/// ```
///
/// (sections without rules are left out).
fn parse_summary(stdout: &str, rule_file: &str) -> BTreeMap<String, String> {
    let prefix = format!("{rule_file}/");
    let mut statuses = BTreeMap::new();
    let mut in_summary = false;
    for line in stdout.lines() {
        if !in_summary {
            in_summary = line.contains(" Status = ");
            continue;
        }
        if line.trim() == "---" {
            break;
        }
        let Some(rest) = line.strip_prefix(&prefix) else {
            continue;
        };
        let parts: Vec<&str> = rest.split_whitespace().collect();
        if parts.len() == 2 && ["PASS", "FAIL", "SKIP"].contains(&parts[1]) {
            statuses.insert(parts[0].to_string(), parts[1].to_string());
        }
    }
    statuses
}

/// Each named rule's status on `data`, from cfn-guard's summary.
fn guard(rule: &Path, data: &Path) -> BTreeMap<String, String> {
    let out = Command::new(tool("tools/bin/cfn-guard"))
        .args(["validate", "--show-summary", "all", "-r"])
        .arg(rule)
        .arg("-d")
        .arg(data)
        .output()
        .expect("run cfn-guard");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let statuses = parse_summary(&text, &format!("{}.guard", name(rule)));
    assert!(
        !statuses.is_empty(),
        "cfn-guard gave no per-rule summary for {} on {}:\n{text}\n{}",
        name(rule),
        data.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    statuses
}

/// Records a problem unless cfn-guard reported exactly the file's named rules.
fn check_reported(
    rule: &Path,
    data: &Path,
    names: &[String],
    statuses: &BTreeMap<String, String>,
    problems: &mut Vec<String>,
) {
    let reported: BTreeSet<&String> = statuses.keys().collect();
    let expected: BTreeSet<&String> = names.iter().collect();
    if reported != expected {
        problems.push(format!(
            "{} on {}: cfn-guard reported {reported:?}, the file defines {expected:?}",
            name(rule),
            data.display()
        ));
    }
}

/// The named rules a violation fixture says it breaks: its `# violates:` lines.
fn declared_violations(fixture: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(fixture).unwrap();
    text.lines()
        .filter_map(|l| l.strip_prefix("# violates:"))
        .flat_map(|rest| rest.split(|c: char| c == ',' || c.is_whitespace()))
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

fn fixtures() -> Vec<PathBuf> {
    yaml_files(&root().join("stacks/rules/fixtures"))
}

/// `<file>-violation-<what>.yaml`
fn violation_fixtures(rule_file: &str) -> Vec<PathBuf> {
    let prefix = format!("{rule_file}-violation-");
    fixtures()
        .into_iter()
        .filter(|f| name(f).starts_with(&prefix))
        .collect()
}

/// `<file>-pass.yaml` and `<file>-pass-<what>.yaml`
fn pass_fixtures(rule_file: &str) -> Vec<PathBuf> {
    let exact = format!("{rule_file}-pass");
    let prefix = format!("{rule_file}-pass-");
    fixtures()
        .into_iter()
        .filter(|f| name(f) == exact || name(f).starts_with(&prefix))
        .collect()
}

#[test]
fn cfn_lint_finds_no_error_and_no_warning_in_any_template() {
    let out = Command::new(tool("bin/cfn-lint"))
        .args(["--regions", "us-east-1", "us-west-1", "--"])
        .args(templates())
        .output()
        .expect("run cfn-lint");
    assert!(
        out.status.success() && out.stdout.is_empty(),
        "cfn-lint findings:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn there_is_a_rule_for_every_security_promise() {
    let have: Vec<String> = rules().iter().map(|r| name(r)).collect();
    for promise in [
        "rds_encryption",
        "msk_encryption",
        "elasticache_encryption",
        "opensearch_encryption",
        "ebs_encryption",
        "eks_secrets_encryption",
        "imdsv2_nodes",
        "data_private_subnets",
        "sg_no_open_ingress",
        "s3_public_prefix_only",
        "s3_tls_only",
        "noecho_not_in_outputs",
        "iam_roles_bounded",
        "installer_least_privilege",
    ] {
        assert!(
            have.contains(&promise.to_string()),
            "no rule file for {promise}: {have:?}"
        );
    }
}

#[test]
fn no_named_rule_fails_on_a_template_and_each_passes_on_one() {
    // PASS somewhere, not only SKIP: a rule that stops matching what it is
    // meant to judge (a renamed type, a changed shape) reports SKIP on every
    // template, which would otherwise count as success.
    let mut problems = Vec::new();
    for rule in rules() {
        let names = named_rules(&rule);
        let mut passed: BTreeSet<String> = BTreeSet::new();
        for t in templates() {
            let statuses = guard(&rule, &t);
            check_reported(&rule, &t, &names, &statuses, &mut problems);
            for (r, s) in &statuses {
                if s == "FAIL" {
                    problems.push(format!("{}/{r} fails on {}", name(&rule), name(&t)));
                }
                if s == "PASS" {
                    passed.insert(r.clone());
                }
            }
        }
        for n in &names {
            if !passed.contains(n) {
                problems.push(format!(
                    "{}/{n} passes on no template (SKIP everywhere): it judges nothing",
                    name(&rule)
                ));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn every_fixture_is_named_after_a_rule_file() {
    let files: Vec<String> = rules().iter().map(|r| name(r)).collect();
    let mut problems = Vec::new();
    for f in fixtures() {
        let n = name(&f);
        let known = files.iter().any(|r| {
            n.starts_with(&format!("{r}-violation-"))
                || n == format!("{r}-pass")
                || n.starts_with(&format!("{r}-pass-"))
        });
        if !known {
            problems.push(format!(
                "{n}.yaml: not <rule file>-violation-<what> or <rule file>-pass[-<what>]"
            ));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn each_violation_fixture_fails_exactly_the_named_rules_it_declares() {
    let mut problems = Vec::new();
    for rule in rules() {
        let file = name(&rule);
        let names = named_rules(&rule);
        let mut targeted: BTreeSet<String> = BTreeSet::new();
        for f in violation_fixtures(&file) {
            let declared = declared_violations(&f);
            if declared.is_empty() {
                problems.push(format!("{}: no `# violates: <named rule>` line", name(&f)));
            }
            let statuses = guard(&rule, &f);
            check_reported(&rule, &f, &names, &statuses, &mut problems);
            for d in &declared {
                if !names.contains(d) {
                    problems.push(format!(
                        "{}: declares {d}, which {file}.guard does not define",
                        name(&f)
                    ));
                    continue;
                }
                let got = statuses.get(d).map(String::as_str).unwrap_or("nothing");
                if got != "FAIL" {
                    problems.push(format!("{}: {file}/{d} gives {got}, want FAIL", name(&f)));
                }
                targeted.insert(d.clone());
            }
            for (r, s) in &statuses {
                if s == "FAIL" && !declared.contains(r) {
                    problems.push(format!(
                        "{}: {file}/{r} fails too but is not declared in `# violates:`",
                        name(&f)
                    ));
                }
            }
        }
        for n in &names {
            if !targeted.contains(n) {
                problems.push(format!(
                    "{file}/{n} has no violation fixture (`# violates: {n}`)"
                ));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn pass_fixtures_pass() {
    let mut problems = Vec::new();
    for rule in rules() {
        let file = name(&rule);
        let names = named_rules(&rule);
        let passes = pass_fixtures(&file);
        if passes.is_empty() {
            problems.push(format!("{file} has no pass fixture"));
        }
        for f in passes {
            let statuses = guard(&rule, &f);
            check_reported(&rule, &f, &names, &statuses, &mut problems);
            for (r, s) in &statuses {
                if s == "FAIL" {
                    problems.push(format!("{}: {file}/{r} fails on a pass fixture", name(&f)));
                }
            }
            if !statuses.values().any(|s| s == "PASS") {
                problems.push(format!("{}: no rule of {file} passes (all SKIP)", name(&f)));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

// ------------------------------------------------------ handler permissions
//
// The installer runs CloudFormation with its own credentials, so its role
// must allow every call CloudFormation's resource handlers make for the
// workload templates. The handlers' calls are the `handlers.<h>.permissions`
// of each type's resource schema; cfn-lint ships those schemas.

fn read_json(path: &Path) -> Value {
    let text =
        std::fs::read_to_string(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("parse {}: {e}", path.display()))
}

/// A template as JSON values (the templates use long-form intrinsics only).
fn read_yaml(path: &Path) -> Value {
    let text =
        std::fs::read_to_string(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    serde_norway::from_str(&text).unwrap_or_else(|e| panic!("parse {}: {e}", path.display()))
}

/// cfn-lint's copy of the resource schemas,
/// `<venv>/lib/python3.*/site-packages/cfnlint/data/schemas`.
fn cfn_lint_schemas() -> PathBuf {
    let lib = venv().join("lib");
    let entries = std::fs::read_dir(&lib).unwrap_or_else(|e| {
        panic!(
            "{}: {e}: run scripts/test, which installs cfn-lint into .venv",
            lib.display()
        )
    });
    let mut found: Vec<PathBuf> = entries
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("python3."))
        })
        .map(|p| p.join("site-packages/cfnlint/data/schemas"))
        .filter(|p| p.is_dir())
        .collect();
    found.sort();
    assert_eq!(
        found.len(),
        1,
        "expected one cfn-lint schema directory under {}, found {found:?}",
        lib.display()
    );
    found.remove(0)
}

/// IAM's match of an action against a policy's action pattern: `*` is any
/// run of characters, `?` any one, and case does not matter.
fn action_matches(pattern: &str, action: &str) -> bool {
    let p: Vec<char> = pattern.to_ascii_lowercase().chars().collect();
    let a: Vec<char> = action.to_ascii_lowercase().chars().collect();
    let (mut pi, mut ai) = (0, 0);
    // The last `*` seen, and where in the action its run ends so far.
    let mut star: Option<(usize, usize)> = None;
    while ai < a.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == a[ai]) {
            pi += 1;
            ai += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some((pi, ai));
            pi += 1;
        } else if let Some((sp, sa)) = star {
            star = Some((sp, sa + 1));
            pi = sp + 1;
            ai = sa + 1;
        } else {
            return false;
        }
    }
    while pi < p.len() && p[pi] == '*' {
        pi += 1;
    }
    pi == p.len()
}

/// A policy element that is a string or a list of strings.
fn strings(v: &Value) -> Vec<String> {
    match v {
        Value::String(s) => vec![s.clone()],
        Value::Array(items) => items
            .iter()
            .filter_map(|i| i.as_str().map(str::to_string))
            .collect(),
        _ => Vec::new(),
    }
}

/// The statements of a policy document. A statement written as
/// `Fn::If: [condition, statement, AWS::NoValue]` counts with its branches.
fn statements(document: &Value) -> Vec<Value> {
    let list = match document.get("Statement") {
        Some(Value::Array(items)) => items.clone(),
        Some(single) => vec![single.clone()],
        None => Vec::new(),
    };
    let mut out = Vec::new();
    for s in list {
        let found: Vec<Value> = match s.get("Fn::If") {
            Some(Value::Array(branches)) => branches
                .iter()
                .skip(1)
                .filter(|b| b.get("Effect").is_some())
                .cloned()
                .collect(),
            _ => vec![s.clone()],
        };
        out.extend(found);
    }
    out
}

/// Whether a statement's Action (or NotAction) takes in `action`.
fn statement_covers(statement: &Value, action: &str) -> bool {
    if let Some(actions) = statement.get("Action") {
        strings(actions).iter().any(|p| action_matches(p, action))
    } else if let Some(excluded) = statement.get("NotAction") {
        !strings(excluded).iter().any(|p| action_matches(p, action))
    } else {
        false
    }
}

/// A Deny that applies wherever a handler makes the call: no Condition, and
/// `*` (or a NotResource) for its resources. The installer's conditioned
/// denies, and those on its own `/ph-installer/` identity, leave the
/// install's resources alone.
fn denies_everywhere(statement: &Value) -> bool {
    statement["Effect"] == "Deny"
        && statement.get("Condition").is_none()
        && (statement.get("NotResource").is_some()
            || statement
                .get("Resource")
                .map(strings)
                .unwrap_or_default()
                .iter()
                .any(|r| r == "*"))
}

/// The statements of every policy installer.yaml gives the installer role:
/// its inline policies and each managed policy that lists it in `Roles`.
fn installer_role_statements(template: &Value) -> Vec<Value> {
    let role = serde_json::json!({ "Ref": "InstallerRole" });
    let resources = template["Resources"]
        .as_object()
        .expect("installer.yaml has Resources");
    let mut out = Vec::new();
    for (id, r) in resources {
        let props = &r["Properties"];
        if id == "InstallerRole" {
            for p in props["Policies"].as_array().into_iter().flatten() {
                out.extend(statements(&p["PolicyDocument"]));
            }
        }
        let attached = props["Roles"]
            .as_array()
            .is_some_and(|roles| roles.contains(&role));
        if r["Type"] == "AWS::IAM::ManagedPolicy" && attached {
            out.extend(statements(&props["PolicyDocument"]));
        }
    }
    assert!(
        !out.is_empty(),
        "no policy of installer.yaml is attached to InstallerRole"
    );
    out
}

/// The installer role's Allow statements and the Deny statements that apply
/// everywhere.
fn installer_allows_and_denies() -> (Vec<Value>, Vec<Value>) {
    let role = installer_role_statements(&read_yaml(&root().join("stacks/installer.yaml")));
    let allows = role
        .iter()
        .filter(|s| s["Effect"] == "Allow")
        .cloned()
        .collect();
    let denies = role
        .iter()
        .filter(|s| denies_everywhere(s))
        .cloned()
        .collect();
    (allows, denies)
}

/// The key names the templates refer to the install's keys by (stacks/README.md:
/// parameters `ClusterKeyArn`/`DataKeyArn`, security.yaml's `ClusterKey`/`DataKey`),
/// as they appear quoted in a resource's properties.
const INSTALL_KEY_NAMES: &[&str] = &[
    "\"ClusterKeyArn\"",
    "\"DataKeyArn\"",
    "\"ClusterKey\"",
    "\"DataKey\"",
];

/// The service of a resource type as kms:ViaService names it
/// (`elasticache.<region>.amazonaws.com`), with the trailing dot.
fn via_service_prefix(resource_type: &str) -> String {
    let service = resource_type.split("::").nth(1).unwrap_or_default();
    let prefix = match service {
        "MSK" => "kafka".to_string(),
        "OpenSearchService" => "es".to_string(),
        other => other.to_ascii_lowercase(),
    };
    format!("{prefix}.")
}

/// KMS authorises with the key's policy first, and security.yaml's key
/// policies are what give the installer its KMS permissions on the install's
/// keys (stacks/README.md, "KMS"): an Allow for Principal `*` narrowed to the
/// installer's principals (`.../ph-installer/*` in its Condition), or to calls
/// made through the resource's own service (`kms:ViaService`).
fn key_policy_allows(key_statements: &[Value], resource_type: &str, action: &str) -> bool {
    let via = via_service_prefix(resource_type);
    key_statements.iter().any(|s| {
        let condition = s.get("Condition").cloned().unwrap_or(Value::Null);
        let names_installer = condition.to_string().contains("ph-installer/");
        let through_service = condition
            .as_object()
            .into_iter()
            .flat_map(|operators| operators.values())
            .any(|op| {
                op.get("kms:ViaService")
                    .is_some_and(|v| v.to_string().contains(via.as_str()))
            });
        statement_covers(s, action) && (names_installer || through_service)
    })
}

/// Handler permissions the installer's policies leave out on purpose, with
/// the reason. Each must still be listed by its type's handlers.
const NOT_GRANTED: &[(&str, &str, &str)] = &[
    (
        "AWS::DynamoDB::Table",
        "s3:GetObjectMetadata",
        "not an IAM action (S3 authorises HeadObject as s3:GetObject); listed for \
         ImportTable, which storage.yaml does not use",
    ),
    (
        "AWS::EC2::VPCEndpoint",
        "vpc-lattice:DescribeServiceNetworkVpcEndpointAssociation",
        "not an IAM action in the Service Authorization Reference (cfn-lint's W3037 \
         refuses it in a policy); listed for service-network endpoints, which \
         network.yaml does not create",
    ),
    (
        "AWS::OpenSearchService::Domain",
        "es:UpdateDomain",
        "not an IAM action; the handler's updates are es:UpdateDomainConfig, allowed",
    ),
    (
        "AWS::IAM::Role",
        "iam:DeleteRolePermissionsBoundary",
        "called only when a template drops a role's PermissionsBoundary, which \
         iam_roles_bounded.guard refuses; GuardrailsPolicy denies it",
    ),
    (
        "AWS::Logs::LogGroup",
        "s3:REST.PUT.OBJECT",
        "not an IAM action (the Service Authorization Reference has none of that \
         name); listed for log delivery to S3, which no template uses",
    ),
];

#[test]
fn action_wildcards_match_as_iam_matches_them() {
    assert!(action_matches("s3:PutBucket*", "s3:PutBucketPolicy"));
    assert!(action_matches("S3:putbucket*", "s3:PutBucketPolicy"));
    assert!(action_matches("kms:ReEncrypt*", "kms:ReEncryptFrom"));
    assert!(action_matches(
        "s3:Get*Configuration",
        "s3:GetAccelerateConfiguration"
    ));
    assert!(action_matches("ec2:?ttachVolume", "ec2:AttachVolume"));
    assert!(action_matches("*", "iam:CreateRole"));
    assert!(action_matches("s3:*a*a*", "s3:banana"));
    assert!(!action_matches("s3:Get*Configuration", "s3:GetObject"));
    assert!(!action_matches("ec2:Describe*", "ec2:CreateVpc"));
    assert!(!action_matches("s3:GetObject", "s3:GetObjectAcl"));
    assert!(!action_matches("ec2:?ttachVolume", "ec2:DetachVolumes"));
    assert!(!action_matches("s3:*a*a*", "s3:bnn"));
}

#[test]
fn the_installer_role_allows_every_permission_the_resource_handlers_need() {
    let schemas = cfn_lint_schemas();
    let providers = read_json(&schemas.join("providers/us-east-1.json"));
    let (allows, denies) = installer_allows_and_denies();

    // Every resource type of the templates the installer deploys, and whether
    // any resource of that type uses one of the install's keys; and the key
    // policy statements that may grant KMS actions to the installer.
    let mut types: BTreeMap<String, bool> = BTreeMap::new();
    let mut key_statements: Vec<Value> = Vec::new();
    for t in templates().into_iter().filter(|t| name(t) != "installer") {
        let template = read_yaml(&t);
        let resources = template["Resources"]
            .as_object()
            .unwrap_or_else(|| panic!("{}: no Resources", t.display()));
        for r in resources.values() {
            let kind = r["Type"]
                .as_str()
                .unwrap_or_else(|| panic!("{}: a resource without a Type", t.display()))
                .to_string();
            let properties = r["Properties"].to_string();
            let uses_key = kind.starts_with("AWS::KMS::")
                || INSTALL_KEY_NAMES.iter().any(|k| properties.contains(*k));
            let entry = types.entry(kind.clone()).or_insert(false);
            *entry = *entry || uses_key;
            if kind == "AWS::KMS::Key" {
                for s in statements(&r["Properties"]["KeyPolicy"]) {
                    let for_anyone = s["Principal"] == serde_json::json!({ "AWS": "*" });
                    if s["Effect"] == "Allow" && for_anyone {
                        key_statements.push(s);
                    }
                }
            }
        }
    }
    assert!(
        types.len() >= 20,
        "expected the workload templates' resource types, found {types:?}"
    );

    let mut gaps = Vec::new();
    let mut excepted: BTreeSet<(String, String)> = BTreeSet::new();
    for (kind, uses_key) in &types {
        let Some(hash) = providers.get(kind.as_str()).and_then(Value::as_str) else {
            gaps.push(format!(
                "{kind}: no resource schema (not in cfn-lint's providers/us-east-1.json)"
            ));
            continue;
        };
        let path = schemas.join("resources").join(format!("{hash}.json"));
        if !path.exists() {
            gaps.push(format!(
                "{kind}: no resource schema ({} is missing)",
                path.display()
            ));
            continue;
        }
        let schema = read_json(&path);
        for handler in ["create", "read", "update", "delete"] {
            let permissions = schema["handlers"][handler]["permissions"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            for p in permissions {
                let Some(action) = p.as_str() else {
                    continue;
                };
                if NOT_GRANTED
                    .iter()
                    .any(|&(k, a, _)| k == kind.as_str() && a == action)
                {
                    excepted.insert((kind.clone(), action.to_string()));
                    continue;
                }
                let is_kms = action.to_ascii_lowercase().starts_with("kms:");
                // A resource that uses none of the install's keys is encrypted
                // with an AWS owned or AWS managed key, whose own policy (not
                // the installer's) authorises the service's KMS calls.
                if is_kms && !*uses_key {
                    continue;
                }
                let allowed = allows.iter().any(|s| statement_covers(s, action))
                    || (is_kms && key_policy_allows(&key_statements, kind, action));
                if !allowed {
                    gaps.push(format!("{kind} {handler}: {action} is not allowed"));
                } else if denies.iter().any(|s| statement_covers(s, action)) {
                    gaps.push(format!("{kind} {handler}: {action} is denied"));
                }
            }
        }
    }
    for &(kind, action, _) in NOT_GRANTED {
        if !excepted.contains(&(kind.to_string(), action.to_string())) {
            gaps.push(format!(
                "{kind}: {action} is in NOT_GRANTED, but no handler of it lists the action any more"
            ));
        }
    }
    assert!(
        gaps.is_empty(),
        "{} handler permissions the installer role lacks (type handler: action):\n{}",
        gaps.len(),
        gaps.join("\n")
    );
}

/// The installer's own calls on the provisioning user's access keys. They
/// act on that one user: allowed on its ARN alone, and a Deny reaches them
/// when it applies to that user (a NotResource that leaves the user out
/// does not).
const ON_THE_PROVISIONING_USER: &[&str] = &[
    ph_installer::cloud::actions::LIST_ACCESS_KEYS,
    ph_installer::cloud::actions::CREATE_ACCESS_KEY,
    ph_installer::cloud::actions::DELETE_ACCESS_KEY,
];

/// A Resource or NotResource element that is (or lists) installer.yaml's
/// `Fn::GetAtt: [ProvisioningUser, Arn]`.
fn names_the_provisioning_user(element: &Value) -> bool {
    let user = serde_json::json!({ "Fn::GetAtt": ["ProvisioningUser", "Arn"] });
    match element {
        Value::Array(items) => items.contains(&user),
        other => *other == user,
    }
}

/// Whether an unconditioned Deny applies to the provisioning user
/// (`arn:<partition>:iam::<account>:user/ph-installer/<name>`): by naming
/// it, by `*` or a pattern for users under `/ph-installer/`, or by a
/// NotResource that does not leave it out.
fn deny_reaches_the_provisioning_user(statement: &Value) -> bool {
    if statement["Effect"] != "Deny" || statement.get("Condition").is_some() {
        return false;
    }
    if let Some(excluded) = statement.get("NotResource") {
        return !names_the_provisioning_user(excluded);
    }
    let Some(resources) = statement.get("Resource") else {
        return false;
    };
    if names_the_provisioning_user(resources) {
        return true;
    }
    let items = match resources {
        Value::Array(items) => items.clone(),
        other => vec![other.clone()],
    };
    items.iter().any(|r| {
        let text = r
            .as_str()
            .or_else(|| r.get("Fn::Sub").and_then(Value::as_str))
            .unwrap_or_default();
        text == "*" || text.contains(":user/ph-installer/") || text.ends_with(":user/*")
    })
}

#[test]
fn the_installer_role_allows_every_call_the_installer_itself_makes() {
    let (allows, denies) = installer_allows_and_denies();
    let every = installer_role_statements(&read_yaml(&root().join("stacks/installer.yaml")));
    let mut gaps = Vec::new();
    for action in ph_installer::cloud::actions::ALL {
        if ON_THE_PROVISIONING_USER.contains(action) {
            let allowing: Vec<&Value> = allows
                .iter()
                .filter(|s| statement_covers(s, action))
                .collect();
            if allowing.is_empty() {
                gaps.push(format!("{action} is not allowed"));
            } else if let Some(s) = allowing
                .iter()
                .find(|s| !s.get("Resource").is_some_and(names_the_provisioning_user))
            {
                gaps.push(format!(
                    "{action} is allowed on more than the provisioning user: {s}"
                ));
            } else if let Some(s) = every
                .iter()
                .find(|s| statement_covers(s, action) && deny_reaches_the_provisioning_user(s))
            {
                gaps.push(format!(
                    "{action} is denied on the provisioning user by {s}"
                ));
            }
        } else if !allows.iter().any(|s| statement_covers(s, action)) {
            gaps.push(format!("{action} is not allowed"));
        } else if denies.iter().any(|s| statement_covers(s, action)) {
            gaps.push(format!("{action} is denied"));
        }
    }
    assert!(gaps.is_empty(), "{}", gaps.join("\n"));
}

#[test]
fn a_deny_reaches_the_provisioning_user_unless_it_leaves_the_user_out() {
    let user = serde_json::json!({ "Fn::GetAtt": ["ProvisioningUser", "Arn"] });
    let deny = |extra: Value| {
        let mut s = serde_json::json!({ "Effect": "Deny", "Action": "iam:*" });
        for (k, v) in extra.as_object().expect("an object") {
            s[k] = v.clone();
        }
        s
    };
    let reaches = [
        serde_json::json!({ "Resource": "*" }),
        serde_json::json!({ "Resource": [user.clone()] }),
        serde_json::json!({ "Resource": [{ "Fn::Sub":
            "arn:${AWS::Partition}:iam::${AWS::AccountId}:user/ph-installer/*" }] }),
        serde_json::json!({ "NotResource": "arn:aws:iam::*:role/*" }),
    ];
    for r in reaches {
        assert!(deny_reaches_the_provisioning_user(&deny(r.clone())), "{r}");
    }
    let spares = [
        serde_json::json!({ "NotResource": user.clone() }),
        serde_json::json!({ "Resource": "arn:aws:iam::*:role/ph-installer/*" }),
        serde_json::json!({ "Resource": "*", "Condition": { "Bool": { "aws:ViaAWSService": "true" } } }),
    ];
    for r in spares {
        assert!(!deny_reaches_the_provisioning_user(&deny(r.clone())), "{r}");
    }
}
