//! Welcome: who the installer acts as, the region and why, the install name.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};

use crate::core::wizard::{Load, Wizard};
use crate::tui::app::View;
use crate::tui::{strings, theme};

pub fn render(f: &mut Frame, area: Rect, w: &Wizard, v: &View) {
    let g = v.glyphs;
    let mut lines: Vec<Line<'static>> = vec![Line::styled(strings::WHO, theme::title())];
    // A value too long for the line goes under its label, whole.
    let width = usize::from(area.width);
    let room = width.saturating_sub(15);
    let fact = |lines: &mut Vec<Line<'static>>, label: &str, value: String| {
        let len = value.chars().count();
        if len > room {
            lines.push(Line::raw(format!("  {label}")));
            // An ARN too long for one line breaks after a '/', whole parts.
            let fits = width.saturating_sub(4);
            let cut = if len > fits {
                value
                    .char_indices()
                    .filter(|(i, c)| *c == '/' && *i < fits)
                    .map(|(i, _)| i + 1)
                    .next_back()
            } else {
                None
            };
            match cut {
                Some(i) => {
                    lines.push(Line::raw(format!("    {}", &value[..i])));
                    lines.push(Line::raw(format!("    {}", &value[i..])));
                }
                None => lines.push(Line::raw(format!("    {value}"))),
            }
        } else {
            lines.push(Line::raw(format!("  {label:<12} {value}")));
        }
    };
    match &w.identity {
        Load::Pending => lines.push(Line::raw(format!(
            "  {} {}",
            g.spinner(v.spinner),
            strings::ASKING_AWS
        ))),
        Load::Ready(id) => {
            fact(&mut lines, strings::ACCOUNT, id.account.clone());
            fact(&mut lines, strings::IDENTITY, id.arn.clone());
            fact(&mut lines, strings::CREDENTIALS, id.credentials.clone());
        }
        Load::Failed(e) => {
            lines.push(Line::styled(
                format!("  {} {}", g.bad(), strings::NO_IDENTITY),
                theme::error(),
            ));
            lines.push(Line::raw(format!("  {e}")));
            lines.push(Line::raw(""));
            lines.push(Line::raw(format!("  {}", strings::RETRY_OR_LEAVE)));
            f.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }), area);
            return;
        }
    }
    fact(
        &mut lines,
        strings::REGION,
        format!("{}, chosen by {}", w.session_region, w.region_why),
    );
    match (&w.bootstrap, w.identity.ready()) {
        (Load::Ready(Some(b)), Some(id)) => {
            fact(
                &mut lines,
                strings::INSTALLER,
                strings::bootstrap_found(&b.stack),
            );
            if let Some(role) = b.role_name() {
                if b.is_used_by(&id.arn) {
                    fact(&mut lines, strings::ROLE, strings::role_in_use(role));
                } else {
                    lines.push(Line::styled(
                        format!("  {} {}", g.bad(), strings::role_not_in_use(role)),
                        theme::error(),
                    ));
                }
            }
        }
        (Load::Ready(None), _) => lines.push(Line::styled(
            format!(
                "  {} {}",
                g.bad(),
                strings::bootstrap_missing(w.session_region.as_str())
            ),
            theme::error(),
        )),
        (Load::Failed(e), _) => {
            lines.push(Line::styled(format!("  {} {e}", g.bad()), theme::error()))
        }
        _ => {}
    }
    for i in w.unknown_installs() {
        lines.push(Line::raw(""));
        lines.push(Line::styled(
            format!(
                "{} {}",
                g.bad(),
                strings::unknown_install(&i.name, i.stacks, &i.region)
            ),
            theme::error(),
        ));
    }
    if let Some(name) = &w.answers.install_name {
        lines.push(Line::raw(""));
        lines.push(Line::raw(strings::holds_install(name.as_str())));
    }
    lines.push(Line::raw(""));
    lines.push(Line::styled(strings::INSTALL_NAME, theme::title()));
    lines.push(Line::from(vec![
        Span::raw("  "),
        Span::styled(format!("{}_", w.name_input), theme::selected()),
        Span::styled(format!("  {}", strings::INSTALL_NAME_RULE), theme::dim()),
    ]));
    match &w.name_error {
        Some(e) => lines.push(Line::styled(format!("  {} {e}", g.bad()), theme::error())),
        None => lines.push(Line::styled(
            format!("  {}", strings::install_name_use(&w.name_input)),
            theme::dim(),
        )),
    }
    if let Some(e) = &w.save_error {
        lines.push(Line::styled(
            format!("  {} {} {e}", g.bad(), strings::NOT_SAVED),
            theme::error(),
        ));
    }
    f.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }), area);
}
