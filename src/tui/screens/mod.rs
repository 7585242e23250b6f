//! One file per screen; each is `render(frame, area, &Wizard, &View)`.

pub mod domain;
pub mod region;
pub mod review;
pub mod secrets;
pub mod sizing;
pub mod welcome;

/// `text` cut to `width` characters, for lines that must not wrap.
pub fn clip(text: &str, width: usize) -> String {
    text.chars().take(width).collect()
}
