//! Sizing: the next part of the wizard, not in this build. It says so,
//! shows what is saved, and that a rerun returns here.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::Line;
use ratatui::widgets::{Paragraph, Wrap};

use crate::core::wizard::Wizard;
use crate::tui::app::View;
use crate::tui::{strings, theme};

pub fn render(f: &mut Frame, area: Rect, w: &Wizard, v: &View) {
    let g = v.glyphs;
    let a = &w.answers;
    let saved = [
        (
            strings::INSTALL_NAME,
            a.install_name.as_ref().map(|n| n.to_string()),
        ),
        (strings::REGION, a.region.as_ref().map(|r| r.to_string())),
        (strings::DOMAIN, a.domain.clone()),
        (
            strings::CERTIFICATE,
            // The ARN's resource part (certificate/<id>) fits the line.
            a.certificate_arn
                .as_deref()
                .and_then(|arn| arn.rsplit(':').next())
                .map(str::to_string),
        ),
    ];
    let mut lines = vec![
        Line::raw(strings::SIZING_NEXT),
        Line::raw(""),
        Line::raw(strings::saved_so_far(&v.config_path)),
    ];
    for (label, value) in saved {
        lines.push(Line::styled(
            format!("  {} {label:<13} {}", g.ok(), value.unwrap_or_default()),
            theme::good(),
        ));
    }
    lines.push(Line::raw(""));
    lines.push(Line::raw(strings::RESUME));
    if let Some(e) = &w.save_error {
        lines.push(Line::raw(""));
        lines.push(Line::styled(
            format!("{} {} {e}", g.bad(), strings::NOT_SAVED),
            theme::error(),
        ));
    }
    f.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }), area);
}
