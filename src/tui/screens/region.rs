//! Region: the commercial regions grouped as the deployment guide groups
//! them, with name, zone count and whether the account has them enabled;
//! type to filter; the session's region preselected.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};

use crate::core::wizard::{Load, Wizard, group_of};
use crate::tui::app::View;
use crate::tui::{strings, theme};

pub fn render(f: &mut Frame, area: Rect, w: &Wizard, v: &View) {
    let g = v.glyphs;
    let message_height = if w.region_error.is_some() || w.save_error.is_some() {
        4
    } else {
        2
    };
    let [filter_area, list_area, message_area] = Layout::vertical([
        Constraint::Length(2),
        Constraint::Min(1),
        Constraint::Length(message_height),
    ])
    .areas(area);

    let filter = if w.filter.is_empty() {
        Line::from(vec![
            Span::styled(format!("{}: ", strings::FILTER), theme::title()),
            Span::styled(strings::FILTER_HINT, theme::dim()),
        ])
    } else {
        Line::from(vec![
            Span::styled(format!("{}: ", strings::FILTER), theme::title()),
            Span::styled(format!("{}_", w.filter), theme::selected()),
        ])
    };
    f.render_widget(Paragraph::new(filter), filter_area);

    let rows = match &w.regions {
        Load::Pending => {
            let line = format!("{} {}", g.spinner(v.spinner), strings::LOADING_REGIONS);
            f.render_widget(Paragraph::new(line), list_area);
            return;
        }
        Load::Failed(e) => {
            let lines = vec![
                Line::styled(
                    format!("{} {}", g.bad(), strings::REGIONS_FAILED),
                    theme::error(),
                ),
                Line::raw(e.clone()),
            ];
            f.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }), list_area);
            return;
        }
        Load::Ready(_) => w.visible_regions(),
    };

    // One line per group heading and per region; the cursor's line stays in view.
    let mut lines: Vec<Line> = Vec::new();
    let mut selected_line = 0;
    let mut group = "";
    for (i, r) in rows.iter().enumerate() {
        let this = group_of(&r.geography);
        if this != group {
            lines.push(Line::styled(this.to_string(), theme::title()));
            group = this;
        }
        let usable = r.usable();
        let status = if usable {
            strings::ENABLED
        } else {
            strings::NOT_ENABLED
        };
        let zones = r
            .az_count
            .map(|n| format!("{n} {}", strings::ZONES))
            .unwrap_or_default();
        let name = r.name.clone().unwrap_or_else(|| strings::NEW_REGION.into());
        let pointer = if i == w.cursor { g.pointer() } else { " " };
        let text = format!(
            "{pointer} {:<15} {:<28} {:>8}  {status}",
            r.code.as_str(),
            truncate(&name, 28),
            zones
        );
        let style = if i == w.cursor {
            theme::selected()
        } else if usable {
            ratatui::style::Style::default()
        } else {
            theme::dim()
        };
        if i == w.cursor {
            selected_line = lines.len();
        }
        lines.push(Line::styled(text, style));
    }
    let height = list_area.height as usize;
    let offset = selected_line.saturating_sub(height.saturating_sub(1));
    f.render_widget(
        Paragraph::new(lines).scroll((u16::try_from(offset).unwrap_or(0), 0)),
        list_area,
    );

    let message = match (&w.region_error, &w.save_error) {
        (Some(e), _) => Line::styled(format!("{} {e}", g.bad()), theme::error()),
        (None, Some(e)) => Line::styled(
            format!("{} {} {e}", g.bad(), strings::NOT_SAVED),
            theme::error(),
        ),
        (None, None) => Line::styled(
            strings::current_region(w.session_region.as_str(), &w.region_why),
            theme::dim(),
        ),
    };
    f.render_widget(
        Paragraph::new(message).wrap(Wrap { trim: false }),
        message_area,
    );
}

fn truncate(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_string()
    } else {
        let mut t: String = s.chars().take(max.saturating_sub(3)).collect();
        t.push_str("...");
        t
    }
}
