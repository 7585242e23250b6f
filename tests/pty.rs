//! The wizard as a person meets it: the real binary on the sandbox in a
//! pseudo-terminal (TERM=xterm-256color, LANG=C.UTF-8, as SSM sets them),
//! its output read by a terminal emulator, keys typed, and the screen waited
//! for with a deadline instead of fixed sleeps.

use std::io::{Read, Write};
use std::num::NonZeroU16;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use portable_pty::{Child, CommandBuilder, MasterPty, PtySize, native_pty_system};

const DEADLINE: Duration = Duration::from_secs(20);

struct Session {
    master: Box<dyn MasterPty + Send>,
    writer: Box<dyn Write + Send>,
    child: Box<dyn Child + Send + Sync>,
    parser: Arc<Mutex<vt100::Parser>>,
    /// Everything the program wrote, for escape sequences the screen hides.
    raw: Arc<Mutex<Vec<u8>>>,
}

fn nz(n: u16) -> NonZeroU16 {
    NonZeroU16::new(n.max(1)).unwrap()
}

fn size(cols: u16, rows: u16) -> PtySize {
    PtySize {
        rows,
        cols,
        pixel_width: 0,
        pixel_height: 0,
    }
}

impl Session {
    fn start(state: &Path, cols: u16, rows: u16) -> Session {
        Self::start_with(state, cols, rows, &[])
    }

    fn start_with(state: &Path, cols: u16, rows: u16, args: &[&str]) -> Session {
        Self::start_env(state, cols, rows, args, &[])
    }

    fn start_env(
        state: &Path,
        cols: u16,
        rows: u16,
        args: &[&str],
        env: &[(&str, &str)],
    ) -> Session {
        let pair = native_pty_system().openpty(size(cols, rows)).unwrap();
        let mut cmd = CommandBuilder::new(env!("CARGO_BIN_EXE_ph-installer"));
        cmd.args(["--sandbox", "--state-dir"]);
        cmd.arg(state);
        cmd.args(args);
        cmd.env("TERM", "xterm-256color");
        cmd.env("LANG", "C.UTF-8");
        cmd.env_remove("LC_ALL");
        cmd.env_remove("NO_COLOR");
        for (k, v) in env {
            cmd.env(k, v);
        }
        let child = pair.slave.spawn_command(cmd).unwrap();
        drop(pair.slave);
        let parser = Arc::new(Mutex::new(vt100::Parser::new(nz(rows), nz(cols), 0)));
        let raw = Arc::new(Mutex::new(Vec::new()));
        let mut reader = pair.master.try_clone_reader().unwrap();
        let (p, r) = (parser.clone(), raw.clone());
        std::thread::spawn(move || {
            let mut buf = [0u8; 8192];
            while let Ok(n) = reader.read(&mut buf) {
                if n == 0 {
                    break;
                }
                p.lock().unwrap().process(&buf[..n]);
                r.lock().unwrap().extend_from_slice(&buf[..n]);
            }
        });
        let writer = pair.master.take_writer().unwrap();
        Session {
            master: pair.master,
            writer,
            child,
            parser,
            raw,
        }
    }

    fn screen(&self) -> String {
        self.parser.lock().unwrap().screen().contents()
    }

    /// Waits until the screen shows `text`; fails showing the screen.
    fn wait_for(&self, text: &str) -> String {
        let start = Instant::now();
        loop {
            let s = self.screen();
            if s.contains(text) {
                return s;
            }
            assert!(
                start.elapsed() < DEADLINE,
                "waited {DEADLINE:?} for {text:?}; the screen shows:\n{s}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn type_text(&mut self, text: &str) {
        self.writer.write_all(text.as_bytes()).unwrap();
        self.writer.flush().unwrap();
    }

    fn resize(&self, cols: u16, rows: u16) {
        self.parser
            .lock()
            .unwrap()
            .screen_mut()
            .set_size(nz(rows), nz(cols));
        self.master.resize(size(cols, rows)).unwrap();
    }

    /// Waits for the process to end; its exit code.
    fn exit_code(&mut self) -> u32 {
        let start = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status.exit_code();
            }
            assert!(
                start.elapsed() < DEADLINE,
                "the wizard did not exit; the screen shows:\n{}",
                self.screen()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn restored_the_terminal(&self) -> bool {
        let raw = self.raw.lock().unwrap();
        raw.windows(8).any(|w| w == b"\x1b[?1049l")
    }
}

fn answers(state: &Path) -> String {
    std::fs::read_to_string(state.join("sandbox/config.toml")).unwrap_or_default()
}

#[test]
fn a_new_operator_names_the_install_picks_a_region_and_a_rerun_resumes_there() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = Session::start(dir.path(), 80, 24);
    s.wait_for("Account      111122223333");
    s.wait_for("Install name");
    s.type_text("Shop");
    s.type_text("\r");
    s.wait_for("lowercase");
    s.type_text("\x7f\x7f\x7f\x7fshop\r");
    s.wait_for("North America");
    s.type_text("ireland");
    s.wait_for("eu-west-1");
    s.type_text("\r");
    s.wait_for("The application's domain name");
    s.type_text("ph.example.com\r");
    // The sandbox's zone example.com holds it; eu-west-1 has no certificate.
    s.wait_for("public zone example.com.");
    s.wait_for("No issued certificate in eu-west-1");
    // Esc twice: back to the name, then to the region; us-east-1 has one.
    s.type_text("\x1b");
    s.wait_for("ph.example.com_");
    s.type_text("\x1b");
    s.wait_for("Filter");
    s.type_text("virginia\r");
    s.wait_for("The application's domain name");
    s.type_text("\r");
    s.wait_for("*.example.com");
    s.type_text("\r");
    s.wait_for("Sizing profile");
    let sizing = s.wait_for("Every instance type is offered in the region.");
    assert!(sizing.contains("What production creates here"), "{sizing}");
    s.type_text("\r");
    let secrets = s.wait_for("created through IAM");
    assert!(secrets.contains("Database master password"), "{secrets}");
    s.type_text("\r");
    s.wait_for("Enter confirms");
    let review = s.wait_for("issued");
    assert!(
        review.contains("us-east-1") && review.contains("ph.example.com"),
        "{review}"
    );
    assert!(review.contains("production"), "{review}");
    // No secret the wizard generated ever reached the terminal.
    let file = std::fs::read_to_string(dir.path().join("sandbox/secrets.toml")).unwrap();
    let raw = String::from_utf8_lossy(&s.raw.lock().unwrap()).to_string();
    for line in file.lines().filter(|l| l.contains(" = ")) {
        let value = line.split(" = ").nth(1).unwrap().trim_matches('"');
        assert!(value.len() >= 16, "{line}");
        assert!(!raw.contains(value), "a secret reached the screen");
    }
    s.type_text("\r");
    s.wait_for("Deploying the stacks is the next part");
    s.type_text("q");
    assert_eq!(s.exit_code(), 0);
    assert!(s.restored_the_terminal());
    let saved = answers(dir.path());
    assert!(saved.contains("install_name = \"shop\""), "{saved}");
    assert!(saved.contains("region = \"us-east-1\""), "{saved}");
    assert!(saved.contains("profile = \"production\""), "{saved}");
    assert!(
        saved.contains("certificate_arn = \"arn:aws:acm:us-east-1:"),
        "{saved}"
    );

    // A rerun checks the secrets again (kept, not regenerated) and goes
    // back through every step with the answers kept.
    let mut again = Session::start(dir.path(), 80, 24);
    again.wait_for("kept from an earlier run");
    again.wait_for("kept: IAM lists it active");
    again.type_text("\x1b");
    again.wait_for("Sizing profile");
    again.type_text("\x1b");
    again.wait_for("The application's domain name");
    again.type_text("\x1b");
    let region = again.wait_for("Filter");
    assert!(region.contains("us-east-1"), "{region}");
    again.type_text("\x03");
    assert_eq!(again.exit_code(), 0);
    assert_eq!(
        std::fs::read_to_string(dir.path().join("sandbox/secrets.toml")).unwrap(),
        file,
        "the secrets were generated once"
    );
}

#[test]
fn a_domain_without_a_route53_zone_gets_a_records_file_and_its_validation_is_seen() {
    let dir = tempfile::tempdir().unwrap();
    // Faster virtual time: ACM validates an outside domain after 300 s.
    let mut s = Session::start_with(dir.path(), 80, 24, &["--sandbox-speed", "150"]);
    s.wait_for("Install name");
    s.type_text("shop\r");
    s.wait_for("North America");
    s.type_text("\r");
    s.wait_for("The application's domain name");
    s.type_text("ph.example.org\r");
    s.wait_for("No public Route 53 zone");
    s.wait_for("Request a new certificate for ph.example.org");
    s.type_text("\r");
    let explained = s.wait_for("Enter requests the certificate");
    assert!(explained.contains("dns-validation.txt"), "{explained}");
    s.type_text("\r");
    s.wait_for("Sizing profile");
    let records = dir.path().join("sandbox/dns-validation.txt");
    let start = Instant::now();
    while !records.exists() {
        assert!(start.elapsed() < DEADLINE, "no records file was written");
        std::thread::sleep(Duration::from_millis(50));
    }
    let text = std::fs::read_to_string(&records).unwrap();
    assert!(
        text.contains("CNAME") && text.contains("acm-validations.aws"),
        "{text}"
    );
    s.type_text("\r");
    s.wait_for("created through IAM");
    s.type_text("\r");
    s.wait_for("Enter confirms");
    let review = s.wait_for("Certificate     issued");
    assert!(review.contains("ph.example.org"), "{review}");
    s.type_text("\x03");
    assert_eq!(s.exit_code(), 0);
}

#[test]
fn a_govcloud_region_typed_in_is_refused_with_the_reason() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = Session::start(dir.path(), 80, 24);
    s.wait_for("Install name");
    s.type_text("shop\r");
    s.wait_for("North America");
    s.type_text("us-gov-west-1");
    s.wait_for("GovCloud");
    s.type_text("\r");
    let screen = s.wait_for("commercial");
    assert!(!screen.contains("not in this build"), "{screen}");
    s.type_text("\x03");
    s.exit_code();
    assert!(!answers(dir.path()).contains("region"));
}

#[test]
fn a_hang_up_restores_the_terminal_and_keeps_the_answers() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = Session::start(dir.path(), 80, 24);
    s.wait_for("Install name");
    s.type_text("shop\r");
    s.wait_for("North America");
    let pid = s.child.process_id().unwrap();
    // SIGHUP, as a dropped SSH connection sends it.
    unsafe {
        libc::kill(pid as i32, libc::SIGHUP);
    }
    assert_ne!(s.exit_code(), 0);
    assert!(s.restored_the_terminal());
    assert!(answers(dir.path()).contains("install_name = \"shop\""));
}

#[test]
fn a_terminal_that_starts_with_no_size_is_drawn_once_it_has_one() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = Session::start(dir.path(), 0, 0);
    std::thread::sleep(Duration::from_millis(500));
    s.resize(80, 24);
    s.wait_for("Install name");
    s.resize(50, 12);
    s.wait_for("Terminal too small: need 60x18, have 50x12");
    s.resize(80, 24);
    s.wait_for("Install name");
    s.type_text("\x03");
    assert_eq!(s.exit_code(), 0);
}

#[test]
fn without_a_terminal_the_wizard_says_what_works_instead() {
    let dir = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_ph-installer"))
        .args(["--sandbox", "--state-dir"])
        .arg(dir.path())
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("needs a terminal") && stderr.contains("doctor"),
        "{stderr}"
    );
}

#[test]
fn an_answers_file_prefills_the_wizard_and_a_bad_one_is_refused_naming_key_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("answers.toml");
    std::fs::write(&good, "install_name = \"shop\"\nregion = \"eu-west-1\"\n").unwrap();
    let mut s = Session::start_with(dir.path(), 80, 24, &["--answers", good.to_str().unwrap()]);
    let screen = s.wait_for("The application's domain name");
    assert!(screen.contains("eu-west-1"), "{screen}");
    s.type_text("\x03");
    assert_eq!(s.exit_code(), 0);

    let bad = dir.path().join("bad.toml");
    std::fs::write(&bad, "install_name = \"shop\"\nregion = \"cn-north-1\"\n").unwrap();
    let mut s = Session::start_with(dir.path(), 80, 24, &["--answers", bad.to_str().unwrap()]);
    let screen = s.wait_for("China");
    assert!(screen.contains("line 2"), "{screen}");
    assert!(screen.contains("bad.toml"), "{screen}");
    assert_eq!(s.exit_code(), 2);

    let small = dir.path().join("small.toml");
    std::fs::write(
        &small,
        "install_name = \"shop\"\nprofile = \"evaluation\"\n[sizing]\ndb_allocated_storage = 5\n",
    )
    .unwrap();
    let mut s = Session::start_with(dir.path(), 80, 24, &["--answers", small.to_str().unwrap()]);
    let screen = s.wait_for("db_allocated_storage");
    assert!(screen.contains("outside 20-"), "{screen}");
    assert!(screen.contains("small.toml"), "{screen}");
    assert!(screen.contains("line 4"), "{screen}");
    assert_eq!(s.exit_code(), 2);
}

/// What the wizard writes while a refused install name is shown.
fn refused_name_output(env: &[(&str, &str)]) -> String {
    let dir = tempfile::tempdir().unwrap();
    let mut s = Session::start_env(dir.path(), 80, 24, &[], env);
    s.wait_for("Install name");
    s.type_text("Shop\r");
    s.wait_for("lowercase");
    s.type_text("\x03");
    s.exit_code();
    String::from_utf8_lossy(&s.raw.lock().unwrap()).to_string()
}

const COLOURS: [&str; 4] = ["\x1b[38;5;", "\x1b[31m", "\x1b[32m", "\x1b[38;2;"];

#[test]
fn with_no_color_nothing_is_coloured_and_the_selection_is_still_reversed() {
    let coloured = refused_name_output(&[]);
    assert!(
        COLOURS.iter().any(|c| coloured.contains(c)),
        "without NO_COLOR the refusal is coloured (else this test proves nothing)"
    );
    let plain = refused_name_output(&[("NO_COLOR", "1")]);
    for sgr in COLOURS {
        assert!(!plain.contains(sgr), "{sgr:?} written under NO_COLOR");
    }
    assert!(
        plain.contains("\x1b[7m"),
        "the input field is reversed video"
    );
}

#[test]
fn an_answer_given_just_before_leaving_is_saved() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = Session::start(dir.path(), 80, 24);
    s.wait_for("Install name");
    // Enter and Ctrl-C in one read: the save may still be running as the
    // wizard ends.
    s.type_text("shop\r\x03");
    assert_eq!(s.exit_code(), 0);
    assert!(answers(dir.path()).contains("install_name = \"shop\""));
}
