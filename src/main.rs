//! Parse the command line, start logging, wire the parts: nothing else.

use std::process::ExitCode;
use std::sync::Arc;

use clap::Parser;

use ph_installer::cli::{Cli, Command, Exit, OutputFormat};
use ph_installer::clock::SystemClock;
use ph_installer::core::doctor::all_passed;
use ph_installer::headless;
use ph_installer::runtime::{self, Session, Settings};
use ph_installer::store::{self, StateDir, StateDirInputs};

fn main() -> ExitCode {
    run().into()
}

fn run() -> Exit {
    let cli = Cli::parse();
    let g = &cli.global;
    let settings = Settings {
        sandbox: g.sandbox,
        sandbox_speed: g.sandbox_speed,
        sandbox_faults: g.sandbox_faults.clone(),
        region: g.region.clone(),
        profile: g.profile.clone(),
        endpoint_url: g.endpoint_url.clone(),
    };
    if let Err(refusal) = runtime::check_region_flag(&settings) {
        eprintln!("error: {refusal}");
        return Exit::Refused;
    }

    let ph_home = std::env::var_os("PH_INSTALLER_HOME");
    let xdg = std::env::var_os("XDG_STATE_HOME");
    let home = std::env::var_os("HOME");
    let inputs = StateDirInputs {
        flag: g.state_dir.as_deref(),
        ph_installer_home: ph_home.as_deref(),
        is_root: store::fsutil::current_uid() == 0,
        xdg_state_home: xdg.as_deref(),
        home: home.as_deref(),
    };
    let (base, chosen_by) = match store::choose_state_dir(&inputs) {
        Ok(choice) => choice,
        Err(e) => {
            eprintln!("error: {e}");
            return Exit::Refused;
        }
    };
    let state = match StateDir::open(&base, settings.sandbox) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {e}");
            return if e.is_refused_input() {
                Exit::Refused
            } else {
                Exit::Failed
            };
        }
    };
    let _log = match ph_installer::logging::init(&state.logs_dir(), g.log_level.as_str()) {
        Ok(guard) => guard,
        Err(e) => {
            // The machine failed a write; the operator's input was fine.
            eprintln!("error: {e}");
            return Exit::Failed;
        }
    };
    tracing::info!(version = env!("CARGO_PKG_VERSION"), sandbox = settings.sandbox, state_dir = %state.root().display(), "ph-installer started");

    let command = cli.command;
    if command.is_none() {
        use std::io::IsTerminal;
        if !(std::io::stdin().is_terminal() && std::io::stdout().is_terminal()) {
            eprintln!(
                "The install wizard needs a terminal (stdin and stdout are not one here).\n\
                 Without one:\n  ph-installer{s} doctor    check identity, region, endpoint, state dir and clock\n  \
                 ph-installer{s} regions   list the commercial regions this account can use",
                s = if settings.sandbox { " --sandbox" } else { "" }
            );
            return Exit::Refused;
        }
    }

    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: could not start the async runtime: {e}");
            return Exit::Failed;
        }
    };
    runtime.block_on(async {
        let session = Session::open(&settings, &state, Arc::new(SystemClock::new())).await;
        let refused = |e: &runtime::ConnectFailure| {
            if e.is_refused_input() {
                Exit::Refused
            } else {
                Exit::Failed
            }
        };
        let Some(command) = command else {
            return match session {
                Ok(session) => {
                    ph_installer::tui::run(
                        session,
                        ph_installer::tui::Options {
                            ascii: g.ascii,
                            answers_file: g.answers.clone(),
                        },
                    )
                    .await
                }
                Err(e) => {
                    eprintln!("error: {e}");
                    refused(&e)
                }
            };
        };
        match command {
            Command::Doctor => {
                let printer = headless::Printer {
                    json: g.output == OutputFormat::Json,
                    width: terminal_width(),
                };
                let checks = runtime::doctor::run(&session, &state, chosen_by, &printer).await;
                if g.output == OutputFormat::Text {
                    print!("{}", headless::doctor_verdict(&checks, printer.width));
                }
                match &session {
                    Err(e) => refused(e),
                    Ok(_) if all_passed(&checks) => Exit::Success,
                    Ok(_) => Exit::Failed,
                }
            }
            Command::Regions => {
                let session = match session {
                    Ok(s) => s,
                    Err(e) => {
                        eprintln!("error: {e}");
                        return refused(&e);
                    }
                };
                match runtime::regions::collect(
                    session.cloud.regions.clone(),
                    session.clock.clone(),
                )
                .await
                {
                    Ok(rows) => {
                        match g.output {
                            OutputFormat::Text => print!(
                                "{}",
                                headless::regions_text(
                                    &rows,
                                    Some(&session.region.code),
                                    terminal_width()
                                )
                            ),
                            OutputFormat::Json => print!("{}", headless::json_lines(&rows)),
                        }
                        Exit::Success
                    }
                    Err(e) => {
                        eprintln!("error: {e}");
                        Exit::Failed
                    }
                }
            }
        }
    })
}
/// The terminal's columns when stdout is one and it knows its size; `None`
/// for a pipe and for the 0x0 size an SSM session starts with.
fn terminal_width() -> Option<usize> {
    let (terminal_size::Width(w), _) = terminal_size::terminal_size_of(std::io::stdout())?;
    (w >= 40).then_some(usize::from(w))
}
