//! Secrets: what the stacks need, generated once into the secrets file,
//! and the provisioning user's access key, listed by name and where they
//! are kept. No value is ever on this screen.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::Line;
use ratatui::widgets::{Paragraph, Wrap};

use crate::core::wizard::{AccessKeyState, Load, Wizard};
use crate::tui::app::View;
use crate::tui::{strings, theme};

pub fn render(f: &mut Frame, area: Rect, w: &Wizard, v: &View) {
    let g = v.glyphs;
    let mut lines = vec![Line::raw(strings::SECRETS_INTRO), Line::raw("")];
    match &w.secrets {
        None | Some(Load::Pending) => lines.push(Line::raw(format!(
            "{} {}",
            g.spinner(v.spinner),
            strings::PREPARING_SECRETS
        ))),
        Some(Load::Failed(e)) => {
            lines.push(Line::styled(
                format!("{} {}", g.bad(), strings::SECRETS_FAILED),
                theme::error(),
            ));
            lines.push(Line::raw(e.clone()));
            lines.push(Line::raw(strings::SECRETS_RETRY));
        }
        Some(Load::Ready(rep)) => {
            for (names, how) in [
                (&rep.generated, strings::GENERATED_NOW),
                (&rep.kept, strings::KEPT),
            ] {
                for n in names {
                    lines.push(Line::styled(
                        format!("{} {:<32} {how}", g.ok(), strings::secret_label(n)),
                        theme::good(),
                    ));
                }
            }
            match &rep.access_key {
                AccessKeyState::Created { user } | AccessKeyState::Kept { user } => {
                    let how = if matches!(rep.access_key, AccessKeyState::Created { .. }) {
                        strings::KEY_CREATED
                    } else {
                        strings::KEY_KEPT
                    };
                    lines.push(Line::styled(
                        format!("{} {:<32} {how}", g.ok(), strings::ACCESS_KEY),
                        theme::good(),
                    ));
                    lines.push(Line::styled(
                        format!("  {}", strings::key_user(user)),
                        theme::dim(),
                    ));
                }
                AccessKeyState::Failed(e) => {
                    lines.push(Line::styled(
                        format!("{} {}", g.bad(), strings::ACCESS_KEY),
                        theme::error(),
                    ));
                    lines.push(Line::raw(e.clone()));
                    lines.push(Line::raw(strings::SECRETS_RETRY));
                }
            }
            lines.push(Line::raw(""));
            lines.push(Line::raw(strings::stored_in(&rep.path)));
        }
    }
    f.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }), area);
}
