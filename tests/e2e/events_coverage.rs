//! Consultation, supervision and studio events in 宁晋县政协 and what consumes
//! them: two consultation activities held, feedback on their suggestions (and
//! a correction), suggestions carried into a proposal draft and an
//! information item, a supervision report with problems rectified or not, and
//! two studio requests turned into drafts. The proposals service creates each
//! draft exactly once (even when the event is delivered again), owned by
//! 张建国; analytics counts everything for 宁晋县 and rolls it up to 邢台市 and
//! 河北省; a rebuild from the event log equals the incremental counters.

use std::collections::BTreeMap;

use tonic::Code;
use tonic::transport::Channel;
use xieshang_proto::analytics::v1 as pa;
use xieshang_proto::analytics::v1::analytics_service_client::AnalyticsServiceClient;
use xieshang_proto::common::v1::Date;
use xieshang_proto::consultation::v1 as pc;
use xieshang_proto::consultation::v1::consultation_service_client::ConsultationServiceClient;
use xieshang_proto::consultation::v1::supervision_service_client::SupervisionServiceClient;
use xieshang_proto::events::v1::event::Payload;
use xieshang_proto::events::v1::{DraftTarget, Event};
use xieshang_proto::membership::v1 as pm;
use xieshang_proto::membership::v1::studio_service_client::StudioServiceClient;
use xieshang_proto::proposals::v1 as pp;
use xieshang_tests::*;

use crate::membership::{Ningjin, create, ningjin, this_year};

type Consultation = ConsultationServiceClient<Authed>;

fn analytics(s: &Session) -> AnalyticsServiceClient<Authed> {
    AnalyticsServiceClient::with_interceptor(s.channel.clone(), s.bearer())
}

fn supervision(s: &Session) -> SupervisionServiceClient<Authed> {
    SupervisionServiceClient::with_interceptor(s.channel.clone(), s.bearer())
}

fn studios(s: &Session) -> StudioServiceClient<Authed> {
    StudioServiceClient::with_interceptor(s.channel.clone(), s.bearer())
}

fn public_studios(app: &TestApp) -> StudioServiceClient<Channel> {
    StudioServiceClient::new(app.channel.clone())
}

/// Creates an activity and moves it to REPORT through `via` (emitting
/// `ConsultationActivityHeld` on the way), adds the suggestions, then moves it to FEEDBACK.
async fn held_activity(
    c: &mut Consultation,
    title: &str,
    kind: pc::ConsultationType,
    via: &[pc::ActivityStage],
    suggestions: &[&str],
) -> (pc::Activity, Vec<pc::Suggestion>) {
    let a = c
        .create_activity(pc::CreateActivityRequest {
            activity: Some(pc::Activity {
                title: title.into(),
                r#type: kind as i32,
                year: this_year(),
                ..Default::default()
            }),
        })
        .await
        .unwrap()
        .into_inner();
    for stage in via.iter().chain([&pc::ActivityStage::Report]) {
        c.advance_activity(pc::AdvanceActivityRequest { id: a.id.clone(), stage: *stage as i32 }).await.unwrap();
    }
    let mut added = Vec::new();
    for text in suggestions {
        let s = c
            .add_suggestion(pc::AddSuggestionRequest { activity_id: a.id.clone(), text: (*text).into() })
            .await
            .unwrap()
            .into_inner();
        added.push(s);
    }
    c.advance_activity(pc::AdvanceActivityRequest { id: a.id.clone(), stage: pc::ActivityStage::Feedback as i32 })
        .await
        .unwrap();
    (a, added)
}

async fn feedback(c: &mut Consultation, s: &pc::Suggestion, f: pc::FeedbackResult, note: &str) {
    c.record_feedback(pc::RecordFeedbackRequest { suggestion_id: s.id.clone(), feedback: f as i32, note: note.into() })
        .await
        .unwrap();
}

fn carry(s: &pc::Suggestion, target: pc::CarryTarget, member: &str, title: &str) -> pc::CarrySuggestionRequest {
    pc::CarrySuggestionRequest {
        suggestion_id: s.id.clone(),
        target: target as i32,
        member_id: member.into(),
        title: title.into(),
    }
}

/// A supervision project of 宁晋县 with three reported problems: #1
/// rectified, #2 not rectified, #3 still in progress.
async fn supervised(staff: &Session) {
    let mut c = supervision(staff);
    let date = |month, day| Some(Date { year: this_year(), month, day });
    let p = c
        .create_supervision_project(pc::CreateSupervisionProjectRequest {
            kind: pc::SupervisionKind::SpecialCollective as i32,
            topic: "农村人居环境整治专项民主监督".into(),
            start_date: date(4, 1),
            end_date: date(10, 31),
        })
        .await
        .unwrap()
        .into_inner();
    c.start_supervision_project(pc::StartSupervisionProjectRequest { id: p.id.clone() }).await.unwrap();
    let problem = |problem: &str, suggestion: &str| pc::NewSupervisionProblem {
        problem: problem.into(),
        suggestion: suggestion.into(),
    };
    c.file_supervision_report(pc::FileSupervisionReportRequest {
        project_id: p.id.clone(),
        summary: "全县农村人居环境整治取得阶段性成效，仍存在短板。".into(),
        problems: vec![
            problem("生活垃圾清运不及时", "建立村收集、镇转运、县处理的长效机制"),
            problem("改厕后续管护机制不健全", "明确管护主体和经费保障"),
            problem("农村污水处理设施运行率低", "落实运维经费，委托专业机构运营"),
        ],
    })
    .await
    .unwrap();
    use pc::RectificationStatus as R;
    let mut rectify = async |number: i32, status: R, rectified_date: Option<Date>, note: &str| {
        c.update_rectification(pc::UpdateRectificationRequest {
            project_id: p.id.clone(),
            number,
            status: status as i32,
            rectified_date,
            note: note.into(),
        })
        .await
        .unwrap();
    };
    for number in 1..=3 {
        rectify(number, R::InProgress, None, "县住建局牵头整改").await;
    }
    rectify(1, R::Rectified, date(9, 20), "已建成转运站3座").await;
    rectify(2, R::NotRectified, None, "经费未落实，列入明年计划").await;
}

/// A studio of 张建国 (account) and 王志强 (no account) with two public
/// requests: one answered by 张建国 and turned into a proposal, one turned
/// into an information item unanswered.
async fn studio_requests(app: &TestApp, n: &Ningjin, zhang: &pm::Member, wang: &pm::Member) {
    let mut staff = studios(&n.staff);
    let studio = staff
        .create_studio(pm::CreateStudioRequest {
            name: "张建国委员工作室".into(),
            sector_id: n.sector_economy.clone(),
            address: "宁晋县凤凰镇政府二楼".into(),
            member_ids: vec![wang.id.clone(), zhang.id.clone()],
            service_items: vec!["政策咨询".into(), "企业帮扶".into()],
        })
        .await
        .unwrap()
        .into_inner();
    let submit = async |kind: pm::StudioRequestKind, content: &str| {
        public_studios(app)
            .submit_studio_request(pm::SubmitStudioRequestRequest {
                committee_code: "130528".into(),
                studio_id: studio.id.clone(),
                kind: kind as i32,
                content: content.into(),
                contact: Some(pm::StudioContact { name: "王大妈".into(), phone: "13831901234".into() }),
            })
            .await
            .unwrap();
    };
    submit(pm::StudioRequestKind::Suggestion, "建议在凤凰镇中学门口增设交通信号灯，上下学高峰车辆多。").await;
    submit(pm::StudioRequestKind::Help, "村里自来水水压不足，三楼以上用不上水。").await;
    let requests = staff.list_studio_requests(pm::ListStudioRequestsRequest::default()).await.unwrap().into_inner();
    let find = |text: &str| requests.requests.iter().find(|r| r.content.contains(text)).unwrap().id.clone();
    let (lights, water) = (find("信号灯"), find("水压"));
    studios(&n.zhang)
        .answer_studio_request(pm::AnswerStudioRequestRequest {
            id: lights.clone(),
            answer: "已向县交警大队反映，将结合提案推动解决。".into(),
        })
        .await
        .unwrap();
    let mark =
        |id: &str, kind: pm::StudioDraftKind| pm::MarkStudioRequestDraftedRequest { id: id.into(), kind: kind as i32 };
    staff.mark_studio_request_drafted(mark(&lights, pm::StudioDraftKind::Proposal)).await.unwrap();
    staff.mark_studio_request_drafted(mark(&water, pm::StudioDraftKind::Information)).await.unwrap();
}

fn drafts_requested(events: &[Event]) -> Vec<Event> {
    events
        .iter()
        .filter(|e| matches!(e.payload, Some(Payload::SuggestionCarriedForward(_) | Payload::StudioRequestDrafted(_))))
        .cloned()
        .collect()
}

async fn my_drafts(zhang: &Session) -> (Vec<pp::Proposal>, Vec<pp::InformationItem>) {
    let proposals = zhang
        .proposals()
        .list_proposals(pp::ListProposalsRequest { state: pp::ProposalState::Draft as i32, ..Default::default() })
        .await
        .unwrap()
        .into_inner()
        .proposals;
    let items =
        zhang.information().list_information(pp::ListInformationRequest::default()).await.unwrap().into_inner().items;
    (proposals, items)
}

async fn figures(s: &Session, committee: &str, rollup: pa::Rollup) -> pa::Figures {
    analytics(s)
        .get_figures(pa::GetFiguresRequest {
            committee_id: committee.into(),
            period: this_year().to_string(),
            rollup: rollup as i32,
        })
        .await
        .unwrap()
        .into_inner()
}

fn counts(f: &pa::Figures) -> BTreeMap<String, i64> {
    f.counts.iter().map(|(k, v)| (k.clone(), *v)).collect()
}

fn rate(f: &pa::Figures, name: &str) -> (f64, bool) {
    let r = f.rates.iter().find(|r| r.name == name).unwrap_or_else(|| panic!("rate {name}"));
    (r.value, r.undefined)
}

#[tokio::test]
async fn consultation_supervision_and_studio_events_become_drafts_and_figures() {
    let app = spawn_app().await;
    let recorder = Recorder::on(&app);
    let n = ningjin(&app).await;
    let mut roster = n.staff.membership();
    let mut zhang = n.member("张建国", "13052819700315123", "13831951234");
    zhang.user_id = n.zhang.user.id.clone();
    let zhang = create(&mut roster, zhang).await.unwrap();
    let wang = create(&mut roster, n.member("王志强", "13052819750820345", "13731950001")).await.unwrap();
    let mut c = n.staff.consultation();

    // Two activities held: a "请你来协商" and a 民生议事堂 that passes through its MEETING stage.
    let (saline, s) = held_activity(
        &mut c,
        "关于推进盐碱地综合利用的协商",
        pc::ConsultationType::PleaseConsult,
        &[],
        &["设立盐碱地改良专项资金", "推广耐盐碱作物品种", "建立土壤监测网络"],
    )
    .await;
    held_activity(
        &mut c,
        "民生议事堂：老旧小区加装电梯",
        pc::ConsultationType::Grassroots,
        &[pc::ActivityStage::Meeting],
        &[],
    )
    .await;
    use pc::FeedbackResult as F;
    feedback(&mut c, &s[0], F::Adopted, "").await;
    feedback(&mut c, &s[1], F::PartlyAdopted, "").await;
    feedback(&mut c, &s[2], F::NotAdopted, "监测网络已由省级部门统一建设").await;
    // A correction is an event, but not counted again.
    feedback(&mut c, &s[2], F::Adopted, "").await;
    // Recording the same result again emits nothing.
    feedback(&mut c, &s[0], F::Adopted, "").await;

    // Carrying suggestions on: validation, roles and the committee's walls first.
    use pc::CarryTarget as T;
    let title = "关于设立盐碱地改良专项资金的建议";
    let no_title = c.carry_suggestion(carry(&s[0], T::Proposal, &zhang.id, " ")).await;
    assert_eq!(violated_field(&assert_code(no_title, Code::InvalidArgument)), "title");
    let no_target = c.carry_suggestion(carry(&s[0], T::Unspecified, &zhang.id, title)).await;
    assert_eq!(violated_field(&assert_code(no_target, Code::InvalidArgument)), "target");
    let bad_member = c.carry_suggestion(carry(&s[0], T::Proposal, "张建国", title)).await;
    assert_eq!(violated_field(&assert_code(bad_member, Code::InvalidArgument)), "member_id");
    let no_account = c.carry_suggestion(carry(&s[0], T::Proposal, &wang.id, title)).await;
    assert!(assert_code(no_account, Code::FailedPrecondition).message().contains("no user account"));
    let by_member = n.zhang.consultation().carry_suggestion(carry(&s[0], T::Proposal, &zhang.id, title)).await;
    assert_code(by_member, Code::PermissionDenied);
    let lincheng = app.login("130522", "admin", PASSWORD).await.unwrap();
    let elsewhere = lincheng.consultation().carry_suggestion(carry(&s[0], T::Proposal, &zhang.id, title)).await;
    assert_code(elsewhere, Code::NotFound);

    let to_proposal = c.carry_suggestion(carry(&s[0], T::Proposal, &zhang.id, title)).await.unwrap().into_inner();
    assert_eq!(to_proposal.owner_user_id, n.zhang.user.id);
    assert_eq!(to_proposal.target, T::Proposal as i32);
    assert_eq!(to_proposal.suggestion.as_ref().unwrap().id, s[0].id);
    let to_information = c
        .carry_suggestion(carry(&s[1], T::Information, &zhang.id, "关于推广耐盐碱作物品种的信息"))
        .await
        .unwrap()
        .into_inner();

    supervised(&n.staff).await;
    studio_requests(&app, &n, &zhang, &wang).await;

    // The events, as emitted: the relay delivers in order, so once the last
    // one (the second studio draft) is here, every earlier one is too.
    eventually("the studio requests' events", async || {
        recorder.snapshot().iter().filter(|e| matches!(e.payload, Some(Payload::StudioRequestDrafted(_)))).count() == 2
    })
    .await;
    let events = recorder.snapshot();
    let held: Vec<(&str, i32)> = events
        .iter()
        .filter_map(|e| match &e.payload {
            Some(Payload::ConsultationActivityHeld(h)) => Some((h.consultation_type.as_str(), h.year)),
            _ => None,
        })
        .collect();
    assert_eq!(held, [("PLEASE_CONSULT", this_year()), ("GRASSROOTS", this_year())]);
    let fed_back: Vec<(&str, &str)> = events
        .iter()
        .filter_map(|e| match &e.payload {
            Some(Payload::SuggestionFeedbackGiven(f)) => Some((f.result.as_str(), f.previous_result.as_str())),
            _ => None,
        })
        .collect();
    assert_eq!(fed_back, [("adopted", ""), ("partly_adopted", ""), ("not_adopted", ""), ("adopted", "not_adopted")]);
    let carried = events
        .iter()
        .find_map(|e| match &e.payload {
            Some(Payload::SuggestionCarriedForward(c)) if e.id == to_proposal.draft_id => Some(c.clone()),
            _ => None,
        })
        .expect("SuggestionCarriedForward, its id the draft's");
    assert_eq!(carried.target, DraftTarget::Proposal as i32);
    assert_eq!(
        (carried.owner_member_id.as_str(), carried.body.as_str()),
        (zhang.id.as_str(), "设立盐碱地改良专项资金")
    );
    assert_eq!(carried.activity_id, saline.id);
    let reported = recorder.find(|e| match &e.payload {
        Some(Payload::SupervisionReportFiled(r)) => Some(r.problem_count),
        _ => None,
    });
    assert_eq!(reported, Some(3));
    let rectification: Vec<(i32, &str)> = events
        .iter()
        .filter_map(|e| match &e.payload {
            Some(Payload::SupervisionRectificationChanged(r)) if r.from == "in_progress" => {
                Some((r.problem_number, r.to.as_str()))
            }
            _ => None,
        })
        .collect();
    assert_eq!(rectification, [(1, "rectified"), (2, "not_rectified")]);
    let studio: Vec<_> = events
        .iter()
        .filter_map(|e| match &e.payload {
            Some(Payload::StudioRequestDrafted(d)) => Some(d.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(studio.len(), 2);
    // Both owned by 张建国: the member who answered, and the studio's only member with an account.
    assert!(studio.iter().all(|d| d.owner_user_id == n.zhang.user.id), "{studio:?}");
    assert_eq!(studio[0].target, DraftTarget::Proposal as i32);
    assert!(studio[0].body.contains("工作室答复：已向县交警大队反映"), "{}", studio[0].body);
    assert!(studio[0].source_note.contains("张建国委员工作室") && studio[0].source_note.contains("130528-"));
    // The requester's contact never travels.
    assert!(studio.iter().all(|d| !format!("{d:?}").contains("1383190") && !format!("{d:?}").contains("王大妈")));

    // The proposals service creates each draft once, owned by 张建国.
    eventually("four drafts for 张建国", async || {
        let (proposals, items) = my_drafts(&n.zhang).await;
        proposals.len() == 2 && items.len() == 2
    })
    .await;
    let requested = drafts_requested(&recorder.snapshot());
    assert_eq!(requested.len(), 4);
    for event in &requested {
        app.running.bus.publish(event).await.unwrap();
        app.running.bus.publish(event).await.unwrap();
    }
    let (proposals, items) = my_drafts(&n.zhang).await;
    assert_eq!((proposals.len(), items.len()), (2, 2), "one draft per event, however often delivered");
    let draft = proposals.iter().find(|p| p.id == to_proposal.draft_id).expect("the carried suggestion's draft");
    assert_eq!(draft.title, title);
    assert_eq!(draft.proposer_user_id, n.zhang.user.id);
    assert_eq!(draft.state, pp::ProposalState::Draft as i32);
    assert_eq!(draft.kind, pp::ProposalKind::Individual as i32);
    assert_eq!(draft.body, "设立盐碱地改良专项资金\n\n来源：协商活动「关于推进盐碱地综合利用的协商」第1条建议");
    let from_studio = proposals.iter().find(|p| p.id != draft.id).unwrap();
    assert!(from_studio.title.starts_with("张建国委员工作室群众建议："), "{}", from_studio.title);
    assert!(from_studio.body.contains("信号灯") && from_studio.body.contains("来源：委员工作室「张建国委员工作室」"));
    let item = items.iter().find(|i| i.id == to_information.draft_id).expect("the carried suggestion's item");
    assert_eq!(item.author_user_ids, std::slice::from_ref(&n.zhang.user.id));
    assert_eq!(item.state, pp::InformationState::Submitted as i32);
    assert!(items.iter().any(|i| i.body.contains("水压不足")));
    // The member finds the draft by searching; the office does not see other people's drafts.
    let hits = n
        .zhang
        .proposals()
        .search_proposals(pp::SearchProposalsRequest { query: "盐碱地".into(), ..Default::default() })
        .await
        .unwrap()
        .into_inner()
        .hits;
    assert_eq!(hits.iter().map(|h| h.proposal.as_ref().unwrap().id.as_str()).collect::<Vec<_>>(), [draft.id.as_str()]);
    let office = n.staff.proposals().list_proposals(pp::ListProposalsRequest::default()).await.unwrap().into_inner();
    assert!(office.proposals.is_empty());
    // 临城县 sees none of them.
    let theirs = lincheng.proposals().list_proposals(pp::ListProposalsRequest::default()).await.unwrap().into_inner();
    assert!(theirs.proposals.is_empty());

    // Analytics: 宁晋县's own figures for the year.
    let expected: BTreeMap<String, i64> = [
        ("consultations_held", 2),
        ("consultations_held_please_consult", 1),
        ("consultations_held_grassroots", 1),
        ("consultations_held_plenary", 0),
        ("suggestions_fed_back", 3),
        ("suggestions_adopted", 1),
        ("suggestions_partly_adopted", 1),
        ("suggestions_not_adopted", 1),
        ("suggestions_carried_to_proposals", 1),
        ("suggestions_carried_to_information", 1),
        ("supervision_problems_reported", 3),
        ("supervision_problems_rectified", 1),
        ("supervision_problems_not_rectified", 1),
        ("studio_requests_drafted", 2),
        ("studio_requests_to_proposals", 1),
        ("studio_requests_to_information", 1),
        // The two information items the proposals service submitted.
        ("information_submitted", 2),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    let picked = |f: &pa::Figures| -> BTreeMap<String, i64> {
        let all = counts(f);
        expected.keys().map(|k| (k.clone(), all.get(k).copied().unwrap_or(-1))).collect()
    };
    eventually("宁晋县's figures to count every event", async || {
        picked(&figures(&n.admin, &n.tree.ningjin.id, pa::Rollup::Own).await) == expected
    })
    .await;
    let own = figures(&n.admin, &n.tree.ningjin.id, pa::Rollup::Own).await;
    assert_eq!(counts(&own).get("proposals_submitted"), Some(&0));
    let (adoption, undefined) = rate(&own, "suggestion_adoption_rate");
    assert!((adoption - 2.0 / 3.0).abs() < 1e-9 && !undefined, "{adoption}");
    let (rectified, _) = rate(&own, "rectification_rate");
    assert!((rectified - 1.0 / 3.0).abs() < 1e-9, "{rectified}");

    // Rolled up: 邢台市 and 河北省 hold 宁晋县's figures (nothing else happened below them).
    let province = app.login("130000", "admin", PASSWORD).await.unwrap();
    let city = app.login("130500", "admin", PASSWORD).await.unwrap();
    let ningjin_subtree = counts(&figures(&province, &n.tree.ningjin.id, pa::Rollup::Subtree).await);
    assert_eq!(ningjin_subtree, counts(&own));
    assert_eq!(counts(&figures(&city, &n.tree.xingtai.id, pa::Rollup::Subtree).await), ningjin_subtree);
    let hebei = figures(&province, &n.tree.hebei.id, pa::Rollup::Subtree).await;
    assert_eq!(counts(&hebei), ningjin_subtree);
    assert_eq!(rate(&hebei, "suggestion_adoption_rate"), rate(&own, "suggestion_adoption_rate"));
    let hebei_own = counts(&figures(&province, &n.tree.hebei.id, pa::Rollup::Own).await);
    assert_eq!(hebei_own.values().sum::<i64>(), 0);
    assert!(!hebei_own.contains_key("consultations_held"), "unused families stay out of the figures");
    // The county cannot read its province's figures.
    let up = analytics(&n.admin)
        .get_figures(pa::GetFiguresRequest {
            committee_id: n.tree.hebei.id.clone(),
            period: this_year().to_string(),
            rollup: pa::Rollup::Subtree as i32,
        })
        .await;
    assert_code(up, Code::NotFound);

    // A rebuild from the event log equals the incremental counters.
    let service = app.running.analytics.as_ref().expect("analytics runs");
    let before = service.store().counters().await.unwrap();
    service.rebuild(&|_| {}).await.unwrap();
    assert_eq!(service.store().counters().await.unwrap(), before);
    app.stop().await;
}
