//! One file per screen; each is `render(frame, area, &Wizard, &View)`.

pub mod domain;
pub mod region;
pub mod review;
pub mod secrets;
pub mod sizing;
pub mod welcome;
