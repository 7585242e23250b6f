//! Domain and certificate: the name the application answers on, its hosted
//! zone (found by longest suffix), and the issued certificates of the region
//! that cover it, offered for reuse.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};

use ratatui::style::Style;

use crate::core::wizard::certificate::CertificateOrder;
use crate::core::wizard::{Load, Wizard};
use crate::tui::app::View;
use crate::tui::{strings, theme};

pub fn render(f: &mut Frame, area: Rect, w: &Wizard, v: &View) {
    if let Some((order, call)) = &w.cert_order {
        return render_order(f, area, order, call.as_ref(), v);
    }
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
                    Style::default()
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
            lines.push(Line::raw(strings::EXAMINE_RETRY));
        }
        Some(Load::Ready(facts)) => {
            lines.push(Line::raw(match &facts.zone {
                Some((id, name)) => strings::zone_found(name, id),
                None => strings::NO_ZONE.to_string(),
            }));
            lines.push(Line::raw(""));
            let domain = w.domain.as_ref().map(|d| d.ascii.as_str()).unwrap_or("");
            let reusable = w.reusable_certificates();
            if reusable.is_empty() {
                lines.push(Line::raw(strings::no_reusable(&region, domain)));
            } else {
                lines.push(Line::styled(
                    strings::reuse_heading(&region),
                    theme::title(),
                ));
            }
            let row = |i: usize, text: String| {
                let on = i == w.cert_cursor;
                Line::styled(
                    format!("{} {text}", if on { g.pointer() } else { " " }),
                    if on {
                        theme::selected()
                    } else {
                        Style::default()
                    },
                )
            };
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
                lines.push(row(
                    i,
                    format!(
                        "{:<32} {id}...  {}",
                        c.names.join(", "),
                        strings::expires(days)
                    ),
                ));
            }
            lines.push(row(
                reusable.len(),
                if w.earlier_request().is_some() {
                    strings::earlier_row(domain)
                } else {
                    strings::request_row(domain)
                },
            ));
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

/// What requesting a certificate does, asked before anything is created.
fn render_order(
    f: &mut Frame,
    area: Rect,
    order: &CertificateOrder,
    call: Option<&Load<()>>,
    v: &View,
) {
    let g = v.glyphs;
    let mut lines = vec![
        Line::styled(strings::REQUEST_TITLE, theme::title()),
        Line::raw(strings::request_will(&order.domain, &order.region)),
        Line::raw(""),
        Line::raw(match &order.zone {
            Some((_, zone)) => strings::request_zone(zone.trim_end_matches('.')),
            None => strings::request_no_zone(&v.records_path),
        }),
    ];
    match call {
        None => lines.push(Line::styled(strings::REQUEST_CONFIRM, theme::selected())),
        Some(Load::Pending) | Some(Load::Ready(())) => lines.push(Line::raw(format!(
            "{} {}",
            g.spinner(v.spinner),
            strings::REQUESTING
        ))),
        Some(Load::Failed(e)) => {
            lines.push(Line::styled(
                format!("{} {} {e}", g.bad(), strings::REQUEST_FAILED),
                theme::error(),
            ));
            lines.push(Line::raw(strings::REQUEST_RETRY));
        }
    }
    f.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }), area);
}
