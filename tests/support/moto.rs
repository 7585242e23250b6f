//! One moto server per test binary, started on first use.
//!
//! moto (a Python AWS emulator) is installed into `.venv` by `scripts/test`.
//! The server listens on 127.0.0.1 with a port the OS picks; tests are kept
//! apart by giving each its own AWS account (moto's `x-moto-account-id`
//! header), so they can run in parallel against one server.
//!
//! Ready: the server counts as up once its own API answers HTTP 200, not
//! merely once its port accepts connections.
//!
//! Stopping it: when the test binary exits, an exit handler sends the server
//! SIGTERM by its PID. As a backstop for the exits that run no handler (the
//! binary killed by a signal), the server is started from a thread that lives
//! as long as the test process with the parent-death signal set to SIGKILL,
//! so the kernel kills it then.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use ph_installer::cloud::Cloud;
use ph_installer::cloud::aws::{AwsOptions, connect};

pub struct Moto {
    pub url: String,
    pub port: u16,
    pub pid: u32,
}

static MOTO: OnceLock<Moto> = OnceLock::new();

/// moto's header for choosing the account a request acts in.
pub const ACCOUNT_HEADER: &str = "x-moto-account-id";

fn venv() -> PathBuf {
    std::env::var_os("PH_TEST_VENV")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(".venv"))
}

/// The running server; starts it on first call. Panics (failing the test
/// loudly, never skipping it) when moto is not installed.
pub fn moto() -> &'static Moto {
    MOTO.get_or_init(start)
}

fn start() -> Moto {
    let server = venv().join("bin/moto_server");
    if !server.exists() {
        panic!(
            "moto is not installed ({} is missing): run scripts/test, which creates .venv \
             with moto, instead of calling cargo test directly",
            server.display()
        );
    }
    let (tx, rx) = mpsc::channel();
    std::thread::Builder::new()
        .name("moto-server".into())
        .spawn(move || {
            let mut cmd = Command::new(&server);
            cmd.args(["-H", "127.0.0.1", "-p", "0"])
                .stdin(Stdio::null())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .env("MOTO_ACM_VALIDATION_WAIT", "600");
            // SAFETY: only an async-signal-safe prctl between fork and exec.
            unsafe {
                use std::os::unix::process::CommandExt;
                cmd.pre_exec(|| {
                    nix::sys::prctl::set_pdeathsig(nix::sys::signal::Signal::SIGKILL)
                        .map_err(std::io::Error::from)
                });
            }
            let mut child = match cmd.spawn() {
                Ok(c) => c,
                Err(e) => {
                    let _ = tx.send(Err(format!("could not start {}: {e}", server.display())));
                    return;
                }
            };
            let pid = child.id();
            let stderr = child.stderr.take().expect("piped");
            let stdout = child.stdout.take().expect("piped");
            // Drain stdout so the server never blocks on a full pipe.
            std::thread::spawn(move || for _ in BufReader::new(stdout).lines() {});
            let mut announced = false;
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if !announced && let Some(rest) = line.split("Running on http://127.0.0.1:").nth(1)
                {
                    let port: u16 = rest.trim().parse().expect("moto printed its port");
                    let _ = tx.send(Ok((port, pid)));
                    announced = true;
                }
            }
            let _ = child.wait();
            if !announced {
                let _ = tx.send(Err("moto_server exited before it was listening".into()));
            }
            // Keep this thread (the parent-death anchor) alive with the process.
            loop {
                std::thread::park();
            }
        })
        .expect("spawn moto thread");
    let (port, pid) = rx
        .recv_timeout(Duration::from_secs(60))
        .expect("moto_server did not announce its port within 60 s")
        .unwrap_or_else(|e| panic!("{e}; run scripts/test to (re)install moto"));
    // SAFETY: registering a plain `extern "C"` function with the C runtime.
    unsafe {
        libc::atexit(stop_at_exit);
    }
    STARTED_PID.store(pid, Ordering::SeqCst);
    let deadline = Instant::now() + Duration::from_secs(30);
    while !answers(port) {
        assert!(
            Instant::now() < deadline,
            "moto_server on port {port} never answered GET /moto-api/data.json"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    Moto {
        url: format!("http://127.0.0.1:{port}"),
        port,
        pid,
    }
}

static STARTED_PID: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);

/// Stops the server by its PID when the test binary exits.
extern "C" fn stop_at_exit() {
    let pid = STARTED_PID.load(Ordering::SeqCst);
    if pid != 0 {
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(pid as i32),
            nix::sys::signal::Signal::SIGTERM,
        );
    }
}

/// moto's own API answers 200: the server is ready for requests.
fn answers(port: u16) -> bool {
    let Ok(mut stream) = TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
    let request = format!(
        "GET /moto-api/data.json HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n"
    );
    if stream.write_all(request.as_bytes()).is_err() {
        return false;
    }
    let mut head = [0u8; 12];
    stream.read_exact(&mut head).is_ok() && head.starts_with(b"HTTP/1.1 200")
}

/// A fresh 12-digit account id, so each test sees an empty account.
pub fn fresh_account() -> String {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    let n = NEXT.fetch_add(1, Ordering::SeqCst);
    format!("{:06}{:06}", std::process::id() % 1_000_000, n)
}

/// The options that point the AWS adapter at moto as `account`.
pub fn options(region: &str, account: &str) -> AwsOptions {
    AwsOptions {
        region: Some(region.into()),
        profile: None,
        endpoint_url: Some(moto().url.clone()),
        static_credentials: Some((
            "testing".into(),
            ph_installer::core::secret::Secret::new("testing"),
        )),
        extra_headers: vec![(ACCOUNT_HEADER.into(), account.into())],
        skip_instance_metadata: true,
        // moto answers an operation it lacks with HTTP 500: fail at once.
        max_attempts: Some(1),
    }
}

/// The production adapter, connected to moto in a fresh account.
pub async fn cloud(region: &str) -> (Cloud, String) {
    let account = fresh_account();
    let conn = connect(&options(region, &account))
        .await
        .expect("connect to moto");
    (conn.cloud, account)
}

/// Raw SDK configuration for arranging fixtures the ports cannot create
/// (hosted zones, instances).
pub async fn sdk(region: &str) -> aws_config::SdkConfig {
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new(region.to_string()))
        .endpoint_url(moto().url.clone())
        .credentials_provider(aws_credential_types::Credentials::new(
            "testing", "testing", None, None, "test",
        ))
        .load()
        .await
}

/// An IAM user named `name` under `/ph-installer/` in `account`, as
/// installer.yaml makes the provisioning user (moto starts with none).
pub async fn create_user(account: &str, name: &str) {
    let account = account.to_string();
    aws_sdk_iam::Client::new(&sdk("us-east-1").await)
        .create_user()
        .user_name(name)
        .path("/ph-installer/")
        .customize()
        .mutate_request(move |r| {
            r.headers_mut().insert(ACCOUNT_HEADER, account.clone());
        })
        .send()
        .await
        .unwrap();
}
