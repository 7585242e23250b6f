//! The wizard's speed, written as figures (not asserted: shared machines
//! make timings noisy). `cargo bench --bench wizard` prints them and writes
//! target/bench/wizard.txt.
//!
//! - first frame: from starting the binary on the sandbox in a
//!   pseudo-terminal to the first screen drawn, and to the Welcome screen
//!   with the identity loaded;
//! - frame cost: drawing each screen at 80x24;
//! - keypress: one key handled by the wizard and the screen redrawn.

use std::io::Read;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use ph_installer::core::answers::Answers;
use ph_installer::core::region::OptInStatus;
use ph_installer::core::regions::RegionRow;
use ph_installer::core::wizard::{Identity, Key, Msg, Step, Wizard};
use ph_installer::tui::app::{View, render};
use ph_installer::tui::theme::Glyphs;
use portable_pty::{CommandBuilder, PtySize, native_pty_system};
use ratatui::Terminal;
use ratatui::backend::TestBackend;

fn percentile(samples: &mut [Duration], p: f64) -> Duration {
    samples.sort();
    let i = ((samples.len() as f64 - 1.0) * p).round() as usize;
    samples[i]
}

fn wizard(step: Step) -> Wizard {
    let answers = Answers {
        install_name: (step > Step::Welcome).then(|| "shop".parse().unwrap()),
        region: (step > Step::Region).then(|| "eu-west-1".parse().unwrap()),
        ..Answers::default()
    };
    let (mut w, _) = Wizard::new(answers, "us-east-1".parse().unwrap(), "the flag".into());
    w.handle(Msg::Identity(Ok(Identity {
        account: "111122223333".into(),
        arn: "arn:aws:sts::111122223333:assumed-role/ph-installer/i-0a1b2c3d4e5f60718".into(),
        credentials: "EC2 instance role (IMDSv2)".into(),
    })));
    let rows = ph_installer::core::regions::known_regions()
        .into_iter()
        .map(|k| RegionRow {
            code: k.code,
            name: Some(k.name),
            geography: k.geography,
            opt_in: Some(OptInStatus::OptInNotRequired),
            az_count: Some(3),
        })
        .collect();
    w.handle(Msg::Regions(Ok(rows)));
    w
}

/// (first frame, Welcome loaded, bytes written in the 2 s after that while
/// nothing happens).
fn first_frame() -> (Duration, Duration, usize) {
    let dir = tempfile::tempdir().unwrap();
    let pair = native_pty_system()
        .openpty(PtySize {
            rows: 24,
            cols: 80,
            pixel_width: 0,
            pixel_height: 0,
        })
        .unwrap();
    let mut cmd = CommandBuilder::new(env!("CARGO_BIN_EXE_ph-installer"));
    cmd.args(["--sandbox", "--state-dir"]);
    cmd.arg(dir.path());
    cmd.env("TERM", "xterm-256color");
    cmd.env("LANG", "C.UTF-8");
    let start = Instant::now();
    let mut child = pair.slave.spawn_command(cmd).unwrap();
    drop(pair.slave);
    let parser = Arc::new(Mutex::new(vt100::Parser::new(
        24.try_into().unwrap(),
        80.try_into().unwrap(),
        0,
    )));
    let mut reader = pair.master.try_clone_reader().unwrap();
    let p = parser.clone();
    let written = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let w = written.clone();
    std::thread::spawn(move || {
        let mut buf = [0u8; 8192];
        while let Ok(n) = reader.read(&mut buf) {
            if n == 0 {
                break;
            }
            w.fetch_add(n, std::sync::atomic::Ordering::SeqCst);
            p.lock().unwrap().process(&buf[..n]);
        }
    });
    let mut drawn = None;
    loop {
        let screen = parser.lock().unwrap().screen().contents();
        if drawn.is_none() && screen.contains("1 Welcome") {
            drawn = Some(start.elapsed());
        }
        if screen.contains("Account      111122223333") {
            let loaded = start.elapsed();
            std::thread::sleep(Duration::from_millis(300));
            let before = written.load(std::sync::atomic::Ordering::SeqCst);
            std::thread::sleep(Duration::from_secs(2));
            let idle = written.load(std::sync::atomic::Ordering::SeqCst) - before;
            let _ = child.kill();
            return (drawn.unwrap_or(loaded), loaded, idle);
        }
        assert!(start.elapsed() < Duration::from_secs(20), "{screen}");
        std::thread::sleep(Duration::from_micros(500));
    }
}

fn main() {
    // `cargo bench` passes --bench; `cargo test --all-targets` runs this
    // too, without it: figures are not a test, so there it stops here.
    if !std::env::args().any(|a| a == "--bench") {
        println!("benches/wizard.rs measures under `cargo bench --bench wizard` only");
        return;
    }
    let mut out = String::new();
    let mut firsts = Vec::new();
    let mut loads = Vec::new();
    let mut idle = 0;
    for _ in 0..5 {
        let (f, l, i) = first_frame();
        firsts.push(f);
        loads.push(l);
        idle = idle.max(i);
    }
    out += &format!(
        "first frame after start: median {:?} (5 runs); Welcome with the identity: median {:?}\n\
         bytes written in 2 s of nothing happening: at most {idle}\n",
        percentile(&mut firsts, 0.5),
        percentile(&mut loads, 0.5)
    );
    let view = View {
        glyphs: Glyphs { ascii: false },
        sandbox: true,
        config_path: "/var/lib/ph-installer/config.toml".into(),
        records_path: "/var/lib/ph-installer/dns-validation.txt".into(),
        spinner: 0,
        review_max: Default::default(),
    };
    for step in Step::ALL {
        let w = wizard(step);
        let mut t = Terminal::new(TestBackend::new(80, 24)).unwrap();
        let mut samples = Vec::new();
        for _ in 0..2000 {
            let s = Instant::now();
            t.draw(|f| render(f, &w, &view)).unwrap();
            samples.push(s.elapsed());
        }
        out += &format!(
            "frame cost, {step:?} at 80x24: median {:?}, p99 {:?}\n",
            percentile(&mut samples, 0.5),
            percentile(&mut samples, 0.99)
        );
    }
    let mut w = wizard(Step::Region);
    let mut t = Terminal::new(TestBackend::new(80, 24)).unwrap();
    let mut samples = Vec::new();
    for i in 0..2000 {
        let key = if i % 2 == 0 { Key::Down } else { Key::Up };
        let s = Instant::now();
        w.handle(Msg::Key(key));
        t.draw(|f| render(f, &w, &view)).unwrap();
        samples.push(s.elapsed());
    }
    out += &format!(
        "keypress to redrawn frame (Region, Up/Down): median {:?}, p99 {:?}\n",
        percentile(&mut samples, 0.5),
        percentile(&mut samples, 0.99)
    );
    print!("{out}");
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/bench");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("wizard.txt"), &out).unwrap();
}
