//! The plain-line / JSON-lines front end: what commands print when no TUI
//! runs. Rendering is pure (strings in, strings out) so it is tested directly.

use std::fmt::Write;

use serde::Serialize;

use crate::core::doctor::{Check, CheckStatus};
use crate::core::progress::Progress;
use crate::core::region::{OptInStatus, RegionCode};
use crate::core::regions::RegionRow;
use crate::runtime::progress::Reporter;

fn opt_in_label(status: Option<OptInStatus>) -> &'static str {
    match status {
        Some(OptInStatus::OptInNotRequired) => "not required",
        Some(OptInStatus::OptedIn) => "opted in",
        Some(OptInStatus::NotOptedIn) => "NOT ENABLED",
        None => "not listed",
    }
}

/// The regions as a table grouped by geography; `current` is marked `*`;
/// `width` wraps the notes under it (see [`doctor_text`]).
pub fn regions_text(
    rows: &[RegionRow],
    current: Option<&RegionCode>,
    width: Option<usize>,
) -> String {
    let mut out = String::new();
    let usable = rows.iter().filter(|r| r.usable()).count();
    let _ = writeln!(
        out,
        "{} commercial AWS regions, {usable} usable by this account.",
        rows.len()
    );
    let mut group = "";
    for row in rows {
        if row.geography != group {
            group = &row.geography;
            let _ = writeln!(out, "\n{group}");
            let _ = writeln!(out, "  {:<17}{:<34}{:<15}AZs", "CODE", "NAME", "OPT-IN");
        }
        let mark = if current == Some(&row.code) { '*' } else { ' ' };
        let azs = row.az_count.map_or("-".to_string(), |n| n.to_string());
        let name = row.name.as_deref().unwrap_or("(new region)");
        let _ = writeln!(
            out,
            "{mark} {:<17}{:<34}{:<15}{azs}",
            row.code.as_str(),
            name,
            opt_in_label(row.opt_in)
        );
    }
    if rows
        .iter()
        .any(|r| r.opt_in == Some(OptInStatus::NotOptedIn))
    {
        out.push('\n');
        push_wrapped(
            &mut out,
            "",
            "",
            "Regions marked NOT ENABLED need opt-in first: aws account enable-region \
             --region-name CODE (or Account > AWS Regions in the console).",
            width,
        );
    }
    push_wrapped(
        &mut out,
        "",
        "",
        "GovCloud, China, ISO and European Sovereign Cloud regions are other AWS partitions \
         and are not supported.",
        width,
    );
    if current.is_some() {
        let _ = writeln!(out, "* the region in use now.");
    }
    out
}

/// The doctor's report, one check per paragraph, and a closing verdict.
/// With `width` (the terminal's columns), long lines
/// wrap at word boundaries under their own column instead of mid-word at the
/// screen's edge; without it (a pipe, or a terminal of unknown size, as an
/// SSM session starts) every line is printed whole.
pub fn doctor_text(checks: &[Check], width: Option<usize>) -> String {
    let mut out: String = checks.iter().map(|c| check_text(c, width)).collect();
    out.push_str(&doctor_verdict(checks, width));
    out
}

/// One check's paragraph, as [`doctor_text`] prints it.
pub fn check_text(c: &Check, width: Option<usize>) -> String {
    let mut out = String::new();
    let indent = " ".repeat(INDENT);
    let head = format!("[{:^4}] {:<10} ", c.status.label(), c.id);
    push_wrapped(&mut out, &head, &indent, &c.summary, width);
    for d in &c.details {
        push_wrapped(&mut out, &indent, &indent, d, width);
    }
    if c.status != CheckStatus::Pass
        && let Some(fix) = &c.fix
    {
        push_wrapped(
            &mut out,
            &format!("{indent}-> "),
            &format!("{indent}   "),
            fix,
            width,
        );
    }
    out
}

/// The closing verdict after every check, preceded by a blank line.
pub fn doctor_verdict(checks: &[Check], width: Option<usize>) -> String {
    let mut out = String::new();
    let failed = checks
        .iter()
        .filter(|c| c.status == CheckStatus::Fail)
        .count();
    let warned = checks
        .iter()
        .filter(|c| c.status == CheckStatus::Warn)
        .count();
    let verdict = match (failed, warned) {
        (0, 0) => "All checks passed: this machine is ready to install.".to_string(),
        (0, w) => format!("Ready to install, with {w} warning(s) worth a look."),
        (f, _) => {
            format!("{f} check(s) failed: fix them as shown, then run `ph-installer doctor` again.")
        }
    };
    out.push('\n');
    push_wrapped(&mut out, "", "", &verdict, width);
    out
}

/// Prints progress events to standard output the moment they arrive: plain
/// paragraphs, or one JSON object per line.
pub struct Printer {
    pub json: bool,
    pub width: Option<usize>,
}

impl Printer {
    /// What one event prints as.
    pub fn render(&self, event: &Progress) -> String {
        match event {
            Progress::Check(c) if self.json => json_lines(std::slice::from_ref(c)),
            Progress::Check(c) => check_text(c, self.width),
        }
    }
}

impl Reporter for Printer {
    fn report(&self, event: Progress) {
        use std::io::Write as _;
        let text = self.render(&event);
        let mut out = std::io::stdout().lock();
        // A closed pipe is not worth failing the install over.
        let _ = out.write_all(text.as_bytes()).and_then(|_| out.flush());
    }
}

/// Where the text of a doctor line starts: `[ ok ] identity   `.
const INDENT: usize = 18;

/// Appends `text` after `first`, continuing on lines that start with
/// `rest`, each line at most `width` columns when a word allows it.
fn push_wrapped(out: &mut String, first: &str, rest: &str, text: &str, width: Option<usize>) {
    let Some(width) = width else {
        let _ = writeln!(out, "{first}{text}");
        return;
    };
    let mut line = first.to_string();
    let mut empty = true;
    for word in text.split_whitespace() {
        let fits = line.chars().count() + 1 + word.chars().count() <= width;
        if !empty && !fits {
            let _ = writeln!(out, "{line}");
            line = rest.to_string();
            empty = true;
        }
        if !empty {
            line.push(' ');
        }
        line.push_str(word);
        empty = false;
    }
    let _ = writeln!(out, "{line}");
}

/// One JSON object per line.
pub fn json_lines<T: Serialize>(items: &[T]) -> String {
    let mut out = String::new();
    for item in items {
        out.push_str(&serde_json::to_string(item).expect("serializable"));
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::region::parse_region;
    use crate::core::regions::merge;

    #[test]
    fn regions_table_groups_marks_and_explains_opt_in() {
        let c = |s| parse_region(s).unwrap();
        let mut rows = merge(&[
            (c("us-west-1"), OptInStatus::OptInNotRequired),
            (c("ap-east-2"), OptInStatus::NotOptedIn),
            (c("eu-central-2"), OptInStatus::OptedIn),
        ]);
        rows[0].az_count = Some(2);
        let text = regions_text(&rows, Some(&c("us-west-1")), None);
        assert!(
            text.contains("3 commercial AWS regions, 2 usable"),
            "{text}"
        );
        assert!(text.contains("North America\n"), "{text}");
        let line = text.lines().find(|l| l.contains("us-west-1")).unwrap();
        assert!(
            line.starts_with('*') && line.trim_end().ends_with('2'),
            "{line}"
        );
        let taipei = text.lines().find(|l| l.contains("ap-east-2")).unwrap();
        assert!(
            taipei.contains("NOT ENABLED") && taipei.contains("Taipei"),
            "{taipei}"
        );
        assert!(text.contains("aws account enable-region"));
        assert!(text.contains("GovCloud, China"));
    }

    #[test]
    fn doctor_report_shows_fixes_only_for_problems_and_a_verdict() {
        let checks = vec![
            Check::pass("identity", "Account 1.").detail("Credentials: env."),
            Check::fail("clock", "Clock is 400 s behind.", "Sync the clock."),
        ];
        let text = doctor_text(&checks, None);
        assert!(text.contains("[ ok ] identity"), "{text}");
        assert!(text.contains("[FAIL] clock"), "{text}");
        assert!(text.contains("-> Sync the clock."));
        assert!(text.contains("1 check(s) failed"));
        let ok = doctor_text(&checks[..1], None);
        assert!(ok.contains("All checks passed"));
    }

    #[test]
    fn on_a_narrow_terminal_doctor_lines_wrap_between_words_under_their_column() {
        let checks = vec![
            Check::fail(
                "region",
                "Region ca-west-1 (from the --region flag) is not enabled for this account.",
                "Enable it in the AWS console under Account > AWS Regions, then run again.",
            )
            .detail("Opt-in status: not-opted-in."),
        ];
        let text = doctor_text(&checks, Some(60));
        for line in text.lines() {
            assert!(line.chars().count() <= 60, "{line:?} in\n{text}");
        }
        let lines: Vec<&str> = text.lines().collect();
        assert!(
            lines[0].starts_with("[FAIL] region     Region ca-west-1"),
            "{text}"
        );
        // Continuations start under the text, and no word is cut.
        assert!(lines[1].starts_with(&" ".repeat(INDENT)), "{text}");
        assert!(!lines[1][INDENT..].starts_with(' '), "{text}");
        let words = |s: &str| s.split_whitespace().map(str::to_string).collect::<Vec<_>>();
        assert_eq!(words(&text), words(&doctor_text(&checks, None)));
        // Unwrapped, each part is one line.
        assert_eq!(doctor_text(&checks, None).lines().count(), 5);
    }

    #[test]
    fn a_streamed_check_prints_as_in_the_whole_report_and_as_one_json_line() {
        let c = Check::warn("lock", "Another session is driving the install.", "Wait.");
        let text = Printer {
            json: false,
            width: None,
        }
        .render(&Progress::Check(c.clone()));
        assert!(doctor_text(std::slice::from_ref(&c), None).starts_with(&text));
        let json = Printer {
            json: true,
            width: None,
        }
        .render(&Progress::Check(c));
        assert_eq!(json.lines().count(), 1);
        let v: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert_eq!(v["id"], "lock");
    }

    #[test]
    fn json_lines_prints_one_object_per_line() {
        let checks = vec![Check::pass("a", "x"), Check::warn("b", "y", "z")];
        let out = json_lines(&checks);
        let lines: Vec<serde_json::Value> = out
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[1]["status"], "warn");
        assert_eq!(lines[1]["fix"], "z");
    }
}
