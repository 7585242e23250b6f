//! Sizing: the blueprint's profiles, and what the one under the cursor
//! creates per service for the zones the region gives it, with any
//! instance type the region's services do not offer flagged.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};

use super::clip;
use crate::core::wizard::{Load, Wizard, sizing};
use crate::tui::app::View;
use crate::tui::{strings, theme};

pub fn render(f: &mut Frame, area: Rect, w: &Wizard, v: &View) {
    let g = v.glyphs;
    let roomy = area.height >= 17;
    let width = area.width as usize;
    let mut lines = vec![Line::styled(strings::PROFILES, theme::title())];
    for (i, (name, p)) in w.profiles.iter().enumerate() {
        let on = i == w.profile_cursor;
        let chosen = w.answers.profile.as_deref() == Some(name.as_str());
        let text = format!(
            "{} {:<11} {}",
            if on { g.pointer() } else { " " },
            name,
            if chosen { g.ok() } else { " " }
        );
        let room = width.saturating_sub(text.chars().count() + 1);
        let desc = clip(&p.description, room);
        lines.push(Line::from(vec![
            Span::styled(
                text,
                if on {
                    theme::selected()
                } else {
                    Style::default()
                },
            ),
            Span::styled(format!(" {desc}"), theme::dim()),
        ]));
    }
    let Some((name, profile)) = w.profiles.get(w.profile_cursor) else {
        f.render_widget(Paragraph::new(lines), area);
        return;
    };
    let zones = w.profile_zones(name);
    let check = w.profile_check(name);
    if roomy {
        lines.push(Line::raw(""));
    }
    if let Some(ed) = &w.editor {
        editor(&mut lines, w, ed, area, v);
        f.render_widget(Paragraph::new(lines), area);
        return;
    }
    let changed = w.custom.0 == *name && !w.custom.1.is_empty();
    let shown = w.effective_profile(name).unwrap_or_else(|| profile.clone());
    lines.push(Line::styled(
        if changed {
            strings::creates_changed(name, zones, w.custom.1.len())
        } else {
            strings::creates(name, zones)
        },
        theme::title(),
    ));
    for row in sizing::table(&shown, zones) {
        let flagged = check.is_some_and(|c| c.flags(&row));
        let head = format!("  {:<13}", row.service);
        let room = width.saturating_sub(head.chars().count());
        let mut spans = vec![Span::raw(head)];
        if flagged {
            // The flag first, so a narrow terminal cuts the detail, not it.
            let text = format!("{} {}: {}", g.bad(), strings::NOT_OFFERED, row.what);
            spans.push(Span::styled(clip(&text, room), theme::error()));
        } else {
            spans.push(Span::raw(clip(&row.what, room)));
        }
        lines.push(Line::from(spans));
    }
    if roomy {
        lines.push(Line::raw(""));
    }
    match (&w.sizing_checks, check) {
        (_, Some(c)) if c.fit.missing.is_empty() => {
            lines.push(Line::styled(
                format!("{} {}", g.ok(), strings::ALL_OFFERED),
                theme::good(),
            ));
            for u in &c.fit.unconfirmed {
                lines.push(Line::styled(format!("  {u}"), theme::dim()));
            }
        }
        (_, Some(c)) => {
            for m in &c.fit.missing {
                lines.push(Line::styled(format!("{} {m}", g.bad()), theme::error()));
            }
        }
        (Some((_, Load::Failed(e))), None) => {
            lines.push(Line::styled(
                format!("{} {}", g.bad(), strings::OFFERINGS_FAILED),
                theme::error(),
            ));
            lines.push(Line::raw(e.clone()));
        }
        _ => lines.push(Line::raw(format!(
            "{} {}",
            g.spinner(v.spinner),
            strings::CHECKING_OFFERINGS
        ))),
    }
    for e in w.sizing_error.iter().chain(w.save_error.iter()) {
        lines.push(Line::styled(format!("{} {e}", g.bad()), theme::error()));
    }
    f.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }), area);
}

/// The sized values of the profile being customised, one per line, the
/// one under the cursor being typed into after Enter.
fn editor(
    lines: &mut Vec<Line<'static>>,
    w: &Wizard,
    ed: &crate::core::wizard::Editor,
    area: Rect,
    v: &View,
) {
    let g = v.glyphs;
    let width = area.width as usize;
    lines.push(Line::styled(strings::editing(&w.custom.0), theme::title()));
    // Rows left below the profiles, the heading and the error line.
    let room = (area.height as usize)
        .saturating_sub(lines.len() + 2)
        .max(1);
    let first = ed.row.saturating_sub(room.saturating_sub(1));
    for (i, l) in w.limits.iter().enumerate().skip(first).take(room) {
        let on = i == ed.row;
        let mark = if w.custom.1.contains_key(&l.key) {
            "*"
        } else {
            " "
        };
        let value = match (&ed.input, on) {
            (Some(typed), true) => format!("{typed}_"),
            _ => w.custom_value(&l.key).unwrap_or_default(),
        };
        let text = format!(
            "{} {mark}{:<30} {:<16} {}",
            if on { g.pointer() } else { " " },
            l.key,
            value,
            l.describe()
        );
        lines.push(Line::styled(
            clip(&text, width),
            if on {
                theme::selected()
            } else {
                Style::default()
            },
        ));
    }
    if let Some(e) = &ed.error {
        lines.push(Line::styled(
            clip(&format!("{} {e}", g.bad()), width),
            theme::error(),
        ));
    }
}
