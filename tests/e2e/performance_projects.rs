//! Annual performance projects (年度履职项目) through every step of the chain
//! with the refusals a member and staff meet, and the annual assessment (考核)
//! of a small roster: record points and reporting scores combined per
//! category, ranked, outcomes proposed, confirmed or rejected, and audited.

use tonic::Code;
use xieshang_proto::common::v1::{Date, Role};
use xieshang_proto::membership::v1 as pm;
use xieshang_proto::membership::v1::performance_service_client::PerformanceServiceClient;
use xieshang_proto::tenants::v1 as pb;
use xieshang_tests::*;

use crate::membership::{create, ningjin, this_year};

type Performance = PerformanceServiceClient<Authed>;

fn performance(s: &Session) -> Performance {
    PerformanceServiceClient::with_interceptor(s.channel.clone(), s.bearer())
}

fn date(month: i32, day: i32) -> Option<Date> {
    Some(Date { year: this_year(), month, day })
}

fn step(id: &str, to: pm::ProjectStatus, month: i32, note: &str) -> pm::AdvanceProjectRequest {
    pm::AdvanceProjectRequest {
        id: id.into(),
        to: to as i32,
        date: date(month, 10),
        note: note.into(),
        ..Default::default()
    }
}

async fn list(c: &mut Performance, status: pm::ProjectStatus) -> Vec<pm::PerformanceProject> {
    c.list_projects(pm::ListProjectsRequest { year: this_year(), status: status as i32, ..Default::default() })
        .await
        .unwrap()
        .into_inner()
        .projects
}

#[tokio::test]
async fn a_project_moves_through_every_step_forward_only() {
    let app = spawn_app().await;
    let n = ningjin(&app).await;
    let mut c = n.staff.membership();
    let mut zhang = n.member("张建国", "13052819700315123", "13831951234");
    zhang.user_id = n.zhang.user.id.clone();
    let zhang = create(&mut c, zhang).await.unwrap();
    let mut li = n.member("李秀英", "13052819800612234", "13931955678");
    li.user_id = n.li.user.id.clone();
    let li = create(&mut c, li).await.unwrap();
    let year = this_year();

    // 张建国 declares his project; 李秀英 hers.
    let mut mine = performance(&n.zhang);
    let declared = mine
        .declare_project(pm::DeclareProjectRequest {
            year,
            title: "宁晋县农村生活污水治理".into(),
            description: "围绕农村生活污水收集处理开展年度履职。".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!((declared.member_id.as_str(), declared.member_name.as_str()), (zhang.id.as_str(), "张建国"));
    assert_eq!(declared.status, pm::ProjectStatus::Declared as i32);
    let mut hers = performance(&n.li);
    let li_project = hers
        .declare_project(pm::DeclareProjectRequest {
            year, title: "县域养老服务体系建设".into(), ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(li_project.member_id, li.id);
    // A member declares only for themselves; staff must name the member.
    let for_other = mine
        .declare_project(pm::DeclareProjectRequest {
            member_id: li.id.clone(),
            year,
            title: "代报".into(),
            ..Default::default()
        })
        .await;
    assert_code(for_other, Code::PermissionDenied);
    let mut staff = performance(&n.staff);
    let unnamed =
        staff.declare_project(pm::DeclareProjectRequest { year, title: "无人".into(), ..Default::default() }).await;
    assert_eq!(violated_field(&assert_code(unnamed, Code::InvalidArgument)), "member_id");
    let no_title = mine.declare_project(pm::DeclareProjectRequest { year, ..Default::default() }).await;
    assert_eq!(violated_field(&assert_code(no_title, Code::InvalidArgument)), "title");

    // Skipping ahead is refused, naming the state.
    let id = declared.id.clone();
    let skip = assert_code(
        mine.advance_project(step(&id, pm::ProjectStatus::Research, 2, "跳过")).await,
        Code::FailedPrecondition,
    );
    assert!(skip.message().contains("DECLARED"), "{skip:?}");
    // Another member's project does not exist for 李秀英.
    assert_code(hers.advance_project(step(&id, pm::ProjectStatus::Study, 2, "越权")).await, Code::NotFound);
    assert_code(hers.get_project(pm::GetProjectRequest { id: id.clone() }).await, Code::NotFound);

    use pm::ProjectStatus as S;
    let chain = [
        (S::Study, 2, "学习《河北省农村生活污水治理规划》"),
        (S::Research, 4, "走访凤凰镇、苏家庄镇十二个村调研"),
        (S::Consultation, 6, "参加县政协专题协商会并发言"),
        (S::FollowUpReview, 9, "回头看：三个村已建成处理站"),
    ];
    for (to, month, note) in chain {
        let p = mine.advance_project(step(&id, to, month, note)).await.unwrap().into_inner();
        assert_eq!(p.status, to as i32);
    }
    // Never back; never before the previous step's date; the outcome needs its kind.
    let back = assert_code(mine.advance_project(step(&id, S::Research, 10, "退回")).await, Code::FailedPrecondition);
    assert!(back.message().contains("FOLLOW_UP_REVIEW"), "{back:?}");
    let early = mine.advance_project(step(&id, S::Outcome, 8, "成果")).await;
    assert_eq!(violated_field(&assert_code(early, Code::InvalidArgument)), "date");
    let no_kind = mine.advance_project(step(&id, S::Outcome, 11, "成果")).await;
    assert_eq!(violated_field(&assert_code(no_kind, Code::InvalidArgument)), "outcome_kind");
    let done = mine
        .advance_project(pm::AdvanceProjectRequest {
            outcome_kind: pm::ProjectOutcomeKind::Proposal as i32,
            outcome_ref: "宁政协提〔2026〕第18号".into(),
            ..step(&id, S::Outcome, 11, "形成提案《关于加快农村生活污水治理的建议》")
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(done.status, S::Outcome as i32);
    assert_eq!(done.outcome_kind, pm::ProjectOutcomeKind::Proposal as i32);
    let steps: Vec<(i32, i32, String)> =
        done.steps.iter().map(|s| (s.step, s.date.as_ref().unwrap().month, s.note.clone())).collect();
    assert_eq!(steps.len(), 5);
    assert_eq!(steps[0], (S::Study as i32, 2, "学习《河北省农村生活污水治理规划》".to_owned()));
    assert_eq!(steps[4].0, S::Outcome as i32);
    assert!(done.steps.iter().all(|s| s.recorded_by_user_id == n.zhang.user.id));
    let end = assert_code(mine.advance_project(step(&id, S::Outcome, 12, "再来")).await, Code::FailedPrecondition);
    assert!(end.message().contains("OUTCOME"), "{end:?}");

    // Staff move 李秀英's project too, and list by status and year, paged.
    staff.advance_project(step(&li_project.id, S::Study, 3, "组织学习")).await.unwrap();
    let outcome: Vec<String> = list(&mut staff, S::Outcome).await.into_iter().map(|p| p.title).collect();
    assert_eq!(outcome, vec!["宁晋县农村生活污水治理".to_owned()]);
    let study: Vec<String> = list(&mut staff, S::Study).await.into_iter().map(|p| p.member_name).collect();
    assert_eq!(study, vec!["李秀英".to_owned()]);
    assert!(list(&mut staff, S::Declared).await.is_empty());
    let first = staff
        .list_projects(pm::ListProjectsRequest { year, page_size: 1, ..Default::default() })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(first.projects.len(), 1);
    let second = staff
        .list_projects(pm::ListProjectsRequest {
            year,
            page_size: 1,
            page_token: first.next_page_token,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(second.projects.len(), 1);
    assert_ne!(first.projects[0].id, second.projects[0].id);
    assert!(second.next_page_token.is_empty());
    // A member lists only their own.
    let own = hers.list_projects(pm::ListProjectsRequest::default()).await.unwrap().into_inner().projects;
    assert_eq!(own.iter().map(|p| p.id.clone()).collect::<Vec<_>>(), vec![li_project.id.clone()]);

    // Another committee's staff find nothing.
    let lincheng_admin = app.login("130522", "admin", PASSWORD).await.unwrap();
    create_user(&lincheng_admin, &n.tree.lincheng.id, "sunli", "孙丽", &[Role::Staff]).await;
    let lincheng = app.login("130522", "sunli", PASSWORD).await.unwrap();
    assert_code(performance(&lincheng).get_project(pm::GetProjectRequest { id: id.clone() }).await, Code::NotFound);
    assert!(list(&mut performance(&lincheng), S::Outcome).await.is_empty());

    // Every move is audited.
    let audit = n
        .admin
        .audit()
        .list_audit_entries(pb::ListAuditEntriesRequest {
            committee_id: n.tree.ningjin.id.clone(),
            target_type: "member_project".into(),
            page_size: 100,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .entries;
    assert_eq!(audit.iter().filter(|e| e.target_id == id).count(), 6, "declared and five steps");
}

#[tokio::test]
async fn an_assessment_ranks_proposes_and_records_each_decision() {
    let app = spawn_app().await;
    let n = ningjin(&app).await;
    let year = this_year();
    let mut c = n.staff.membership();
    // (name, standing committee, points this year, reporting score)
    let roster: [(&str, bool, i32, Option<i32>); 8] = [
        ("王立群", true, 40, Some(90)),
        ("陈淑华", true, 30, Some(80)),
        ("刘长顺", true, 10, None),
        ("赵宏伟", false, 50, Some(90)),
        ("孙美玲", false, 40, Some(80)),
        ("周建业", false, 30, None),
        ("吴桂兰", false, 35, Some(70)),
        ("郑国栋", false, 30, Some(60)),
    ];
    let mut members = Vec::new();
    for (i, (name, standing, points, _)) in roster.iter().enumerate() {
        let mut m = n.member(name, &format!("13052819750215{:03}", i + 1), &format!("1393195{:04}", i + 1));
        if *standing {
            m.standing_committee = true;
            m.role = pm::MemberRole::StandingMember as i32;
        }
        let m = create(&mut c, m).await.unwrap_or_else(|e| panic!("{name}: {e:?}"));
        // Points in two entries, entered by staff.
        for (month, part) in [(3, points - 5), (7, 5)] {
            c.create_record_entry(pm::CreateRecordEntryRequest {
                entry: Some(pm::RecordEntry {
                    member_id: m.id.clone(),
                    kind: pm::RecordKind::Service as i32,
                    date: date(month, 1),
                    points: part,
                    description: "参加委员联络站接待群众活动".into(),
                    evidence_ref: "宁政协办〔2026〕12号".into(),
                    ..Default::default()
                }),
            })
            .await
            .unwrap_or_else(|e| panic!("{name}: {e:?}"));
        }
        members.push(m);
    }
    // Last year's points do not count.
    c.create_record_entry(pm::CreateRecordEntryRequest {
        entry: Some(pm::RecordEntry {
            member_id: members[5].id.clone(),
            kind: pm::RecordKind::Proposals as i32,
            date: Some(Date { year: year - 1, month: 12, day: 20 }),
            points: 100,
            description: "上年度提案".into(),
            ..Default::default()
        }),
    })
    .await
    .unwrap();

    // One reporting session with one judge gives the reporting scores.
    create_user(&n.admin, &n.tree.ningjin.id, "judge1", "王振华", &[Role::Judge]).await;
    let judge = app.login("130528", "judge1", PASSWORD).await.unwrap();
    let reporters: Vec<(&pm::Member, i32)> =
        members.iter().zip(&roster).filter_map(|(m, r)| r.3.map(|s| (m, s))).collect();
    let mut r = n.staff.reporting();
    let session = r
        .create_reporting_session(pm::CreateReportingSessionRequest {
            session: Some(pm::ReportingSession {
                kind: pm::SessionKind::Regular as i32,
                activity_group_id: n.group_one.clone(),
                title: "第一活动小组委员述职会".into(),
                date: date(4, 20),
                place: "宁晋县政协三楼会议室".into(),
                leader_name: "张国强".into(),
                staff_user_id: n.staff.user.id.clone(),
                reporter_member_ids: reporters.iter().map(|(m, _)| m.id.clone()).collect(),
                judge_user_ids: vec![judge.user.id.clone()],
                ..Default::default()
            }),
        })
        .await
        .unwrap()
        .into_inner();
    r.open_reporting_session(pm::OpenReportingSessionRequest { id: session.id.clone() }).await.unwrap();
    for (m, score) in &reporters {
        r.record_report(pm::RecordReportRequest {
            session_id: session.id.clone(),
            member_id: m.id.clone(),
            work: "本职工作".into(),
            performance: "委员履职".into(),
            suggestions: "意见建议".into(),
        })
        .await
        .unwrap();
        judge
            .reporting()
            .score_report(pm::ScoreReportRequest {
                session_id: session.id.clone(),
                member_id: m.id.clone(),
                score: *score,
            })
            .await
            .unwrap();
    }
    r.close_reporting_session(pm::CloseReportingSessionRequest { id: session.id.clone() }).await.unwrap();

    // Settings: defaults per category, then one commended in three standing members.
    let mut p = performance(&n.staff);
    let defaults = p.get_assessment_settings(pm::GetAssessmentSettingsRequest {}).await.unwrap().into_inner();
    assert_eq!(defaults.standards.len(), 2);
    let standing = defaults.standards[0].clone();
    assert_eq!(standing.category, pm::AssessmentCategory::StandingCommittee as i32);
    assert_eq!((standing.points_weight_percent, standing.report_weight_percent), (50, 50));
    assert_eq!(standing.dismissal_below_score, 40.0);
    let member_std = &defaults.standards[1];
    assert_eq!((member_std.points_weight_percent, member_std.report_weight_percent), (60, 40));
    assert_eq!((member_std.commend_top_percent, member_std.talk_bottom_count), (25, 1));
    assert_eq!(member_std.dismissal_below_score, 20.0);
    let bad = p
        .update_assessment_settings(pm::UpdateAssessmentSettingsRequest {
            standards: vec![pm::CategoryStandard { points_weight_percent: 101, ..standing.clone() }],
        })
        .await;
    assert_eq!(violated_field(&assert_code(bad, Code::InvalidArgument)), "standards.points_weight_percent");
    let updated = p
        .update_assessment_settings(pm::UpdateAssessmentSettingsRequest {
            standards: vec![pm::CategoryStandard { commend_top_percent: 34, ..standing.clone() }],
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(updated.standards[0].commend_top_percent, 34);
    assert_eq!(updated.standards[1].commend_top_percent, 25, "the other category keeps its standard");

    // Members and other committees are refused.
    let mut as_member = performance(&n.zhang);
    assert_code(
        as_member.compute_assessment(pm::ComputeAssessmentRequest { year, ..Default::default() }).await,
        Code::PermissionDenied,
    );
    let foreign =
        p.compute_assessment(pm::ComputeAssessmentRequest { committee_id: n.tree.lincheng.id.clone(), year }).await;
    assert_code(foreign, Code::NotFound);

    let assessment = p
        .compute_assessment(pm::ComputeAssessmentRequest { committee_id: n.tree.ningjin.id.clone(), year })
        .await
        .unwrap()
        .into_inner();
    use pm::AssessmentOutcome as O;
    let got: Vec<(&str, i32, f64, i32, i32, O)> = assessment
        .results
        .iter()
        .map(|r| {
            (
                r.member_name.as_str(),
                r.record_points,
                r.score,
                r.rank,
                r.category_rank,
                O::try_from(r.proposed_outcome).unwrap(),
            )
        })
        .collect();
    assert_eq!(
        got,
        vec![
            // 50 × 60% + 90 × 40%
            ("赵宏伟", 50, 66.0, 1, 1, O::Commend),
            // 40 × 50% + 90 × 50%
            ("王立群", 40, 65.0, 2, 1, O::Commend),
            ("孙美玲", 40, 56.0, 3, 2, O::None),
            // Bottom of the standing members above the line.
            ("陈淑华", 30, 55.0, 4, 2, O::Talk),
            ("吴桂兰", 35, 49.0, 5, 3, O::None),
            // Bottom of the members above the line.
            ("郑国栋", 30, 42.0, 6, 4, O::Talk),
            // 30 × 60%, no report: below 20.
            ("周建业", 30, 18.0, 7, 5, O::ConsiderDismissal),
            // 10 × 50%, no report: below 40.
            ("刘长顺", 10, 5.0, 8, 3, O::ConsiderDismissal),
        ]
    );
    assert_eq!(assessment.results[0].report_score, Some(90.0));
    assert_eq!(assessment.results[6].report_score, None);
    assert!(assessment.results.iter().all(|r| r.decision == pm::OutcomeDecision::Pending as i32));
    let category = |name: &str| assessment.results.iter().find(|r| r.member_name == name).unwrap().category;
    assert_eq!(category("王立群"), pm::AssessmentCategory::StandingCommittee as i32);
    assert_eq!(category("赵宏伟"), pm::AssessmentCategory::Member as i32);

    // Staff confirm or reject each proposal, once.
    let id_of = |name: &str| members[roster.iter().position(|r| r.0 == name).unwrap()].id.clone();
    let decide = |name: &str, confirm: bool, note: &str| pm::ConfirmAssessmentOutcomeRequest {
        year,
        member_id: id_of(name),
        confirm,
        note: note.into(),
    };
    let confirmed = p.confirm_assessment_outcome(decide("赵宏伟", true, "常委会审议通过")).await.unwrap().into_inner();
    assert_eq!(confirmed.decision, pm::OutcomeDecision::Confirmed as i32);
    assert_eq!(confirmed.decided_by_user_id, n.staff.user.id);
    let rejected =
        p.confirm_assessment_outcome(decide("陈淑华", false, "因病缺席，情况特殊")).await.unwrap().into_inner();
    assert_eq!(rejected.decision, pm::OutcomeDecision::Rejected as i32);
    p.confirm_assessment_outcome(decide("周建业", true, "")).await.unwrap();
    let again = assert_code(p.confirm_assessment_outcome(decide("赵宏伟", false, "")).await, Code::FailedPrecondition);
    assert!(again.message().contains("CONFIRMED"), "{again:?}");
    assert_code(as_member.confirm_assessment_outcome(decide("孙美玲", true, "")).await, Code::PermissionDenied);
    // Once something is decided the year is not recomputed.
    let recompute = p.compute_assessment(pm::ComputeAssessmentRequest { year, ..Default::default() }).await;
    assert_code(recompute, Code::FailedPrecondition);

    let listed = p
        .list_assessment_results(pm::ListAssessmentResultsRequest { year, ..Default::default() })
        .await
        .unwrap()
        .into_inner();
    let decisions: Vec<(&str, i32)> = listed.results.iter().map(|r| (r.member_name.as_str(), r.decision)).collect();
    use pm::OutcomeDecision as D;
    assert_eq!(decisions[0], ("赵宏伟", D::Confirmed as i32));
    assert_eq!(decisions[3], ("陈淑华", D::Rejected as i32));
    assert_eq!(decisions[6], ("周建业", D::Confirmed as i32));
    assert_eq!(decisions[1], ("王立群", D::Pending as i32));
    assert_eq!(listed.results[3].decision_note, "因病缺席，情况特殊");

    // Every confirmation is audited.
    let audit = n
        .admin
        .audit()
        .list_audit_entries(pb::ListAuditEntriesRequest {
            committee_id: n.tree.ningjin.id.clone(),
            target_type: "member_assessment_result".into(),
            page_size: 100,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .entries;
    assert_eq!(audit.len(), 3);
    assert!(audit.iter().all(|e| e.actor_user_id == n.staff.user.id && e.method.ends_with("ConfirmAssessmentOutcome")));
    assert!(audit.iter().any(|e| e.changes_json.contains("REJECTED") && e.changes_json.contains("TALK")));
    assert!(
        audit.iter().any(|e| e.changes_json.contains("CONFIRMED") && e.changes_json.contains("CONSIDER_DISMISSAL"))
    );
}
