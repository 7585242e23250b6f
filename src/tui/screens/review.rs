//! Review: every answer, where the certificate stands, the sizing, the
//! secrets by name, and the stacks with what each creates, scrolled with
//! the arrows; the line that says how to confirm stays in view. Confirm
//! hands over to the deploy.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::Line;
use ratatui::widgets::{Paragraph, Wrap};

use super::clip;
use crate::core::wizard::{AccessKeyState, Load, Wizard, sizing};
use crate::tui::app::View;
use crate::tui::{strings, theme};

pub fn render(f: &mut Frame, area: Rect, w: &Wizard, v: &View) {
    let g = v.glyphs;
    if w.confirmed {
        let lines = vec![
            Line::styled(format!("{} {}", g.ok(), strings::CONFIRMED), theme::good()),
            Line::raw(""),
            Line::raw(strings::DEPLOY_NEXT),
        ];
        f.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }), area);
        return;
    }
    let lines = body(w, area.width as usize);
    let [top, bottom] = Layout::vertical([Constraint::Min(1), Constraint::Length(1)]).areas(area);
    let shown = top.height as usize;
    let max = lines.len().saturating_sub(shown);
    v.review_max.set(max as u16);
    let scroll = (w.review_scroll as usize).min(max);
    let more = lines.len() > scroll + shown;
    f.render_widget(
        // Lines are cut to the width here, so one line is one row and the
        // scroll stops at the last.
        Paragraph::new(lines).scroll((scroll as u16, 0)),
        top,
    );
    let prompt = if more {
        format!("{}  {}", strings::REVIEW_CONFIRM, strings::MORE_BELOW)
    } else {
        strings::REVIEW_CONFIRM.to_string()
    };
    f.render_widget(
        Paragraph::new(Line::styled(prompt, theme::selected())),
        bottom,
    );
}

fn body(w: &Wizard, width: usize) -> Vec<Line<'static>> {
    let a = &w.answers;
    let mut lines = vec![Line::styled(strings::REVIEW_ANSWERS, theme::title())];
    let profile = a.profile.clone().unwrap_or_default();
    let zones = w.profile(&profile).map(|_| w.profile_zones(&profile));
    let secrets = match &w.secrets {
        Some(Load::Ready(rep)) => {
            let mut names: Vec<&str> = rep
                .generated
                .iter()
                .chain(rep.kept.iter())
                .map(|n| strings::secret_label(n))
                .collect();
            if !matches!(rep.access_key, AccessKeyState::Failed(_)) {
                names.push(strings::ACCESS_KEY);
            }
            Some(format!("{} ({})", names.join(", "), rep.path))
        }
        _ => None,
    };
    let rows = [
        (
            "1",
            strings::INSTALL_NAME,
            a.install_name.as_ref().map(|n| n.to_string()),
        ),
        (
            "2",
            strings::REGION,
            a.region.as_ref().map(|r| r.to_string()),
        ),
        ("3", strings::DOMAIN, a.domain.clone()),
        (
            "3",
            strings::CERTIFICATE,
            Some(strings::cert_line(w.cert.as_ref())),
        ),
        (
            "4",
            strings::PROFILES,
            Some(match zones {
                Some(z) => format!("{profile}, {z} zones"),
                None => profile.clone(),
            }),
        ),
        ("5", strings::SECRETS_REVIEW, secrets),
    ];
    for (step, label, value) in rows {
        let value = value.unwrap_or_default();
        let words: Vec<String> = value.split(' ').map(str::to_string).collect();
        for row in wrapped_words(&format!("{step} {label:<15}"), &words, width) {
            lines.push(Line::raw(row));
        }
    }
    if let (Some(p), Some(z)) = (w.effective_profile(&profile), zones) {
        if w.custom.0 == profile && !w.custom.1.is_empty() {
            let changed: Vec<String> = w.custom.1.iter().map(|(k, v)| format!("{k}={v}")).collect();
            for row in wrapped("  changed", &changed, width) {
                lines.push(Line::raw(row));
            }
        }
        for row in sizing::table(&p, z) {
            lines.push(Line::styled(
                format!("      {:<13} {}", row.service, row.what),
                theme::dim(),
            ));
        }
    }
    let total: usize = w.stacks.iter().map(|s| s.resources).sum();
    lines.push(Line::styled(
        strings::review_stacks(w.stacks.len(), total),
        theme::title(),
    ));
    for s in &w.stacks {
        lines.push(Line::raw(format!(
            "  {}",
            strings::stack_line(s.wave, &s.name, s.resources, s.conditional)
        )));
        let kinds: Vec<String> = s.by_type.iter().map(|(t, n)| format!("{n} {t}")).collect();
        for row in wrapped("    ", &kinds, width) {
            lines.push(Line::styled(row, theme::dim()));
        }
    }
    lines.push(Line::raw(strings::NOTHING_CREATED));
    lines
}

/// `words` after `head`, broken into rows of `width` under a hanging indent.
fn wrapped_words(head: &str, words: &[String], width: usize) -> Vec<String> {
    rows(head, words, width, "")
}

/// `items` after `head`, joined by ", " and broken into rows of `width`
/// under a hanging indent; a single item longer than a row is cut.
fn wrapped(head: &str, items: &[String], width: usize) -> Vec<String> {
    rows(head, items, width, ",")
}

fn rows(head: &str, items: &[String], width: usize, sep: &str) -> Vec<String> {
    let indent = " ".repeat(head.chars().count() + 3);
    let mut rows = Vec::new();
    let mut row = format!("  {head} ");
    let mut empty = true;
    for (i, item) in items.iter().enumerate() {
        let piece = if i + 1 < items.len() {
            format!("{item}{sep}")
        } else {
            item.clone()
        };
        let len = row.chars().count() + piece.chars().count() + usize::from(!empty);
        if !empty && len > width {
            rows.push(std::mem::replace(&mut row, indent.clone()));
            empty = true;
        }
        if !empty {
            row.push(' ');
        }
        row.push_str(&piece);
        empty = false;
    }
    rows.push(row);
    rows.into_iter().map(|r| clip(&r, width)).collect()
}
