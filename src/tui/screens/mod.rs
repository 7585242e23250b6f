//! One file per screen; each is `render(frame, area, &Wizard, &View)`.

pub mod domain;
pub mod region;
pub mod sizing;
pub mod welcome;
