//! The real binary against AWS-shaped endpoints it cannot trust: no
//! credentials, an endpoint that does not answer, an endpoint that refuses
//! the signature because the clock is off, and refused regions from the
//! environment and the AWS profile. None of these needs AWS or moto: each
//! stops before a request, or talks to a small server this file runs.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::Path;
use std::process::{Command, Output};
use std::time::{Duration, SystemTime};

const BIN: &str = env!("CARGO_BIN_EXE_ph-installer");

/// Runs the binary with nothing of the developer's AWS setup: no keys, no
/// profiles, no instance metadata, plus `env`.
fn run(state: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(BIN);
    cmd.arg("--state-dir").arg(state.join("state")).args(args);
    for var in [
        "AWS_REGION",
        "AWS_DEFAULT_REGION",
        "AWS_PROFILE",
        "AWS_ENDPOINT_URL",
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_WEB_IDENTITY_TOKEN_FILE",
        "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
        "AWS_CONTAINER_CREDENTIALS_FULL_URI",
        "PH_INSTALLER_HOME",
    ] {
        cmd.env_remove(var);
    }
    // One attempt per call: a refused connection fails at once, not after
    // the SDK's backoff.
    cmd.env("AWS_MAX_ATTEMPTS", "1")
        .env("AWS_CONFIG_FILE", state.join("no-aws-config"))
        .env(
            "AWS_SHARED_CREDENTIALS_FILE",
            state.join("no-aws-credentials"),
        )
        .env("AWS_EC2_METADATA_DISABLED", "true");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().expect("the binary runs")
}

fn text(out: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// `doctor` against `url` with made-up keys.
fn doctor_against(state: &Path, url: &str) -> Output {
    run(
        state,
        &["--region", "eu-west-1", "--endpoint-url", url, "doctor"],
        &[
            ("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE"),
            ("AWS_SECRET_ACCESS_KEY", "x"),
        ],
    )
}

/// The line of doctor's report for check `id`.
fn check_line<'a>(report: &'a str, id: &str) -> &'a str {
    report
        .lines()
        .find(|l| l.contains(&format!("] {id}")))
        .unwrap_or_else(|| panic!("no {id} check in:\n{report}"))
}

#[test]
fn doctor_without_credentials_sends_nothing_and_says_how_to_provide_them() {
    let dir = tempfile::tempdir().unwrap();
    let out = run(dir.path(), &["--region", "eu-west-1", "doctor"], &[]);
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(1), "{stdout}{stderr}");
    assert!(
        check_line(&stdout, "identity").contains("[FAIL]"),
        "{stdout}"
    );
    assert!(stdout.contains("No AWS credentials were found"), "{stdout}");
    // Nothing was sent, so the endpoint is not claimed to have answered.
    assert!(
        check_line(&stdout, "endpoint").contains("[skip]"),
        "{stdout}"
    );
    assert!(!stdout.contains("answered"), "{stdout}");
}

/// A loopback port that refuses connections for as long as the returned
/// socket lives: bound but never listening, so no other test can take it
/// in between (as it could a port bound, closed and then dialled).
fn refusing_port() -> (std::os::fd::OwnedFd, u16) {
    use std::os::fd::FromRawFd;
    // SAFETY: plain socket calls on a socket this function owns.
    unsafe {
        let fd = libc::socket(libc::AF_INET, libc::SOCK_STREAM | libc::SOCK_CLOEXEC, 0);
        assert!(fd >= 0, "socket: {}", std::io::Error::last_os_error());
        let owned = std::os::fd::OwnedFd::from_raw_fd(fd);
        let mut addr: libc::sockaddr_in = std::mem::zeroed();
        addr.sin_family = libc::AF_INET as libc::sa_family_t;
        addr.sin_addr.s_addr = u32::from(std::net::Ipv4Addr::LOCALHOST).to_be();
        let len = std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t;
        let rc = libc::bind(fd, (&raw const addr).cast(), len);
        assert_eq!(rc, 0, "bind: {}", std::io::Error::last_os_error());
        let mut len = len;
        let rc = libc::getsockname(fd, (&raw mut addr).cast(), &mut len);
        assert_eq!(rc, 0, "getsockname: {}", std::io::Error::last_os_error());
        (owned, u16::from_be(addr.sin_port))
    }
}

#[test]
fn doctor_says_when_the_endpoint_does_not_answer() {
    let dir = tempfile::tempdir().unwrap();
    let (_held, port) = refusing_port();
    let url = format!("http://127.0.0.1:{port}");
    let out = doctor_against(dir.path(), &url);
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(1), "{stdout}{stderr}");
    let endpoint = check_line(&stdout, "endpoint");
    assert!(
        endpoint.contains("[FAIL]")
            && endpoint.contains(&format!("The endpoint {url} did not answer")),
        "{stdout}"
    );
    assert!(stdout.contains("NAT gateway"), "{stdout}");
    // What the operator reads is the cause, not the SDK's internals.
    assert!(stdout.contains("Connection refused"), "{stdout}");
    assert!(!stdout.contains("DispatchFailure("), "{stdout}");
}

/// Serves every request with STS's answer to a request signed with a clock
/// `skew` behind: HTTP 403, SignatureDoesNotMatch "Signature expired", and
/// a `Date` header with AWS's (here: the local clock plus `skew`) time.
fn skewed_sts(skew: Duration) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut length = 0usize;
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
                if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                    length = v.trim().parse().unwrap_or(0);
                }
            }
            let mut body = vec![0; length];
            let _ = reader.read_exact(&mut body);
            let aws_now = aws_smithy_types::DateTime::from(SystemTime::now() + skew)
                .fmt(aws_smithy_types::date_time::Format::HttpDate)
                .unwrap();
            let xml = "<ErrorResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">\
                <Error><Type>Sender</Type><Code>SignatureDoesNotMatch</Code>\
                <Message>Signature expired: 20261124T080000Z is now earlier than \
                20261124T080500Z (20261124T082000Z - 15 min.)</Message></Error>\
                <RequestId>7a62c49f-347e-4fc4-9331-6e8eEXAMPLE</RequestId></ErrorResponse>";
            let _ = write!(
                stream,
                "HTTP/1.1 403 Forbidden\r\nDate: {aws_now}\r\nContent-Type: text/xml\r\n\
                 Content-Length: {}\r\nConnection: close\r\n\r\n{xml}",
                xml.len()
            );
        }
    });
    url
}

#[test]
fn doctor_measures_the_clock_skew_that_made_aws_refuse_the_signature() {
    let dir = tempfile::tempdir().unwrap();
    let url = skewed_sts(Duration::from_secs(600));
    let out = doctor_against(dir.path(), &url);
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(1), "{stdout}{stderr}");
    // The refusal is explained as the clock, not as expired credentials.
    assert!(
        stdout.contains("clock is off") && !stdout.contains("have expired"),
        "{stdout}"
    );
    let clock = check_line(&stdout, "clock");
    assert!(
        clock.contains("[FAIL]") && clock.contains("behind AWS"),
        "{stdout}"
    );
    let secs: u64 = clock
        .split_whitespace()
        .find_map(|w| w.parse().ok())
        .unwrap_or_else(|| panic!("no number of seconds in {clock}"));
    assert!((590..=610).contains(&secs), "{clock}");
    assert!(stdout.contains("chronyd"), "{stdout}");
}

#[test]
fn a_refused_region_from_the_environment_exits_2_naming_the_variable() {
    let dir = tempfile::tempdir().unwrap();
    for var in ["AWS_REGION", "AWS_DEFAULT_REGION"] {
        let out = run(dir.path(), &["regions"], &[(var, "us-gov-west-1")]);
        let (stdout, stderr) = text(&out);
        assert_eq!(out.status.code(), Some(2), "{var}: {stdout}{stderr}");
        assert!(
            stderr.contains("GovCloud") && stderr.contains(var),
            "{var}: {stderr}"
        );
        assert!(stdout.is_empty(), "{stdout}");
        // doctor reports it as its connect check, and exits the same way.
        let out = run(dir.path(), &["doctor"], &[(var, "us-gov-west-1")]);
        let (stdout, stderr) = text(&out);
        assert_eq!(out.status.code(), Some(2), "{var}: {stdout}{stderr}");
        assert!(
            check_line(&stdout, "connect").contains("[FAIL]") && stdout.contains("GovCloud"),
            "{var}: {stdout}"
        );
    }
}

#[test]
fn a_refused_region_from_the_aws_profile_exits_2_naming_the_profile() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("aws-config");
    std::fs::write(&config, "[profile china]\nregion = cn-north-1\n").unwrap();
    let config = config.to_str().unwrap();
    let out = run(
        dir.path(),
        &["--profile", "china", "regions"],
        &[("AWS_CONFIG_FILE", config)],
    );
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(2), "{stdout}{stderr}");
    assert!(
        stderr.contains("China") && stderr.contains("profile 'china'"),
        "{stderr}"
    );
    // AWS_PROFILE names the same profile.
    let out = run(
        dir.path(),
        &["regions"],
        &[("AWS_CONFIG_FILE", config), ("AWS_PROFILE", "china")],
    );
    assert_eq!(out.status.code(), Some(2), "{}", text(&out).1);
}

#[test]
fn the_region_flag_wins_over_a_refused_environment_region() {
    let dir = tempfile::tempdir().unwrap();
    // No credentials: doctor fails, but on identity, not on the region.
    let out = run(
        dir.path(),
        &["--region", "eu-west-1", "doctor"],
        &[("AWS_REGION", "cn-north-1")],
    );
    let (stdout, stderr) = text(&out);
    assert!(
        !stdout.contains("China") && !stderr.contains("China"),
        "{stdout}{stderr}"
    );
    assert!(stdout.contains("eu-west-1"), "{stdout}");
}
