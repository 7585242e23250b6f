//! ph-installer: installs the PersonalisationHub stack into an AWS account.
//!
//! Data flows one way: front ends (`headless`, later `tui`) -> `runtime` ->
//! `core`; `runtime` -> `cloud` and `store`. See README.md ("Architecture").

pub mod cli;
pub mod clock;
pub mod cloud;
pub mod core;
pub mod headless;
pub mod logging;
pub mod runtime;
pub mod store;
pub mod tui;
