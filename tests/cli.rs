//! The real binary, run the way an operator runs it, on the sandbox account.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Output};

const BIN: &str = env!("CARGO_BIN_EXE_ph-installer");

fn run(state: &Path, args: &[&str]) -> Output {
    Command::new(BIN)
        .arg("--state-dir")
        .arg(state)
        .args(args)
        // Nothing from the developer's own AWS setup may leak into these runs.
        .env_remove("AWS_REGION")
        .env_remove("AWS_DEFAULT_REGION")
        .env_remove("AWS_PROFILE")
        .env_remove("AWS_ENDPOINT_URL")
        .env_remove("PH_INSTALLER_HOME")
        .output()
        .expect("the binary runs")
}

fn text(out: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn refused_regions_exit_non_zero_naming_why() {
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        ("us-gov-west-1", "GovCloud"),
        ("cn-north-1", "China"),
        ("us-iso-east-1", "aws-iso"),
        ("us-isob-east-1", "aws-iso-b"),
        ("eu-isoe-west-1", "aws-iso-e"),
        ("us-isof-south-1", "aws-iso-f"),
        ("eusc-de-east-1", "European Sovereign Cloud"),
        ("mars-east-1", "not an AWS region code"),
    ];
    for (region, why) in cases {
        // Both with and without the sandbox: the rule is the same everywhere.
        for sandbox in [true, false] {
            let mut args = vec!["--region", region, "regions"];
            if sandbox {
                args.insert(0, "--sandbox");
            }
            let out = run(dir.path(), &args);
            let (stdout, stderr) = text(&out);
            assert_eq!(out.status.code(), Some(2), "{region}: {stdout}{stderr}");
            assert!(
                stderr.contains(region) && stderr.contains(why),
                "{region}: {stderr}"
            );
            assert!(stdout.is_empty(), "{region}: {stdout}");
        }
    }
}

#[test]
fn every_commercial_region_is_accepted() {
    let dir = tempfile::tempdir().unwrap();
    let table =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/regions.toml"))
            .unwrap();
    let codes: Vec<&str> = table
        .lines()
        .filter_map(|l| l.strip_prefix("code = \""))
        .map(|l| l.trim_end_matches('"'))
        .collect();
    assert_eq!(codes.len(), 34);
    for code in codes {
        let out = run(dir.path(), &["--sandbox", "--region", code, "regions"]);
        let (stdout, stderr) = text(&out);
        assert!(out.status.success(), "{code}: {stderr}");
        let current = stdout
            .lines()
            .find(|l| l.starts_with('*'))
            .unwrap_or_default();
        assert!(
            current.contains(code),
            "{code} not marked as current:\n{stdout}"
        );
    }
}

#[test]
fn sandbox_regions_lists_opt_in_states_and_az_counts() {
    let dir = tempfile::tempdir().unwrap();
    let out = run(dir.path(), &["--sandbox", "regions"]);
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stderr}");
    assert!(stdout.starts_with("34 commercial AWS regions"), "{stdout}");
    let line = |code: &str| {
        stdout
            .lines()
            .find(|l| l.contains(code))
            .unwrap()
            .to_string()
    };
    assert!(
        line("us-west-1").trim_end().ends_with(" 2"),
        "{}",
        line("us-west-1")
    );
    assert!(
        line("us-east-1").contains("not required"),
        "{}",
        line("us-east-1")
    );
    assert!(stdout.contains("NOT ENABLED"), "{stdout}");
    assert!(!stdout.contains("us-gov") && !stdout.contains("cn-north"));
}

#[test]
fn sandbox_regions_as_json_lines() {
    let dir = tempfile::tempdir().unwrap();
    let out = run(dir.path(), &["--sandbox", "--output", "json", "regions"]);
    assert!(out.status.success());
    let rows: Vec<serde_json::Value> = text(&out)
        .0
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(rows.len(), 34);
    let w1 = rows.iter().find(|r| r["code"] == "us-west-1").unwrap();
    assert_eq!(w1["az_count"], 2);
    assert_eq!(w1["opt_in"], "opt-in-not-required");
}

#[test]
fn sandbox_doctor_passes_and_explains_each_check() {
    let dir = tempfile::tempdir().unwrap();
    let out = run(dir.path(), &["--sandbox", "doctor"]);
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stdout}{stderr}");
    for id in [
        "identity",
        "region",
        "endpoint",
        "clock",
        "state-dir",
        "secrets",
        "lock",
    ] {
        assert!(
            stdout.contains(&format!("] {id}")),
            "missing {id}:\n{stdout}"
        );
    }
    assert!(stdout.contains("Account 111122223333"), "{stdout}");
    assert!(stdout.contains("sandbox"), "{stdout}");
    // The zones an install would use, chosen by zone ID.
    assert!(
        stdout.contains("an install would span us-east-1a, us-east-1c, us-east-1d"),
        "{stdout}"
    );
    assert!(
        stdout.contains("us-east-1b (use1-az3) is passed over: EKS"),
        "{stdout}"
    );
    assert!(stdout.contains("All checks passed"), "{stdout}");
}

#[test]
fn doctor_refuses_a_secrets_file_others_can_read_with_the_chmod() {
    let dir = tempfile::tempdir().unwrap();
    let sandbox_state = dir.path().join("sandbox");
    std::fs::create_dir_all(&sandbox_state).unwrap();
    let secrets = sandbox_state.join("secrets.toml");
    std::fs::write(&secrets, "[secrets]\ndb = \"x\"\n").unwrap();
    std::fs::set_permissions(&secrets, std::fs::Permissions::from_mode(0o644)).unwrap();
    let out = run(dir.path(), &["--sandbox", "doctor"]);
    let (stdout, _) = text(&out);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("[FAIL] secrets"), "{stdout}");
    assert!(
        stdout.contains(&format!("chmod 600 {}", secrets.display())),
        "{stdout}"
    );
}

#[test]
fn a_known_secret_never_reaches_logs_or_output() {
    let dir = tempfile::tempdir().unwrap();
    let sandbox_state = dir.path().join("sandbox");
    std::fs::create_dir_all(&sandbox_state).unwrap();
    let secrets = sandbox_state.join("secrets.toml");
    let value = "sv-7d1e0b5c93-never-print";
    std::fs::write(
        &secrets,
        format!("[secrets]\ndb_master_password = \"{value}\"\n"),
    )
    .unwrap();
    std::fs::set_permissions(&secrets, std::fs::Permissions::from_mode(0o600)).unwrap();
    let out = run(dir.path(), &["--sandbox", "--log-level", "trace", "doctor"]);
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stdout}{stderr}");
    assert!(stdout.contains("holds 1 secrets"), "{stdout}");
    assert!(!stdout.contains(value) && !stderr.contains(value));
    let logs = sandbox_state.join("logs");
    let mut seen_lines = 0;
    for entry in std::fs::read_dir(&logs).unwrap() {
        let body = std::fs::read_to_string(entry.unwrap().path()).unwrap();
        seen_lines += body.lines().count();
        assert!(!body.contains(value), "secret found in the log");
    }
    assert!(seen_lines > 0, "the trace run wrote no log at all");
    // Nor anywhere else in the state dir but the secrets file itself.
    for entry in walk(dir.path()) {
        if entry != secrets {
            let bytes = std::fs::read(&entry).unwrap_or_default();
            assert!(
                !String::from_utf8_lossy(&bytes).contains(value),
                "secret found in {}",
                entry.display()
            );
        }
    }
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}

#[test]
fn doctor_names_the_session_holding_the_install_lock() {
    let dir = tempfile::tempdir().unwrap();
    let state = ph_installer::store::StateDir::open(dir.path(), true).unwrap();
    let _held = ph_installer::store::lock::InstallLock::acquire(
        &state.lock_path(),
        "ph-installer (other session)",
    )
    .unwrap();
    let out = run(dir.path(), &["--sandbox", "doctor"]);
    let (stdout, _) = text(&out);
    assert!(stdout.contains("[warn] lock"), "{stdout}");
    assert!(
        stdout.contains(&format!("PID {}", std::process::id())),
        "{stdout}"
    );
}

#[test]
fn no_subcommand_says_what_is_available_instead_of_pretending() {
    let dir = tempfile::tempdir().unwrap();
    let out = run(dir.path(), &["--sandbox"]);
    let (_, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr.contains("doctor") && stderr.contains("regions"),
        "{stderr}"
    );
}

#[test]
fn a_malformed_fault_script_is_named_and_nothing_runs() {
    let dir = tempfile::tempdir().unwrap();
    let faults = dir.path().join("faults.toml");
    std::fs::write(&faults, "[throttle]\nshare = 7\n").unwrap();
    let out = run(
        dir.path(),
        &[
            "--sandbox",
            "--sandbox-faults",
            faults.to_str().unwrap(),
            "regions",
        ],
    );
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stdout.is_empty());
    assert!(
        stderr.contains("faults.toml") && stderr.contains("share"),
        "{stderr}"
    );
}

#[test]
fn throttling_slows_the_installer_down_instead_of_failing_it() {
    let dir = tempfile::tempdir().unwrap();
    let faults = dir.path().join("faults.toml");
    // Every other call AWS (the sandbox) refuses with Throttling.
    std::fs::write(&faults, "[throttle]\nshare = 0.5\n").unwrap();
    let faults = faults.to_str().unwrap();
    let out = run(
        dir.path(),
        &["--sandbox", "--sandbox-faults", faults, "doctor"],
    );
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stdout}{stderr}");
    assert!(
        !stdout.contains("throttl") && !stderr.contains("throttl"),
        "{stdout}{stderr}"
    );

    let out = run(
        dir.path(),
        &[
            "--sandbox",
            "--sandbox-faults",
            faults,
            "--output",
            "json",
            "regions",
        ],
    );
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stdout}{stderr}");
    let rows: Vec<serde_json::Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(rows.len(), 34);
    // Every usable region still has its zone count: none was lost to throttling.
    for r in rows.iter().filter(|r| r["opt_in"] != "not-opted-in") {
        assert!(r["az_count"].as_u64().is_some(), "{r}");
    }
}

#[test]
fn doctor_checks_the_chosen_profile_with_the_values_the_operator_changed() {
    let dir = tempfile::tempdir().unwrap();
    let state = ph_installer::store::StateDir::open(dir.path(), true).unwrap();
    std::fs::write(
        state.config_path(),
        "profile = \"evaluation\"\n[sizing]\napp_instance_type = \"x9.enormous\"\n",
    )
    .unwrap();
    let out = run(dir.path(), &["--sandbox", "doctor"]);
    let (stdout, _) = text(&out);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("[FAIL] sizing"), "{stdout}");
    assert!(stdout.contains("x9.enormous"), "{stdout}");
}

#[test]
fn doctor_refuses_saved_answers_naming_a_refused_region_with_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let state = ph_installer::store::StateDir::open(dir.path(), true).unwrap();
    std::fs::write(state.config_path(), "# saved\nregion = \"cn-north-1\"\n").unwrap();
    let out = run(dir.path(), &["--sandbox", "doctor"]);
    let (stdout, _) = text(&out);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("[FAIL] answers"), "{stdout}");
    assert!(
        stdout.contains("config.toml") && stdout.contains("line 2") && stdout.contains("China"),
        "{stdout}"
    );
    // One fix, said once.
    assert_eq!(stdout.matches("fix the file").count(), 1, "{stdout}");
    assert!(!stdout.contains("Fix or remove the file"), "{stdout}");
    // The file is left as it was.
    assert_eq!(
        std::fs::read_to_string(state.config_path()).unwrap(),
        "# saved\nregion = \"cn-north-1\"\n"
    );
}

#[test]
fn doctor_prints_each_check_the_moment_it_has_finished() {
    use std::io::{BufRead, BufReader};
    let dir = tempfile::tempdir().unwrap();
    let faults = dir.path().join("faults.toml");
    // Every call to the sandbox takes 0.4 s: the cloud checks make four.
    std::fs::write(&faults, "[latency]\nms = 400\n").unwrap();
    let mut child = Command::new(BIN)
        .arg("--state-dir")
        .arg(dir.path())
        .args(["--sandbox", "--sandbox-faults"])
        .arg(&faults)
        .arg("doctor")
        .env_remove("AWS_REGION")
        .env_remove("AWS_DEFAULT_REGION")
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let first = lines.next().unwrap().unwrap();
    assert!(first.starts_with("[ ok ] identity"), "{first}");
    let first_at = std::time::Instant::now();
    let rest: Vec<String> = lines.map(Result::unwrap).collect();
    assert!(child.wait().unwrap().success(), "{rest:?}");
    // Three more calls of 0.4 s came after it: it was not held back.
    let after = first_at.elapsed();
    assert!(
        after >= std::time::Duration::from_millis(800),
        "the identity check arrived only {after:?} before doctor finished"
    );
    assert!(
        rest.iter().any(|l| l.starts_with("[ ok ] clock")),
        "{rest:?}"
    );
    assert!(
        rest.last().unwrap().contains("All checks passed"),
        "{rest:?}"
    );
}

#[test]
fn doctor_fails_when_the_accounts_block_public_access_would_break_the_media_bucket() {
    let dir = tempfile::tempdir().unwrap();
    let state = ph_installer::store::StateDir::open(dir.path(), true).unwrap();
    {
        let account = ph_installer::cloud::sandbox::SandboxAccount::open(
            ph_installer::cloud::sandbox::SandboxOptions {
                dir: state.sandbox_account_dir(),
                speed: 30.0,
                faults: Default::default(),
            },
        )
        .unwrap();
        account
            .arrange(|s, _| {
                s.set_public_access_block(Some(ph_installer::cloud::types::PublicAccessBlock {
                    block_public_acls: true,
                    ignore_public_acls: true,
                    block_public_policy: true,
                    restrict_public_buckets: true,
                }))
            })
            .unwrap();
    }
    let out = run(dir.path(), &["--sandbox", "doctor"]);
    let (stdout, _) = text(&out);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("[FAIL] s3-public"), "{stdout}");
    assert!(stdout.contains("BlockPublicPolicy"), "{stdout}");
    assert!(
        stdout.contains("aws s3control put-public-access-block --account-id 111122223333"),
        "{stdout}"
    );
}
