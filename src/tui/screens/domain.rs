//! Domain and certificate: the name the application answers on, its hosted
//! zone (found by longest suffix), and the issued certificates of the region
//! that cover it, offered for reuse.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};

use crate::core::wizard::{Load, Wizard};
use crate::tui::app::View;
use crate::tui::{strings, theme};

pub fn render(f: &mut Frame, area: Rect, w: &Wizard, v: &View) {
    let g = v.glyphs;
    let region = w
        .answers
        .region
        .as_ref()
        .map(|r| r.to_string())
        .unwrap_or_default();
    let typing = w.examined.is_none();
    let mut lines = vec![
        Line::styled(strings::DOMAIN_PROMPT, theme::title()),
        Line::from(vec![
            Span::raw("  "),
            Span::styled(
                format!("{}{}", w.domain_input, if typing { "_" } else { "" }),
                if typing {
                    theme::selected()
                } else {
                    ratatui::style::Style::default()
                },
            ),
            Span::styled(
                if w.domain_input.is_empty() {
                    format!("  {}", strings::DOMAIN_EXAMPLE)
                } else {
                    String::new()
                },
                theme::dim(),
            ),
        ]),
    ];
    if let Some(e) = &w.domain_error {
        lines.push(Line::styled(format!("  {} {e}", g.bad()), theme::error()));
    }
    if let Some(d) = w.domain.as_ref().filter(|d| d.is_idn()) {
        lines.push(Line::styled(
            format!("  {}", strings::idn_forms(&d.unicode, &d.ascii)),
            theme::dim(),
        ));
    }
    lines.push(Line::raw(""));
    match &w.examined {
        None => {}
        Some(Load::Pending) => lines.push(Line::raw(format!(
            "{} {}",
            g.spinner(v.spinner),
            strings::LOOKING
        ))),
        Some(Load::Failed(e)) => {
            lines.push(Line::styled(
                format!("{} {}", g.bad(), strings::EXAMINE_FAILED),
                theme::error(),
            ));
            lines.push(Line::raw(e.clone()));
        }
        Some(Load::Ready(facts)) => {
            lines.push(Line::raw(match &facts.zone {
                Some((id, name)) => strings::zone_found(name, id),
                None => strings::NO_ZONE.to_string(),
            }));
            lines.push(Line::raw(""));
            let reusable = w.reusable_certificates();
            if reusable.is_empty() {
                let domain = w.domain.as_ref().map(|d| d.ascii.as_str()).unwrap_or("");
                lines.push(Line::raw(strings::no_reusable(&region, domain)));
            } else {
                lines.push(Line::styled(
                    strings::reuse_heading(&region),
                    theme::title(),
                ));
                for (i, c) in reusable.iter().enumerate() {
                    let days = c
                        .not_after
                        .and_then(|t| t.duration_since(facts.read_at).ok())
                        .map(|d| d.as_secs() / 86_400)
                        .unwrap_or(0);
                    let id: String = c
                        .arn
                        .rsplit('/')
                        .next()
                        .unwrap_or(&c.arn)
                        .chars()
                        .take(8)
                        .collect();
                    let text = format!(
                        "{} {:<32} {id}...  {}",
                        if i == w.cert_cursor { g.pointer() } else { " " },
                        c.names.join(", "),
                        strings::expires(days)
                    );
                    let style = if i == w.cert_cursor {
                        theme::selected()
                    } else {
                        ratatui::style::Style::default()
                    };
                    lines.push(Line::styled(text, style));
                }
            }
        }
    }
    if let Some(e) = &w.save_error {
        lines.push(Line::styled(
            format!("{} {} {e}", g.bad(), strings::NOT_SAVED),
            theme::error(),
        ));
    }
    f.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }), area);
}
