//! The sandbox account: a simulated AWS account behind the same ports,
//! persisted in the state dir, on a virtual clock.

pub mod cfn;
pub mod faults;
