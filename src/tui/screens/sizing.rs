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
    let name = w
        .answers
        .install_name
        .as_ref()
        .map(|n| n.as_str().to_string())
        .unwrap_or_default();
    let region = w
        .answers
        .region
        .as_ref()
        .map(|r| r.to_string())
        .unwrap_or_default();
    let mut lines = vec![
        Line::raw(strings::SIZING_NEXT),
        Line::raw(""),
        Line::raw(strings::saved_so_far(&v.config_path)),
        Line::styled(
            format!("  {} {:<13} {name}", g.ok(), strings::INSTALL_NAME),
            theme::good(),
        ),
        Line::styled(
            format!("  {} {:<13} {region}", g.ok(), strings::REGION),
            theme::good(),
        ),
        Line::styled(
            format!(
                "  {} {:<13} {}",
                g.ok(),
                strings::DOMAIN,
                w.answers.domain.clone().unwrap_or_default()
            ),
            theme::good(),
        ),
        Line::styled(
            format!(
                "  {} {:<13} {}",
                g.ok(),
                strings::CERTIFICATE,
                // The ARN's resource part (certificate/<id>) fits the line.
                w.answers
                    .certificate_arn
                    .as_deref()
                    .and_then(|a| a.rsplit(':').next())
                    .unwrap_or_default()
            ),
            theme::good(),
        ),
        Line::raw(""),
        Line::raw(strings::RESUME),
    ];
    if let Some(e) = &w.save_error {
        lines.push(Line::raw(""));
        lines.push(Line::styled(
            format!("{} {} {e}", g.bad(), strings::NOT_SAVED),
            theme::error(),
        ));
    }
    f.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }), area);
}
