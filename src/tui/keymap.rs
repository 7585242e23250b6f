//! Terminal keys to the wizard's keys, and the hints each screen shows (the
//! help overlay and the footer read the same list, so they cannot drift).

use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};

use crate::core::wizard::{Key, Step, Wizard};

pub fn key(e: &KeyEvent) -> Option<Key> {
    if e.kind == KeyEventKind::Release {
        return None;
    }
    let ctrl = e.modifiers.contains(KeyModifiers::CONTROL);
    Some(match e.code {
        KeyCode::Char('c') | KeyCode::Char('d') if ctrl => Key::Interrupt,
        KeyCode::Char('n') if ctrl => Key::Down,
        KeyCode::Char('p') if ctrl => Key::Up,
        KeyCode::Char(c) if !ctrl => Key::Char(c),
        KeyCode::Enter => Key::Enter,
        KeyCode::Esc => Key::Esc,
        KeyCode::Up => Key::Up,
        KeyCode::Down => Key::Down,
        KeyCode::PageUp => Key::PageUp,
        KeyCode::PageDown => Key::PageDown,
        KeyCode::Home => Key::Home,
        KeyCode::End => Key::End,
        KeyCode::Tab => Key::Tab,
        KeyCode::BackTab => Key::BackTab,
        KeyCode::Backspace => Key::Backspace,
        _ => return None,
    })
}

/// The hints of what the wizard shows now: a question asked over a
/// screen has its own keys.
pub fn hints_for(w: &Wizard) -> &'static [(&'static str, &'static str)] {
    if w.step == Step::Review && w.confirmed {
        return &[
            ("Esc", "back to the review"),
            ("q", "quit"),
            ("Ctrl-C", "quit"),
        ];
    }
    if let Some(ed) = &w.editor {
        return if ed.input.is_some() {
            &[
                ("type", "value"),
                ("Enter", "keep"),
                ("Esc", "cancel"),
                ("Ctrl-C", "quit"),
            ]
        } else {
            &[
                ("Up/Down", "value"),
                ("Enter", "edit"),
                ("x", "restore"),
                ("Esc", "done"),
                ("Ctrl-C", "quit"),
            ]
        };
    }
    if w.cert_order.is_some() {
        return &[
            ("Enter", "request it"),
            ("Esc", "back, nothing requested"),
            ("?", "help"),
            ("Ctrl-C", "quit"),
        ];
    }
    hints(w.step)
}

/// (keys, what they do) for `step`.
pub fn hints(step: Step) -> &'static [(&'static str, &'static str)] {
    match step {
        Step::Welcome => &[
            ("type", "install name"),
            ("Enter", "next"),
            ("?", "help"),
            ("Ctrl-C", "quit"),
        ],
        Step::Region => &[
            ("Up/Down", "move"),
            ("type", "filter"),
            ("Enter", "choose"),
            ("Esc", "clear/back"),
            ("?", "help"),
            ("Ctrl-C", "quit"),
        ],
        Step::Domain => &[
            ("type", "domain"),
            ("Up/Down", "certificate"),
            ("Enter", "next"),
            ("Esc", "back"),
            ("?", "help"),
            ("Ctrl-C", "quit"),
        ],
        Step::Sizing => &[
            ("Up/Down", "profile"),
            ("Enter", "choose"),
            ("e", "change values"),
            ("Esc", "back"),
            ("?", "help"),
            ("Ctrl-C", "quit"),
        ],
        Step::Secrets => &[
            ("Enter", "next"),
            ("Esc", "back"),
            ("?", "help"),
            ("Ctrl-C", "quit"),
        ],
        Step::Review => &[
            ("Enter", "confirm"),
            ("1-6", "go to step"),
            ("Esc", "back"),
            ("?", "help"),
            ("Ctrl-C", "quit"),
        ],
    }
}
