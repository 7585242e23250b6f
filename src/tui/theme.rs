//! Glyphs and styles. Meaning is carried by words and glyphs, never by
//! colour alone (crossterm drops colours under NO_COLOR), and the selection
//! is reversed video.

use ratatui::style::{Color, Modifier, Style};
use ratatui::symbols::border;

/// Chosen once: UTF-8 box drawing, or ASCII for links that break it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Glyphs {
    pub ascii: bool,
}

const ASCII_BORDER: border::Set = border::Set {
    top_left: "+",
    top_right: "+",
    bottom_left: "+",
    bottom_right: "+",
    vertical_left: "|",
    vertical_right: "|",
    horizontal_top: "-",
    horizontal_bottom: "-",
};

impl Glyphs {
    /// ASCII when asked, or when the locale does not say UTF-8.
    pub fn detect(ascii_flag: bool) -> Glyphs {
        let utf8 = ["LC_ALL", "LC_CTYPE", "LANG"]
            .iter()
            .find_map(|v| std::env::var(v).ok().filter(|s| !s.is_empty()))
            .is_some_and(|l| {
                let l = l.to_ascii_lowercase();
                l.contains("utf-8") || l.contains("utf8")
            });
        Glyphs {
            ascii: ascii_flag || !utf8,
        }
    }

    pub fn border(self) -> border::Set<'static> {
        if self.ascii {
            ASCII_BORDER
        } else {
            border::ROUNDED
        }
    }
    pub fn ok(self) -> &'static str {
        if self.ascii { "ok" } else { "✓" }
    }
    pub fn bad(self) -> &'static str {
        if self.ascii { "!!" } else { "✗" }
    }
    pub fn pointer(self) -> &'static str {
        if self.ascii { ">" } else { "▸" }
    }
    pub fn separator(self) -> &'static str {
        if self.ascii { " > " } else { " › " }
    }
    pub fn spinner(self, frame: usize) -> &'static str {
        const UTF: [&str; 4] = ["⠋", "⠙", "⠸", "⠴"];
        const ASCII: [&str; 4] = ["|", "/", "-", "\\"];
        if self.ascii {
            ASCII[frame % 4]
        } else {
            UTF[frame % 4]
        }
    }
}

pub fn title() -> Style {
    Style::default().add_modifier(Modifier::BOLD)
}
pub fn dim() -> Style {
    Style::default().add_modifier(Modifier::DIM)
}
pub fn selected() -> Style {
    Style::default().add_modifier(Modifier::REVERSED)
}
pub fn error() -> Style {
    Style::default().fg(Color::Red).add_modifier(Modifier::BOLD)
}
pub fn good() -> Style {
    Style::default().fg(Color::Green)
}
pub fn current_step() -> Style {
    Style::default().add_modifier(Modifier::BOLD | Modifier::UNDERLINED)
}
