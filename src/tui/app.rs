//! The frame: size gate, header with the steps, the screen, the key hints,
//! and the help overlay drawn last over a cleared box. Pure: what is drawn
//! depends only on the wizard and the view.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph, Wrap};

use super::theme::{self, Glyphs};
use super::{keymap, screens, strings};
use crate::core::wizard::{InFlight, Overlay, Step, Wizard};

/// The smallest terminal the wizard draws in.
pub const MIN_SIZE: (u16, u16) = (60, 18);

/// What the front end knows besides the wizard.
#[derive(Debug, Clone)]
pub struct View {
    pub glyphs: Glyphs,
    pub sandbox: bool,
    /// Where the answers are saved, as shown.
    pub config_path: String,
    /// Where the validation records for a DNS provider are written.
    pub records_path: String,
    /// Advances while something is loading.
    pub spinner: usize,
    /// The furthest the review scrolls at the size last drawn, written by
    /// the review as it draws (the wizard is told, so Up answers at once
    /// after Down went past the end).
    pub review_max: std::cell::Cell<u16>,
}

pub fn render(f: &mut Frame, w: &Wizard, v: &View) {
    let area = f.area();
    if area.width == 0 || area.height == 0 {
        // The size is not known yet (SSM starts that way): draw nothing.
        return;
    }
    if area.width < MIN_SIZE.0 || area.height < MIN_SIZE.1 {
        let msg = strings::too_small(MIN_SIZE, (area.width, area.height));
        f.render_widget(Paragraph::new(msg).wrap(Wrap { trim: true }), area);
        return;
    }
    let [header, steps, body, footer] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Length(1),
        Constraint::Min(0),
        Constraint::Length(1),
    ])
    .areas(area);
    f.render_widget(Paragraph::new(header_line(w, v)), header);
    f.render_widget(
        Paragraph::new(steps_line(w.step, v.glyphs, steps.width)),
        steps,
    );
    let block = Block::bordered()
        .border_set(v.glyphs.border())
        .padding(ratatui::widgets::Padding::horizontal(1))
        .title(Span::styled(
            format!(" {} ", strings::step_title(w.step)),
            theme::title(),
        ));
    let inner = block.inner(body);
    f.render_widget(block, body);
    match w.step {
        Step::Welcome => screens::welcome::render(f, inner, w, v),
        Step::Region => screens::region::render(f, inner, w, v),
        Step::Domain => screens::domain::render(f, inner, w, v),
        Step::Sizing => screens::sizing::render(f, inner, w, v),
        Step::Secrets => screens::secrets::render(f, inner, w, v),
        Step::Review => screens::review::render(f, inner, w, v),
    }
    f.render_widget(Paragraph::new(hints_line(w)), footer);
    match w.overlay {
        Some(Overlay::Help) => help(f, body, w, v),
        Some(Overlay::ConfirmQuit(what)) => confirm_quit(f, body, what, v),
        None => {}
    }
}

fn header_line(w: &Wizard, v: &View) -> Line<'static> {
    let mut spans = vec![Span::styled(strings::APP, theme::title())];
    if let Some(id) = w.identity.ready() {
        spans.push(Span::raw(format!(
            "  {} {}",
            strings::ACCOUNT.to_lowercase(),
            id.account
        )));
    }
    let region = w
        .answers
        .region
        .as_ref()
        .unwrap_or(&w.session_region)
        .to_string();
    spans.push(Span::raw(format!("  {region}")));
    if v.sandbox {
        spans.push(Span::styled(
            format!("  [{}]", strings::SANDBOX_BADGE),
            theme::dim(),
        ));
    }
    Line::from(spans)
}

fn steps_line(current: Step, g: Glyphs, width: u16) -> Line<'static> {
    let full: usize = Step::ALL
        .iter()
        .map(|s| strings::step_short(*s).chars().count() + 2)
        .sum::<usize>()
        + g.separator().chars().count() * (Step::ALL.len() - 1);
    // Too narrow for every name: the current step's name, the others' numbers.
    let named = |s: Step| full <= width as usize || s == current;
    let mut spans = Vec::new();
    for (i, s) in Step::ALL.iter().enumerate() {
        if i > 0 {
            spans.push(Span::styled(g.separator(), theme::dim()));
        }
        let label = if named(*s) {
            format!("{} {}", i + 1, strings::step_short(*s))
        } else {
            format!("{}", i + 1)
        };
        let style = if *s == current {
            theme::current_step()
        } else if *s < current {
            ratatui::style::Style::default()
        } else {
            theme::dim()
        };
        spans.push(Span::styled(label, style));
    }
    Line::from(spans)
}

fn hints_line(w: &Wizard) -> Line<'static> {
    let mut spans = Vec::new();
    for (i, (keys, what)) in keymap::hints_for(w).iter().enumerate() {
        if i > 0 {
            spans.push(Span::raw("  "));
        }
        spans.push(Span::styled(*keys, theme::title()));
        spans.push(Span::raw(format!(" {what}")));
    }
    Line::from(spans)
}

/// A box centred in `body`, `width` x `height` at most.
fn centred(body: Rect, width: u16, height: u16) -> Rect {
    let width = width.min(body.width.saturating_sub(4));
    let height = height.min(body.height);
    Rect {
        x: body.x + (body.width.saturating_sub(width)) / 2,
        y: body.y + (body.height.saturating_sub(height)) / 2,
        width,
        height,
    }
}

fn confirm_quit(f: &mut Frame, body: Rect, what: InFlight, v: &View) {
    let area = centred(body, 60, 9);
    let lines = vec![
        Line::raw(strings::in_flight(what)),
        Line::raw(""),
        Line::styled(strings::QUIT_CONFIRM, theme::title()),
    ];
    f.render_widget(Clear, area);
    f.render_widget(
        Paragraph::new(lines).wrap(Wrap { trim: false }).block(
            Block::bordered()
                .border_set(v.glyphs.border())
                .padding(ratatui::widgets::Padding::horizontal(1))
                .title(format!(" {} ", strings::QUIT_TITLE)),
        ),
        area,
    );
}

fn help(f: &mut Frame, body: Rect, w: &Wizard, v: &View) {
    let hints = keymap::hints_for(w);
    let area = centred(body, 50, hints.len() as u16 + 4);
    let mut lines: Vec<Line> = hints
        .iter()
        .map(|(k, what)| {
            Line::from(vec![
                Span::styled(format!("{k:<14}"), theme::title()),
                Span::raw(*what),
            ])
        })
        .collect();
    lines.push(Line::raw(""));
    lines.push(Line::styled(strings::HELP_CLOSE, theme::dim()));
    f.render_widget(Clear, area);
    f.render_widget(
        Paragraph::new(lines).block(
            Block::bordered()
                .border_set(v.glyphs.border())
                .title(format!(" {} ", strings::HELP_TITLE)),
        ),
        area,
    );
}
