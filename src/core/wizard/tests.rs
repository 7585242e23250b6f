use super::fixtures::{self, row};
use super::*;
use crate::core::region::OptInStatus;

fn wizard(answers: Answers) -> Wizard {
    let (w, effects) = Wizard::new(answers, "us-east-1".parse().unwrap(), "the flag".into());
    for load in [
        Effect::LoadIdentity,
        Effect::LoadRegions,
        Effect::LoadInstalls,
    ] {
        assert!(effects.contains(&load), "{load:?} missing: {effects:?}");
    }
    fixtures::loaded(w)
}

fn typed(w: &mut Wizard, text: &str) -> Vec<Effect> {
    text.chars()
        .flat_map(|c| w.handle(Msg::Key(Key::Char(c))))
        .collect()
}

fn press(w: &mut Wizard, k: Key) -> Vec<Effect> {
    w.handle(Msg::Key(k))
}

#[test]
fn a_fresh_wizard_opens_on_welcome_and_a_resumed_one_at_the_first_unanswered_step() {
    assert_eq!(wizard(Answers::default()).step, Step::Welcome);
    let named = Answers {
        install_name: Some("shop".parse().unwrap()),
        ..Answers::default()
    };
    let w = wizard(named.clone());
    assert_eq!(w.step, Step::Region);
    assert_eq!(
        w.name_input, "shop",
        "the saved name is shown if the operator goes back"
    );
    let both = Answers {
        region: Some("eu-west-1".parse().unwrap()),
        ..named
    };
    let w = wizard(both);
    assert_eq!(w.step, Step::Domain);
}

#[test]
fn install_names_are_validated_as_typed_and_a_good_one_is_saved_before_moving_on() {
    let cases: &[(&str, bool)] = &[
        ("shop", true),
        ("ph-prod-2", true),
        ("ab", false),
        ("Shop", false),
        ("shop--x", false),
        ("shop-", false),
        ("a-very-long-install-name", false),
        ("", false),
    ];
    for (input, ok) in cases {
        let mut w = wizard(Answers::default());
        typed(&mut w, input);
        let effects = press(&mut w, Key::Enter);
        if *ok {
            assert_eq!(w.step, Step::Region, "{input}");
            assert_eq!(
                w.answers.install_name.as_ref().map(|n| n.as_str()),
                Some(*input)
            );
            assert!(matches!(effects.as_slice(), [Effect::Save(a)] if a.install_name.is_some()));
        } else {
            assert_eq!(w.step, Step::Welcome, "{input} was accepted");
            assert!(w.name_error.is_some(), "{input}: no reason shown");
            assert!(effects.is_empty(), "{input}: {effects:?}");
        }
    }
}

#[test]
fn q_and_question_mark_are_text_in_the_name_field_only_when_they_can_be() {
    let mut w = wizard(Answers::default());
    typed(&mut w, "sq");
    assert_eq!(w.name_input, "sq", "q is typed, not quit");
    assert!(!w.done);
    press(&mut w, Key::Char('?'));
    assert_eq!(w.overlay, Some(Overlay::Help));
    press(&mut w, Key::Char('x'));
    assert_eq!(w.overlay, None, "any key closes the help");
    assert_eq!(w.name_input, "sq", "the closing key is not typed");
}

#[test]
fn without_credentials_enter_asks_again_and_esc_leaves() {
    let (mut w, _) = Wizard::new(Answers::default(), "us-east-1".parse().unwrap(), "x".into());
    w.handle(Msg::Identity(Err("No AWS credentials were found".into())));
    assert_eq!(press(&mut w, Key::Enter), vec![Effect::LoadIdentity]);
    assert_eq!(w.identity, Load::Pending);
    w.handle(Msg::Identity(Err("still none".into())));
    assert_eq!(press(&mut w, Key::Esc), vec![Effect::Quit]);
}

#[test]
fn the_session_region_is_preselected_and_choosing_one_saves_it_and_repoints_the_session() {
    let mut w = wizard(Answers {
        install_name: Some("shop".parse().unwrap()),
        ..Answers::default()
    });
    assert_eq!(w.selected_region().unwrap().code.as_str(), "us-east-1");
    press(&mut w, Key::Down);
    press(&mut w, Key::Down);
    assert_eq!(w.selected_region().unwrap().code.as_str(), "eu-west-1");
    let effects = press(&mut w, Key::Enter);
    assert_eq!(w.step, Step::Domain);
    assert_eq!(effects.len(), 2);
    assert!(
        matches!(&effects[0], Effect::Save(a) if a.region.as_ref().unwrap().as_str() == "eu-west-1")
    );
    assert_eq!(effects[1], Effect::UseRegion("eu-west-1".parse().unwrap()));
}

#[test]
fn typing_filters_by_code_name_or_group_and_j_k_move_only_while_the_filter_is_empty() {
    let mut w = wizard(Answers {
        install_name: Some("shop".parse().unwrap()),
        ..Answers::default()
    });
    press(&mut w, Key::Char('j'));
    assert_eq!(w.selected_region().unwrap().code.as_str(), "us-west-1");
    typed(&mut w, "ireland");
    let codes: Vec<&str> = w
        .visible_regions()
        .iter()
        .map(|r| r.code.as_str())
        .collect();
    assert_eq!(codes, ["eu-west-1"]);
    let mut w2 = wizard(Answers::default());
    w2.step = Step::Region;
    typed(&mut w2, "africa");
    let codes: Vec<&str> = w2
        .visible_regions()
        .iter()
        .map(|r| r.code.as_str())
        .collect();
    assert_eq!(
        codes,
        ["me-central-1", "af-south-1"],
        "Middle East & Africa is one group"
    );
    press(&mut w2, Key::Esc);
    assert_eq!(w2.filter, "", "Esc clears the filter first");
    assert_eq!(w2.step, Step::Region);
    press(&mut w2, Key::Esc);
    assert_eq!(w2.step, Step::Welcome, "then goes back");
}

#[test]
fn a_refused_region_typed_into_the_filter_gets_the_region_rules_sentence() {
    let cases: &[(&str, &str)] = &[
        ("us-gov-west-1", "GovCloud"),
        ("us-gov", "GovCloud"),
        ("cn", "China"),
        ("cn-north-1", "China"),
        ("us-iso-east-1", "isolated"),
        ("us-east-1a", "availability zone"),
        ("ap-south-9", "does not list it"),
    ];
    for (input, says) in cases {
        let mut w = wizard(Answers::default());
        w.step = Step::Region;
        typed(&mut w, input);
        let e = w
            .region_error
            .clone()
            .unwrap_or_else(|| panic!("{input}: nothing said"));
        assert!(e.contains(says), "{input}: {e}");
        assert!(press(&mut w, Key::Enter).is_empty(), "{input} was chosen");
        assert_eq!(w.step, Step::Region);
    }
}

#[test]
fn a_region_the_account_has_not_enabled_says_how_to_enable_it_and_is_not_chosen() {
    let mut w = wizard(Answers::default());
    w.step = Step::Region;
    typed(&mut w, "spain");
    let effects = press(&mut w, Key::Enter);
    assert!(effects.is_empty(), "{effects:?}");
    let e = w.region_error.clone().unwrap();
    assert!(
        e.contains("aws account enable-region --region-name eu-south-2"),
        "{e}"
    );
    assert_eq!(w.answers.region, None);
}

#[test]
fn back_from_the_last_screen_returns_with_the_saved_region_selected() {
    let mut w = wizard(Answers {
        install_name: Some("shop".parse().unwrap()),
        region: Some("me-central-1".parse().unwrap()),
        ..Answers::default()
    });
    assert_eq!(w.step, Step::Domain);
    press(&mut w, Key::Esc);
    assert_eq!(w.step, Step::Region);
    assert_eq!(w.selected_region().unwrap().code.as_str(), "me-central-1");
    assert_eq!(press(&mut w, Key::Interrupt), vec![Effect::Quit]);
    assert!(w.done);
}

#[test]
fn a_failed_save_is_shown_and_cleared_by_the_next_one() {
    let mut w = wizard(Answers::default());
    w.handle(Msg::Saved(Err("config.toml could not be written".into())));
    assert!(w.save_error.is_some());
    w.handle(Msg::Saved(Ok(())));
    assert!(w.save_error.is_none());
}

#[test]
fn regions_are_grouped_in_the_deployment_guides_order() {
    let mut all = fixtures::regions();
    all.insert(
        0,
        row(
            "sa-east-1",
            "South America (Sao Paulo)",
            "South America",
            OptInStatus::OptInNotRequired,
            3,
        ),
    );
    let mut w = wizard(Answers::default());
    w.handle(Msg::Regions(Ok(all)));
    let groups: Vec<&str> = w
        .visible_regions()
        .iter()
        .map(|r| group_of(&r.geography))
        .collect();
    let mut order = groups.clone();
    order.dedup();
    assert_eq!(
        order,
        [
            "North America",
            "Europe",
            "Middle East & Africa",
            "South America"
        ]
    );
}

fn on_domain() -> Wizard {
    wizard(Answers {
        install_name: Some("shop".parse().unwrap()),
        region: Some("eu-west-1".parse().unwrap()),
        ..Answers::default()
    })
}

fn facts(w: &Wizard, certificates: Vec<domain::CertificateOffer>) -> Msg {
    Msg::Examined(Ok(DomainFacts {
        domain: w.domain.as_ref().unwrap().ascii.clone(),
        region: w.answers.region.as_ref().unwrap().to_string(),
        zone: None,
        certificates,
        read_at: std::time::SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_800_000_000),
    }))
}

fn issued(arn: &str, name: &str) -> domain::CertificateOffer {
    domain::CertificateOffer {
        arn: arn.into(),
        names: vec![name.into()],
        issued: true,
        not_after: Some(
            std::time::SystemTime::UNIX_EPOCH
                + std::time::Duration::from_secs(1_800_000_000 + 90 * 86_400),
        ),
    }
}

#[test]
fn a_bad_domain_is_refused_in_place_and_a_good_one_is_looked_up() {
    let mut w = on_domain();
    assert_eq!(w.step, Step::Domain);
    typed(&mut w, "*.example.com");
    assert!(press(&mut w, Key::Enter).is_empty());
    assert!(w.domain_error.as_ref().unwrap().contains("wildcard"));
    for _ in 0.."*.example.com".len() {
        press(&mut w, Key::Backspace);
    }
    typed(&mut w, "PH.example.com");
    let effects = press(&mut w, Key::Enter);
    assert!(
        matches!(effects.as_slice(), [Effect::ExamineDomain(d)] if d.ascii == "ph.example.com")
    );
    assert_eq!(w.examined, Some(Load::Pending));
}

#[test]
fn a_covering_certificate_is_chosen_and_saved_with_the_domain() {
    let mut w = on_domain();
    typed(&mut w, "ph.example.com");
    press(&mut w, Key::Enter);
    let m = facts(
        &w,
        vec![
            issued("a", "*.example.com"),
            issued("b", "ph.example.com"),
            issued("c", "x.other.com"),
        ],
    );
    w.handle(m);
    assert_eq!(w.reusable_certificates().len(), 2);
    for _ in 0..5 {
        press(&mut w, Key::Down);
    }
    assert!(
        w.on_request_row(),
        "the cursor stops on the last row, the request"
    );
    press(&mut w, Key::Up);
    let effects = press(&mut w, Key::Enter);
    assert_eq!(w.step, Step::Sizing);
    assert!(
        matches!(effects.as_slice(), [Effect::Save(a), Effect::WatchCertificate { records: RecordsTo::Nowhere, .. }, Effect::CheckSizing(_)]
        if a.certificate_arn.as_deref() == Some("b") && a.domain.as_deref() == Some("ph.example.com"))
    );
}

#[test]
fn esc_returns_from_the_certificates_to_the_name_and_then_to_the_region() {
    let mut w = on_domain();
    typed(&mut w, "ph.example.com");
    press(&mut w, Key::Enter);
    let m = facts(&w, vec![]);
    w.handle(m);
    press(&mut w, Key::Esc);
    assert_eq!(w.examined, None, "back to typing");
    typed(&mut w, "x");
    assert_eq!(w.domain_input, "ph.example.comx");
    press(&mut w, Key::Esc);
    assert_eq!(w.step, Step::Region);
}

fn requested(arn: &str, zone: Option<(&str, &str)>) -> certificate::RequestedCertificate {
    certificate::RequestedCertificate {
        arn: arn.into(),
        domain: "ph.example.com".into(),
        region: "eu-west-1".into(),
        zone: zone.map(|(i, n)| (i.into(), n.into())),
        attempt: 0,
    }
}

#[test]
fn without_a_certificate_to_reuse_a_request_is_explained_first_and_sent_only_on_enter() {
    let mut w = on_domain();
    typed(&mut w, "ph.example.com");
    press(&mut w, Key::Enter);
    let Msg::Examined(Ok(mut f)) = facts(&w, vec![]) else {
        unreachable!()
    };
    f.zone = Some(("Z1".into(), "example.com.".into()));
    w.handle(Msg::Examined(Ok(f)));
    assert!(w.on_request_row(), "the only row is the request");
    assert!(
        press(&mut w, Key::Enter).is_empty(),
        "nothing is sent before the confirmation"
    );
    let (order, call) = w.cert_order.clone().expect("the request is explained");
    assert_eq!(call, None);
    assert_eq!(order.zone, Some(("Z1".into(), "example.com.".into())));
    assert_eq!(
        order.token,
        certificate::idempotency_token("shop", "eu-west-1", "ph.example.com", 0)
    );
    // Esc backs out without asking; Enter asks.
    assert!(press(&mut w, Key::Esc).is_empty());
    assert_eq!(w.cert_order, None);
    press(&mut w, Key::Enter);
    let effects = press(&mut w, Key::Enter);
    assert_eq!(effects, vec![Effect::RequestCertificate(order)]);
    assert!(w.is_loading(), "a spinner turns while ACM answers");
    assert!(
        press(&mut w, Key::Enter).is_empty(),
        "one request at a time"
    );
    // ACM answered: the certificate is the answer, watched, records to the zone.
    let effects = w.handle(Msg::CertificateRequested(Ok(requested(
        "arn:aws:acm:eu-west-1:1:certificate/new",
        Some(("Z1", "example.com.")),
    ))));
    assert_eq!(w.step, Step::Sizing);
    assert_eq!(
        w.answers.certificate_arn.as_deref(),
        Some("arn:aws:acm:eu-west-1:1:certificate/new")
    );
    assert!(
        matches!(&effects[0], Effect::Save(a) if a.certificate_arn == w.answers.certificate_arn)
    );
    assert_eq!(
        effects[1],
        Effect::WatchCertificate {
            arn: "arn:aws:acm:eu-west-1:1:certificate/new".into(),
            domain: "ph.example.com".into(),
            records: RecordsTo::Zone("Z1".into(), "example.com.".into()),
        }
    );
}

#[test]
fn a_refused_request_is_shown_in_place_and_enter_sends_the_same_one_again() {
    let mut w = on_domain();
    typed(&mut w, "ph.example.com");
    press(&mut w, Key::Enter);
    let m = facts(&w, vec![]);
    w.handle(m);
    press(&mut w, Key::Enter);
    let first = press(&mut w, Key::Enter);
    w.handle(Msg::CertificateRequested(Err(
        "LimitExceededException".into()
    )));
    assert_eq!(w.step, Step::Domain);
    assert!(
        matches!(&w.cert_order, Some((_, Some(Load::Failed(e)))) if e.contains("LimitExceeded"))
    );
    assert_eq!(
        press(&mut w, Key::Enter),
        first,
        "the retry carries the same token"
    );
}

#[test]
fn a_certificate_requested_earlier_is_offered_again_instead_of_a_second_request() {
    let answers = Answers {
        install_name: Some("shop".parse().unwrap()),
        region: Some("eu-west-1".parse().unwrap()),
        ..Answers::default()
    };
    let (w, _) = Wizard::resumed(
        answers,
        vec![requested(
            "arn:aws:acm:eu-west-1:1:certificate/earlier",
            None,
        )],
        "eu-west-1".parse().unwrap(),
        "the flag".into(),
    );
    let mut w = fixtures::loaded(w);
    typed(&mut w, "ph.example.com");
    press(&mut w, Key::Enter);
    let m = facts(&w, vec![]);
    w.handle(m);
    assert!(w.earlier_request().is_some());
    let effects = press(&mut w, Key::Enter);
    assert_eq!(w.cert_order, None, "no request is asked for");
    assert_eq!(w.step, Step::Sizing);
    assert!(effects.contains(&Effect::WatchCertificate {
        arn: "arn:aws:acm:eu-west-1:1:certificate/earlier".into(),
        domain: "ph.example.com".into(),
        records: RecordsTo::File,
    }));
}

#[test]
fn a_resumed_wizard_works_in_the_saved_region_and_watches_the_chosen_certificate() {
    let answers = Answers {
        install_name: Some("shop".parse().unwrap()),
        region: Some("eu-west-1".parse().unwrap()),
        domain: Some("ph.example.com".into()),
        certificate_arn: Some("arn:aws:acm:eu-west-1:1:certificate/brought".into()),
        ..Answers::default()
    };
    let (_, effects) = Wizard::new(answers, "us-east-1".parse().unwrap(), "IMDS".into());
    assert_eq!(effects[0], Effect::UseRegion("eu-west-1".parse().unwrap()));
    assert!(effects.contains(&Effect::WatchCertificate {
        arn: "arn:aws:acm:eu-west-1:1:certificate/brought".into(),
        domain: "ph.example.com".into(),
        records: RecordsTo::Nowhere,
    }));
}

#[test]
fn a_report_on_a_certificate_no_longer_chosen_is_dropped() {
    let mut w = wizard(Answers {
        install_name: Some("shop".parse().unwrap()),
        region: Some("eu-west-1".parse().unwrap()),
        domain: Some("ph.example.com".into()),
        certificate_arn: Some("arn:new".into()),
        ..Answers::default()
    });
    let view = |arn: &str| certificate::CertView {
        arn: arn.into(),
        phase: certificate::CertPhase::Issued,
        records: vec![],
        written_to: None,
        records_file: None,
        error: None,
        note: None,
    };
    w.handle(Msg::Certificate(view("arn:old")));
    assert_eq!(w.cert, None);
    w.handle(Msg::Certificate(view("arn:new")));
    assert_eq!(w.cert, Some(view("arn:new")));
}

#[test]
fn facts_about_a_name_no_longer_asked_about_are_dropped() {
    let mut w = on_domain();
    typed(&mut w, "ph.example.com");
    press(&mut w, Key::Enter);
    w.handle(Msg::Examined(Ok(DomainFacts {
        domain: "old.example.com".into(),
        region: "eu-west-1".into(),
        zone: None,
        certificates: vec![],
        read_at: std::time::SystemTime::UNIX_EPOCH,
    })));
    assert_eq!(w.examined, Some(Load::Pending));
}

#[test]
fn choosing_another_region_forgets_the_certificate_of_the_first() {
    let mut w = wizard(Answers {
        install_name: Some("shop".parse().unwrap()),
        region: Some("eu-west-1".parse().unwrap()),
        domain: Some("ph.example.com".into()),
        certificate_arn: Some("arn:aws:acm:eu-west-1:1:certificate/x".into()),
        ..Answers::default()
    });
    assert_eq!(w.step, Step::Sizing);
    press(&mut w, Key::Esc);
    press(&mut w, Key::Esc);
    assert_eq!(w.step, Step::Region);
    press(&mut w, Key::Home);
    press(&mut w, Key::Enter);
    assert_eq!(w.answers.region.as_ref().unwrap().as_str(), "us-east-1");
    assert_eq!(w.answers.certificate_arn, None);
    assert_eq!(
        w.answers.domain.as_deref(),
        Some("ph.example.com"),
        "the name is kept"
    );
}

#[test]
fn an_install_this_state_dir_does_not_know_is_named_and_its_name_cannot_be_taken() {
    let mut w = wizard(Answers::default());
    w.handle(Msg::Installs(Ok(vec![FoundInstall {
        name: "shop".into(),
        region: "us-east-1".into(),
        stacks: 10,
    }])));
    assert_eq!(w.unknown_installs().len(), 1);
    typed(&mut w, "shop");
    assert!(press(&mut w, Key::Enter).is_empty());
    let e = w.name_error.clone().unwrap();
    assert!(
        e.contains("already exist") && e.contains("another state directory"),
        "{e}"
    );
    press(&mut w, Key::Backspace);
    typed(&mut w, "2");
    press(&mut w, Key::Enter);
    assert_eq!(w.step, Step::Region, "another name goes on");
    // The install the answers are about is not unknown.
    let mine = wizard(Answers {
        install_name: Some("shop".parse().unwrap()),
        ..Answers::default()
    });
    let mut mine = mine;
    mine.handle(Msg::Installs(Ok(vec![FoundInstall {
        name: "shop".into(),
        region: "us-east-1".into(),
        stacks: 10,
    }])));
    assert!(mine.unknown_installs().is_empty());
}

#[test]
fn a_filter_that_matches_nothing_says_so_as_it_is_typed() {
    let mut w = wizard(Answers::default());
    w.step = Step::Region;
    typed(&mut w, "atlantis");
    let e = w.region_error.clone().unwrap();
    assert!(e.contains("No region matches 'atlantis'"), "{e}");
    for _ in 0.."atlantis".len() {
        press(&mut w, Key::Backspace);
    }
    assert_eq!(w.region_error, None);
}

fn on_sizing() -> Wizard {
    let mut w = wizard(Answers {
        install_name: Some("shop".parse().unwrap()),
        region: Some("us-west-1".parse().unwrap()),
        domain: Some("ph.example.com".into()),
        certificate_arn: Some("arn:aws:acm:us-west-1:1:certificate/x".into()),
        ..Answers::default()
    });
    assert_eq!(w.step, Step::Sizing);
    let checks = fixtures::all_offered(&w);
    w.handle(Msg::SizingChecked(w.sizing_ask().unwrap(), Ok(checks)));
    w
}

#[test]
fn arriving_on_sizing_asks_the_regions_services_once_per_region() {
    let answers = Answers {
        install_name: Some("shop".parse().unwrap()),
        region: Some("us-west-1".parse().unwrap()),
        domain: Some("ph.example.com".into()),
        certificate_arn: Some("arn:x".into()),
        ..Answers::default()
    };
    let (mut w, effects) = Wizard::new(answers, "us-west-1".parse().unwrap(), "x".into());
    assert!(
        effects
            .iter()
            .any(|e| matches!(e, Effect::CheckSizing(a) if a.region.as_str() == "us-west-1"))
    );
    w.handle(Msg::SizingChecked(
        w.sizing_ask().unwrap(),
        Ok(Default::default()),
    ));
    press(&mut w, Key::Esc);
    assert_eq!(w.step, Step::Domain);
    // Back on sizing in the same region: nothing asked again.
    let effects = press(&mut w, Key::Enter);
    assert!(
        !effects.iter().any(|e| matches!(e, Effect::CheckSizing(_))),
        "{effects:?}"
    );
}

#[test]
fn sizing_opens_on_production_and_a_two_zone_region_gets_two_zones() {
    let w = on_sizing();
    assert_eq!(w.profiles[w.profile_cursor].0, "production");
    let (name, _) = &w.profiles[w.profile_cursor];
    assert_eq!(w.profile_zones(name), 2, "us-west-1 has two zones");
}

#[test]
fn a_profile_is_chosen_saved_and_the_secrets_are_prepared_next() {
    let mut w = on_sizing();
    press(&mut w, Key::Up);
    let effects = press(&mut w, Key::Enter);
    assert_eq!(w.answers.profile.as_deref(), Some("evaluation"));
    assert_eq!(w.step, Step::Secrets);
    assert!(matches!(&effects[0], Effect::Save(a) if a.profile.as_deref() == Some("evaluation")));
    assert_eq!(
        effects[1],
        Effect::PrepareSecrets {
            bootstrap_region: "us-east-1".parse().unwrap()
        },
        "the provisioning user is looked up where the installer runs"
    );
}

#[test]
fn a_profile_whose_types_the_region_lacks_is_refused_with_what_is_missing() {
    let mut w = on_sizing();
    let mut checks = fixtures::all_offered(&w);
    checks.get_mut("production").unwrap().fit.missing =
        vec!["EC2 does not offer m6i.xlarge in us-west-1".into()];
    w.handle(Msg::SizingChecked(w.sizing_ask().unwrap(), Ok(checks)));
    assert!(press(&mut w, Key::Enter).is_empty());
    assert_eq!(w.step, Step::Sizing);
    assert!(w.sizing_error.as_ref().unwrap().contains("m6i.xlarge"));
    press(&mut w, Key::Down);
    assert_eq!(w.sizing_error, None, "moving on clears the refusal");
}

#[test]
fn the_secrets_step_goes_on_only_when_every_secret_and_the_key_are_in_place() {
    let mut w = on_sizing();
    press(&mut w, Key::Enter);
    assert_eq!(w.secrets, Some(Load::Pending));
    assert!(
        press(&mut w, Key::Enter).is_empty(),
        "nothing while preparing"
    );
    let mut report = fixtures::secrets_report();
    report.access_key = AccessKeyState::Failed("no bootstrap stack".into());
    w.handle(Msg::SecretsReady(Ok(report)));
    let effects = press(&mut w, Key::Enter);
    assert_eq!(w.step, Step::Secrets);
    assert!(
        matches!(effects.as_slice(), [Effect::PrepareSecrets { .. }]),
        "Enter retries"
    );
    w.handle(Msg::SecretsReady(Ok(fixtures::secrets_report())));
    press(&mut w, Key::Enter);
    assert_eq!(w.step, Step::Review);
}

#[test]
fn a_wizard_with_every_answer_resumes_on_secrets_so_they_are_checked_before_the_review() {
    let w = wizard(Answers {
        install_name: Some("shop".parse().unwrap()),
        region: Some("eu-west-1".parse().unwrap()),
        domain: Some("ph.example.com".into()),
        certificate_arn: Some("arn:x".into()),
        profile: Some("evaluation".into()),
        ..Answers::default()
    });
    assert_eq!(w.step, Step::Secrets);
}

#[test]
fn the_review_goes_back_to_any_step_by_number_and_confirm_can_be_taken_back() {
    let mut w = on_sizing();
    press(&mut w, Key::Enter);
    w.handle(Msg::SecretsReady(Ok(fixtures::secrets_report())));
    press(&mut w, Key::Enter);
    assert_eq!(w.step, Step::Review);
    press(&mut w, Key::Char('2'));
    assert_eq!(w.step, Step::Region);
    let mut w2 = w.clone();
    w2.step = Step::Review;
    press(&mut w2, Key::Enter);
    assert!(w2.confirmed);
    press(&mut w2, Key::Char('2'));
    assert_eq!(w2.step, Step::Review, "numbers do nothing once confirmed");
    press(&mut w2, Key::Esc);
    assert!(!w2.confirmed);
    assert_eq!(w2.step, Step::Review);
}

#[test]
fn ctrl_c_quits_at_once_unless_something_is_in_flight_then_it_asks_first() {
    let mut w = on_domain();
    assert_eq!(press(&mut w, Key::Interrupt), vec![Effect::Quit]);

    let mut w = on_domain();
    typed(&mut w, "ph.example.com");
    press(&mut w, Key::Enter);
    let m = facts(&w, vec![]);
    w.handle(m);
    press(&mut w, Key::Enter);
    press(&mut w, Key::Enter);
    assert_eq!(w.in_flight(), Some(InFlight::CertificateRequest));
    assert!(press(&mut w, Key::Interrupt).is_empty());
    assert_eq!(
        w.overlay,
        Some(Overlay::ConfirmQuit(InFlight::CertificateRequest))
    );
    // Any other key stays, and does nothing else.
    assert!(press(&mut w, Key::Esc).is_empty());
    assert_eq!(w.overlay, None);
    assert!(w.cert_order.is_some(), "Esc only closed the question");
    press(&mut w, Key::Interrupt);
    assert_eq!(press(&mut w, Key::Char('y')), vec![Effect::Quit]);
    // Ctrl-C twice quits too.
    let mut w2 = on_sizing();
    press(&mut w2, Key::Enter);
    assert_eq!(w2.in_flight(), Some(InFlight::Secrets));
    press(&mut w2, Key::Interrupt);
    assert_eq!(press(&mut w2, Key::Interrupt), vec![Effect::Quit]);
}

#[test]
fn without_the_installers_own_stack_welcome_says_what_to_deploy_and_goes_no_further() {
    let mut w = wizard(Answers::default());
    w.handle(Msg::Bootstrap(Ok(None)));
    typed(&mut w, "shop");
    assert!(press(&mut w, Key::Enter).is_empty());
    assert_eq!(w.step, Step::Welcome);
    let why = w.name_error.clone().unwrap();
    assert!(
        why.contains("installer.yaml") && why.contains("us-east-1"),
        "{why}"
    );
    // Found after all (deployed meanwhile, the list read again): on it goes.
    w.handle(Msg::Bootstrap(Ok(Some(fixtures::bootstrap()))));
    press(&mut w, Key::Enter);
    assert_eq!(w.step, Step::Region);
}

#[test]
fn the_installer_role_is_recognised_in_the_identity() {
    let b = fixtures::bootstrap();
    assert_eq!(b.role_name(), Some("ph-installer"));
    assert!(
        b.is_used_by("arn:aws:sts::111122223333:assumed-role/ph-installer/i-0a1b2c3d4e5f60718")
    );
    assert!(!b.is_used_by("arn:aws:sts::111122223333:assumed-role/Admin/alice"));
    assert!(!b.is_used_by("arn:aws:iam::111122223333:user/ph-installer"));
}

#[test]
fn the_bootstrap_stack_is_looked_for_where_the_installer_runs_not_in_the_saved_region() {
    let answers = Answers {
        install_name: Some("shop".parse().unwrap()),
        region: Some("eu-west-1".parse().unwrap()),
        ..Answers::default()
    };
    let (_, effects) = Wizard::new(answers, "us-east-1".parse().unwrap(), "IMDS".into());
    assert!(effects.contains(&Effect::LoadBootstrap("us-east-1".parse().unwrap())));
}

#[test]
fn after_acm_gave_up_the_request_row_asks_again_with_a_new_token() {
    let answers = Answers {
        install_name: Some("shop".parse().unwrap()),
        region: Some("eu-west-1".parse().unwrap()),
        domain: Some("ph.example.com".into()),
        certificate_arn: Some("arn:aws:acm:eu-west-1:1:certificate/failed".into()),
        ..Answers::default()
    };
    let (w, _) = Wizard::resumed(
        answers,
        vec![requested(
            "arn:aws:acm:eu-west-1:1:certificate/failed",
            None,
        )],
        "eu-west-1".parse().unwrap(),
        "x".into(),
    );
    let mut w = fixtures::loaded(w);
    let mut failed = fixtures::issued_view("arn:aws:acm:eu-west-1:1:certificate/failed");
    failed.phase = certificate::CertPhase::Failed("FAILED (CAA_ERROR)".into());
    w.handle(Msg::Certificate(failed));
    press(&mut w, Key::Esc);
    assert_eq!(w.step, Step::Domain);
    press(&mut w, Key::Enter);
    let m = facts(&w, vec![]);
    w.handle(m);
    assert_eq!(
        w.earlier_request(),
        None,
        "a failed certificate is not offered again"
    );
    press(&mut w, Key::Enter);
    let (order, _) = w.cert_order.clone().expect("a new request is explained");
    assert_eq!(order.attempt, 1);
    assert_ne!(
        order.token,
        certificate::idempotency_token("shop", "eu-west-1", "ph.example.com", 0)
    );
}

#[test]
fn an_offerings_answer_about_a_region_no_longer_chosen_is_dropped() {
    let mut w = on_sizing();
    let ask = w.sizing_ask().unwrap();
    w.sizing_checks = Some((ask.clone(), Load::Pending));
    let elsewhere = SizingAsk {
        region: "eu-west-1".parse().unwrap(),
        ..ask
    };
    w.handle(Msg::SizingChecked(elsewhere, Ok(Default::default())));
    assert!(matches!(w.sizing_checks, Some((_, Load::Pending))));
    assert!(
        press(&mut w, Key::Enter).is_empty(),
        "no choice while the check runs"
    );
    assert!(w.sizing_error.as_ref().unwrap().contains("still"));
}

#[test]
fn going_back_and_forth_while_the_secrets_are_made_starts_one_run_only() {
    let mut w = on_sizing();
    let first = press(&mut w, Key::Enter);
    assert!(
        first
            .iter()
            .any(|e| matches!(e, Effect::PrepareSecrets { .. }))
    );
    press(&mut w, Key::Esc);
    let again = press(&mut w, Key::Enter);
    assert!(
        !again
            .iter()
            .any(|e| matches!(e, Effect::PrepareSecrets { .. })),
        "{again:?}"
    );
}

#[test]
fn certificates_listed_in_a_region_no_longer_chosen_are_not_offered() {
    let mut w = on_domain();
    typed(&mut w, "ph.example.com");
    press(&mut w, Key::Enter);
    let Msg::Examined(Ok(mut f)) = facts(&w, vec![issued("a", "*.example.com")]) else {
        unreachable!()
    };
    f.region = "us-east-1".into();
    w.handle(Msg::Examined(Ok(f)));
    assert_eq!(w.examined, Some(Load::Pending));
}

fn type_value(w: &mut Wizard, key: &str, value: &str) -> Vec<Effect> {
    let row = w.limits.iter().position(|l| l.key == key).unwrap();
    let ed = w.editor.as_mut().unwrap();
    ed.row = row;
    press(w, Key::Enter);
    for _ in 0..40 {
        press(w, Key::Backspace);
    }
    typed(w, value);
    press(w, Key::Enter)
}

#[test]
fn a_custom_profile_changes_values_within_the_templates_limits_and_is_saved() {
    let mut w = on_sizing();
    press(&mut w, Key::Char('e'));
    assert!(w.editor.is_some());
    assert_eq!(w.custom.0, "production");
    type_value(&mut w, "db_allocated_storage", "5");
    let err = w.editor.as_ref().unwrap().error.clone().unwrap();
    assert!(
        err.contains("db_allocated_storage") && err.contains("outside"),
        "{err}"
    );
    assert!(w.custom.1.is_empty(), "a refused value is not kept");
    press(&mut w, Key::Esc);
    type_value(&mut w, "db_allocated_storage", "250");
    assert_eq!(
        w.custom.1.get("db_allocated_storage").map(String::as_str),
        Some("250")
    );
    // Typing the profile's own value back forgets the change.
    type_value(&mut w, "db_multi_az", "true");
    assert!(!w.custom.1.contains_key("db_multi_az"));
    // Done: the changed values are asked about before they can be chosen.
    let effects = press(&mut w, Key::Esc);
    assert!(
        matches!(effects.as_slice(), [Effect::CheckSizing(a)] if a.overrides.len() == 1),
        "{effects:?}"
    );
    let ask = w.sizing_ask().unwrap();
    let checks = fixtures::all_offered(&w);
    w.handle(Msg::SizingChecked(ask, Ok(checks)));
    let effects = press(&mut w, Key::Enter);
    assert!(matches!(&effects[0], Effect::Save(a)
        if a.profile.as_deref() == Some("production")
            && a.sizing.get("db_allocated_storage").map(String::as_str) == Some("250")));
}

#[test]
fn changed_values_that_disagree_keep_the_profile_from_being_chosen() {
    let mut w = on_sizing();
    press(&mut w, Key::Char('e'));
    type_value(&mut w, "node_desired_size", "9");
    press(&mut w, Key::Esc);
    let ask = w.sizing_ask().unwrap();
    let checks = fixtures::all_offered(&w);
    w.handle(Msg::SizingChecked(ask, Ok(checks)));
    assert!(press(&mut w, Key::Enter).is_empty());
    assert!(w.sizing_error.as_ref().unwrap().contains("desired 9"));
    assert_eq!(w.step, Step::Sizing);
}

#[test]
fn customising_another_profile_starts_from_its_own_values() {
    let mut w = on_sizing();
    press(&mut w, Key::Char('e'));
    type_value(&mut w, "db_allocated_storage", "250");
    press(&mut w, Key::Esc);
    press(&mut w, Key::Up);
    press(&mut w, Key::Char('e'));
    assert_eq!(w.custom.0, "evaluation");
    assert!(w.custom.1.is_empty());
}

#[test]
fn going_back_to_an_earlier_domain_finds_its_certificate_among_several() {
    let answers = Answers {
        install_name: Some("shop".parse().unwrap()),
        region: Some("eu-west-1".parse().unwrap()),
        ..Answers::default()
    };
    let mut other = requested("arn:other", None);
    other.domain = "ph.example.org".into();
    let (w, _) = Wizard::resumed(
        answers,
        vec![requested("arn:first", None), other],
        "eu-west-1".parse().unwrap(),
        "x".into(),
    );
    let mut w = fixtures::loaded(w);
    typed(&mut w, "ph.example.com");
    press(&mut w, Key::Enter);
    let m = facts(&w, vec![]);
    w.handle(m);
    assert_eq!(
        w.earlier_request().map(|r| r.arn.as_str()),
        Some("arn:first")
    );
}

#[test]
fn once_the_records_are_in_a_file_quitting_is_not_asked_about() {
    let answers = Answers {
        install_name: Some("shop".parse().unwrap()),
        region: Some("eu-west-1".parse().unwrap()),
        domain: Some("ph.example.com".into()),
        certificate_arn: Some("arn:z".into()),
        ..Answers::default()
    };
    let (w, _) = Wizard::resumed(
        answers,
        vec![requested("arn:z", Some(("Z1", "example.com.")))],
        "eu-west-1".parse().unwrap(),
        "x".into(),
    );
    let mut w = fixtures::loaded(w);
    assert_eq!(w.in_flight(), Some(InFlight::ValidationRecords));
    let mut v = fixtures::issued_view("arn:z");
    v.phase = certificate::CertPhase::Validating;
    v.records_file = Some("/state/dns-validation.txt".into());
    w.handle(Msg::Certificate(v));
    assert_eq!(w.in_flight(), None);
}
