//! Every screen drawn into a test terminal, at 80x24 and at the minimum
//! size, in UTF-8 and in ASCII; and the sizes a terminal may report.

use ratatui::Terminal;
use ratatui::backend::TestBackend;

use super::app::{self, MIN_SIZE, View};
use super::theme::Glyphs;
use crate::core::answers::Answers;
use crate::core::wizard::{Key, Msg, Step, Wizard, fixtures};

fn wizard(step: Step) -> Wizard {
    let answers = match step {
        Step::Welcome => Answers::default(),
        Step::Region => Answers {
            install_name: Some("shop".parse().unwrap()),
            ..Answers::default()
        },
        Step::Domain => Answers {
            install_name: Some("shop".parse().unwrap()),
            region: Some("eu-west-1".parse().unwrap()),
            ..Answers::default()
        },
        Step::Sizing | Step::Secrets | Step::Review => Answers {
            install_name: Some("shop".parse().unwrap()),
            region: Some("eu-west-1".parse().unwrap()),
            domain: Some("ph.example.com".into()),
            certificate_arn: Some(
                "arn:aws:acm:eu-west-1:111122223333:certificate/0b7e5c1a-5a1d-4c3e-9d2f-1f6a2b3c4d5e"
                    .into(),
            ),
            profile: (step != Step::Sizing).then(|| "production".into()),
            ..Answers::default()
        },
    };
    let (w, _) = Wizard::new(
        answers,
        "us-east-1".parse().unwrap(),
        "this EC2 instance's metadata (its own region)".into(),
    );
    let mut w = fixtures::loaded(w);
    if step >= Step::Sizing {
        w.handle(Msg::Certificate(fixtures::issued_view(
            w.answers.certificate_arn.as_deref().unwrap(),
        )));
        w.handle(Msg::SizingChecked(
            w.sizing_ask().unwrap(),
            Ok(fixtures::all_offered(&w)),
        ));
    }
    if step >= Step::Secrets {
        w.handle(Msg::SecretsReady(Ok(fixtures::secrets_report())));
    }
    if step == Step::Review {
        w.handle(Msg::Key(Key::Enter));
    }
    assert_eq!(w.step, step);
    w
}

fn view(ascii: bool) -> View {
    View {
        glyphs: Glyphs { ascii },
        sandbox: false,
        config_path: "/var/lib/ph-installer/config.toml".into(),
        records_path: "/var/lib/ph-installer/dns-validation.txt".into(),
        spinner: 0,
        review_max: Default::default(),
    }
}

fn draw(w: &Wizard, v: &View, size: (u16, u16)) -> Terminal<TestBackend> {
    let mut t = Terminal::new(TestBackend::new(size.0, size.1)).unwrap();
    t.draw(|f| app::render(f, w, v)).unwrap();
    t
}

macro_rules! screens {
    ($($name:ident: $step:expr, $ascii:expr, $size:expr;)*) => {$(
        #[test]
        fn $name() {
            let t = draw(&wizard($step), &view($ascii), $size);
            insta::assert_snapshot!(t.backend());
        }
    )*};
}

screens! {
    welcome_80x24: Step::Welcome, false, (80, 24);
    welcome_minimum_ascii: Step::Welcome, true, MIN_SIZE;
    region_80x24: Step::Region, false, (80, 24);
    region_minimum_ascii: Step::Region, true, MIN_SIZE;
    domain_80x24: Step::Domain, false, (80, 24);
    domain_minimum_ascii: Step::Domain, true, MIN_SIZE;
    sizing_80x24: Step::Sizing, false, (80, 24);
    sizing_minimum_ascii: Step::Sizing, true, MIN_SIZE;
    secrets_80x24: Step::Secrets, false, (80, 24);
    secrets_minimum_ascii: Step::Secrets, true, MIN_SIZE;
    review_80x24: Step::Review, false, (80, 24);
    review_minimum_ascii: Step::Review, true, MIN_SIZE;
}

#[test]
fn sizing_flags_an_instance_type_the_region_does_not_offer() {
    use crate::core::blueprint::offerings::Fit;
    let mut w = wizard(Step::Sizing);
    let mut checks = fixtures::all_offered(&w);
    checks.get_mut("production").unwrap().fit = Fit {
        missing: vec!["EC2 does not offer m6i.xlarge in eu-west-1".into()],
        unconfirmed: vec![],
        missing_types: vec!["m6i.xlarge".into()],
    };
    w.handle(Msg::SizingChecked(w.sizing_ask().unwrap(), Ok(checks)));
    let t = draw(&w, &view(false), (80, 24));
    insta::assert_snapshot!(t.backend());
}

#[test]
fn the_review_scrolls_to_its_last_stack_and_keeps_the_confirm_line_in_view() {
    let mut w = wizard(Step::Review);
    for _ in 0..200 {
        w.handle(Msg::Key(Key::Down));
    }
    let screen = text(&draw(&w, &view(false), (80, 24)));
    assert!(screen.contains("wave 3  edge"), "{screen}");
    assert!(screen.contains("Enter confirms"), "{screen}");
    assert!(!screen.contains("(Down: more)"), "{screen}");
    // Told how far the review goes, one Up scrolls back at once.
    let v = view(false);
    draw(&w, &v, (80, 24));
    let max = v.review_max.get();
    assert!(max > 0);
    w.handle(Msg::ReviewFits(max));
    w.handle(Msg::Key(Key::Up));
    assert_eq!(w.review_scroll, max - 1);
}

#[test]
fn the_review_confirm_says_honestly_that_the_deploy_is_not_in_this_build() {
    let mut w = wizard(Step::Review);
    w.handle(Msg::Key(Key::Enter));
    let screen = text(&draw(&w, &view(false), (80, 24)));
    assert!(screen.contains("not"), "{screen}");
    assert!(screen.contains("in this"), "{screen}");
    insta::assert_snapshot!(draw(&w, &view(false), (80, 24)).backend());
}

/// The domain screen after the account was asked about `typed`.
fn examined(
    typed: &str,
    certificates: Vec<crate::core::wizard::domain::CertificateOffer>,
) -> Wizard {
    use crate::core::wizard::DomainFacts;
    let mut w = wizard(Step::Domain);
    for c in typed.chars() {
        w.handle(Msg::Key(Key::Char(c)));
    }
    w.handle(Msg::Key(Key::Enter));
    let ascii = w.domain.as_ref().unwrap().ascii.clone();
    w.handle(Msg::Examined(Ok(DomainFacts {
        domain: ascii,
        region: "eu-west-1".into(),
        zone: Some(("Z0123456789ABC".into(), "example.com.".into())),
        certificates,
        read_at: std::time::SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_800_000_000),
    })));
    w
}

fn wildcard() -> crate::core::wizard::domain::CertificateOffer {
    crate::core::wizard::domain::CertificateOffer {
        arn: "arn:aws:acm:eu-west-1:111122223333:certificate/0b7e5c1a-5a1d-4c3e-9d2f-1f6a2b3c4d5e"
            .into(),
        names: vec!["*.example.com".into()],
        issued: true,
        not_after: Some(
            std::time::SystemTime::UNIX_EPOCH
                + std::time::Duration::from_secs(1_800_000_000 + 200 * 86_400),
        ),
    }
}

#[test]
fn domain_with_a_certificate_to_reuse_80x24() {
    let t = draw(
        &examined("ph.example.com", vec![wildcard()]),
        &view(false),
        (80, 24),
    );
    insta::assert_snapshot!(t.backend());
}

#[test]
fn domain_without_a_certificate_to_reuse_says_what_to_do_80x24() {
    let t = draw(
        &examined("shop.bücher.example", vec![wildcard()]),
        &view(false),
        (80, 24),
    );
    let screen = text(&t);
    assert!(screen.contains("xn--bcher-kva"), "{screen}");
    insta::assert_snapshot!(t.backend());
}

#[test]
fn domain_request_says_what_it_creates_before_it_is_sent_80x24() {
    let mut w = examined("app.eu.example.com", vec![wildcard()]);
    w.handle(Msg::Key(Key::Enter));
    let t = draw(&w, &view(false), (80, 24));
    let screen = text(&t);
    assert!(screen.contains("Route 53 zone"), "{screen}");
    insta::assert_snapshot!(t.backend());
}

#[test]
fn domain_request_without_a_zone_names_the_records_file_minimum_ascii() {
    use crate::core::wizard::DomainFacts;
    let mut w = wizard(Step::Domain);
    for c in "ph.example.org".chars() {
        w.handle(Msg::Key(Key::Char(c)));
    }
    w.handle(Msg::Key(Key::Enter));
    w.handle(Msg::Examined(Ok(DomainFacts {
        domain: "ph.example.org".into(),
        region: "eu-west-1".into(),
        zone: None,
        certificates: vec![],
        read_at: std::time::SystemTime::UNIX_EPOCH,
    })));
    w.handle(Msg::Key(Key::Enter));
    w.handle(Msg::Key(Key::Enter));
    w.handle(Msg::CertificateRequested(Err(
        "ACM RequestCertificate was throttled 5 times; wait a minute and try again".into(),
    )));
    let t = draw(&w, &view(true), MIN_SIZE);
    let screen = text(&t);
    assert!(screen.contains("dns-validation.txt"), "{screen}");
    insta::assert_snapshot!(t.backend());
}

fn text(t: &Terminal<TestBackend>) -> String {
    t.backend().to_string()
}

#[test]
fn a_terminal_of_unknown_size_draws_nothing_and_does_not_panic() {
    for size in [(0, 0), (0, 24), (80, 0), (1, 1)] {
        let _ = draw(&wizard(Step::Region), &view(false), size);
    }
}

#[test]
fn below_the_minimum_one_line_says_what_size_is_needed() {
    let t = draw(&wizard(Step::Region), &view(false), (59, 18));
    assert!(text(&t).contains("need 60x18, have 59x18"), "{}", text(&t));
}

#[test]
fn a_refused_region_typed_in_shows_the_reason_on_the_region_screen() {
    let mut w = wizard(Step::Region);
    for c in "cn-north-1".chars() {
        w.handle(Msg::Key(Key::Char(c)));
    }
    let t = draw(&w, &view(false), (80, 24));
    let screen = text(&t);
    assert!(screen.contains("China"), "{screen}");
    assert!(screen.contains("commercial"), "{screen}");
}

#[test]
fn the_selected_region_is_reversed_and_marked_not_only_coloured() {
    let w = wizard(Step::Region);
    let t = draw(&w, &view(true), (80, 24));
    let buf = t.backend().buffer();
    let y = (0..24)
        .find(|y| {
            (0..80)
                .map(|x| buf[(x, *y)].symbol().to_string())
                .collect::<String>()
                .contains("> us-east-1")
        })
        .expect("the session's region is selected with a pointer");
    let cell = &buf[(4, y)];
    assert!(
        cell.modifier.contains(ratatui::style::Modifier::REVERSED),
        "{cell:?}"
    );
}

#[test]
fn the_help_overlay_lists_the_keys_of_the_screen_it_opened_on() {
    let mut w = wizard(Step::Region);
    w.handle(Msg::Key(Key::Char('?')));
    let screen = text(&draw(&w, &view(false), (80, 24)));
    for (keys, what) in super::keymap::hints(Step::Region) {
        assert!(
            screen.contains(keys) && screen.contains(what),
            "{keys}: {screen}"
        );
    }
}

#[test]
fn no_screen_shows_a_secret_value() {
    // The wizard's state holds secrets' names only (values go from the
    // generator to the file), so no screen can format one; a secret
    // formatted by accident prints as redacted.
    let secret = crate::core::secret::Secret::new("never-on-screen-9f8e7d".to_string());
    let shown = format!("{secret:?} {secret}");
    assert!(!shown.contains("never-on-screen-9f8e7d"));
    for step in Step::ALL {
        let w = wizard(step);
        assert!(!format!("{w:?}").contains("never-on-screen"));
        let screen = text(&draw(&w, &view(false), (80, 24)));
        assert!(!screen.contains("never-on-screen"), "{screen}");
    }
}

#[test]
fn welcome_names_an_install_started_from_another_state_directory() {
    let mut w = wizard(Step::Welcome);
    w.handle(Msg::Installs(Ok(vec![crate::core::wizard::FoundInstall {
        name: "shop".into(),
        region: "us-east-1".into(),
        stacks: 10,
    }])));
    let t = draw(&w, &view(false), (80, 24));
    insta::assert_snapshot!(t.backend());
}

#[test]
fn installs_are_found_by_their_tag_and_the_installers_own_stack_is_not_one() {
    use crate::cloud::types::{Stack, Tag};
    use crate::core::stack::StackStatus;
    let stack = |name: &str, tag: Option<&str>| Stack {
        name: name.into(),
        id: format!("arn:aws:cloudformation:us-east-1:1:stack/{name}/x"),
        status: StackStatus::CreateComplete,
        status_reason: None,
        created: std::time::SystemTime::UNIX_EPOCH,
        last_updated: None,
        parameters: vec![],
        outputs: vec![],
        tags: tag
            .map(|v| vec![Tag::new("ph:install", v)])
            .unwrap_or_default(),
        disable_rollback: true,
        termination_protection: false,
    };
    let found = super::found_installs(
        &[
            stack("ph-installer", Some("installer-bootstrap")),
            stack("ph-shop-network", Some("shop")),
            stack("ph-shop-rds", Some("shop")),
            stack("other", None),
            stack("ph-demo-network", Some("demo")),
        ],
        "us-east-1",
    );
    let names: Vec<(&str, usize)> = found.iter().map(|f| (f.name.as_str(), f.stacks)).collect();
    assert_eq!(names, [("shop", 2), ("demo", 1)]);
}

#[test]
fn quitting_while_the_secrets_are_made_asks_first_and_says_what_it_leaves() {
    let mut w = wizard(Step::Sizing);
    w.handle(Msg::Key(Key::Enter));
    w.handle(Msg::Key(Key::Interrupt));
    let t = draw(&w, &view(false), (80, 24));
    assert!(text(&t).contains("Quit now?"), "{}", text(&t));
    insta::assert_snapshot!(t.backend());
}

#[test]
fn sizing_editor_marks_changed_values_and_names_a_refused_one() {
    let mut w = wizard(Step::Sizing);
    w.handle(Msg::Key(Key::Char('e')));
    let row = w
        .limits
        .iter()
        .position(|l| l.key == "db_allocated_storage")
        .unwrap();
    w.editor.as_mut().unwrap().row = row;
    w.handle(Msg::Key(Key::Enter));
    for _ in 0..5 {
        w.handle(Msg::Key(Key::Backspace));
    }
    for c in "250".chars() {
        w.handle(Msg::Key(Key::Char(c)));
    }
    w.handle(Msg::Key(Key::Enter));
    w.handle(Msg::Key(Key::Down));
    w.handle(Msg::Key(Key::Enter));
    for _ in 0..5 {
        w.handle(Msg::Key(Key::Backspace));
    }
    w.handle(Msg::Key(Key::Char('0')));
    w.handle(Msg::Key(Key::Enter));
    let t = draw(&w, &view(false), (80, 24));
    let screen = text(&t);
    assert!(screen.contains("*db_allocated_storage"), "{screen}");
    assert!(screen.contains("outside"), "{screen}");
    insta::assert_snapshot!(t.backend());
}

#[test]
fn welcome_reached_again_says_which_install_this_state_directory_holds() {
    let mut w = wizard(Step::Region);
    w.handle(Msg::Key(Key::Esc));
    let screen = text(&draw(&w, &view(false), (80, 24)));
    assert!(screen.contains("holds install 'shop'"), "{screen}");
    assert!(screen.contains("--state-dir"), "{screen}");
}
