//! Sizing: the blueprint's profiles, and what the one under the cursor
//! creates per service for the zones the region gives it, with any
//! instance type the region's services do not offer flagged.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};

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
        let desc: String = p.description.chars().take(room).collect();
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
    let zones = w.profile_zones(name, profile);
    let check = w.profile_check(name);
    if roomy {
        lines.push(Line::raw(""));
    }
    lines.push(Line::styled(strings::creates(name, zones), theme::title()));
    for row in sizing::table(profile, zones) {
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

/// `text` cut to `width` characters.
fn clip(text: &str, width: usize) -> String {
    text.chars().take(width).collect()
}
