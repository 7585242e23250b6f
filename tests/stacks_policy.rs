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
