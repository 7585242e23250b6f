//! The templates against the tools that judge them: cfn-lint (no error, no
//! warning) and cfn-guard (every security promise as a rule, passing on
//! every template and failing on a fixture that breaks it). Both tools are
//! installed by scripts/test; without them these tests fail, never skip.

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

/// PASS, FAIL or SKIP, as cfn-guard's summary says.
fn guard(rule: &Path, data: &Path) -> String {
    let out = Command::new(tool("tools/bin/cfn-guard"))
        .args(["validate", "--show-summary", "all", "-r"])
        .arg(rule)
        .arg("-d")
        .arg(data)
        .output()
        .expect("run cfn-guard");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    for status in ["FAIL", "PASS", "SKIP"] {
        if text.contains(&format!("Status = {status}")) {
            return status.to_string();
        }
    }
    panic!(
        "cfn-guard gave no status for {} on {}:\n{text}\n{}",
        name(rule),
        data.display(),
        String::from_utf8_lossy(&out.stderr)
    );
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
    ] {
        assert!(
            have.contains(&promise.to_string()),
            "no rule file for {promise}: {have:?}"
        );
    }
}

#[test]
fn every_rule_passes_on_every_template() {
    let mut broken = Vec::new();
    for rule in rules() {
        for t in templates() {
            let status = guard(&rule, &t);
            if status == "FAIL" {
                broken.push(format!("{} fails on {}", name(&rule), name(&t)));
            }
        }
    }
    assert!(broken.is_empty(), "{}", broken.join("\n"));
}

#[test]
fn every_rule_fails_on_each_fixture_that_violates_it() {
    let fixtures = yaml_files(&root().join("stacks/rules/fixtures"));
    let mut problems = Vec::new();
    for rule in rules() {
        let rule_name = name(&rule);
        let violations: Vec<&PathBuf> = fixtures
            .iter()
            .filter(|f| name(f).starts_with(&format!("{rule_name}-violation")))
            .collect();
        if violations.is_empty() {
            problems.push(format!("{rule_name} has no violation fixture"));
        }
        for f in violations {
            let status = guard(&rule, f);
            if status != "FAIL" {
                problems.push(format!(
                    "{rule_name} gives {status} on {}, want FAIL",
                    name(f)
                ));
            }
        }
        let pass = root().join(format!("stacks/rules/fixtures/{rule_name}-pass.yaml"));
        if pass.exists() && guard(&rule, &pass) == "FAIL" {
            problems.push(format!("{rule_name} fails on its passing fixture"));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
