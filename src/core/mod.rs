//! The pure core: no I/O, no clock, no async runtime, no SDK types.
//! Everything here is tested with plain `#[test]`s.

pub mod account;
pub mod answers;
pub mod blueprint;
pub mod deploy;
pub mod doctor;
pub mod install_name;
pub mod progress;
pub mod region;
pub mod regions;
pub mod secret;
pub mod stack;
pub mod text;
pub mod wizard;
