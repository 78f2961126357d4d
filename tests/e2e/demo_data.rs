//! The demo data set, through the CLI against a real server: `xieshang demo`
//! loads a year of committee work, a second run adds nothing, and what the
//! server holds afterwards is exactly what the demo's tables describe
//! (`xieshang::client::demo_year::figures`).

use std::collections::HashSet;
use std::time::Instant;

use xieshang::client::demo_year::{self, ADMIN_USERNAME, CODE, PROVINCE, STAFF, YEAR, figures, password};
use xieshang_proto::consultation::v1 as pc;
use xieshang_proto::consultation::v1::quality_service_client::QualityServiceClient;
use xieshang_proto::consultation::v1::supervision_service_client::SupervisionServiceClient;
use xieshang_proto::membership::v1 as pm;
use xieshang_proto::membership::v1::performance_service_client::PerformanceServiceClient;
use xieshang_proto::membership::v1::studio_service_client::StudioServiceClient;
use xieshang_proto::proposals::v1 as pp;
use xieshang_tests::*;

use crate::cli::xieshang;

#[tokio::test]
async fn the_demo_loads_a_year_of_committee_work_once() {
    let app = spawn_app().await;
    let dir = TempDir(std::env::temp_dir().join(format!("xieshang-demo-{}", uuid::Uuid::new_v4().simple())));
    std::fs::create_dir_all(&dir.0).unwrap();
    let session = dir.0.join("session.json").display().to_string();
    let server = format!("http://{}", app.addr);
    let common = ["--server", server.as_str(), "--session-file", session.as_str()];
    let with = |args: &[&'static str]| -> Vec<String> {
        args.iter().map(|a| (*a).to_owned()).chain(common.iter().map(|a| (*a).to_owned())).collect()
    };
    let run = async |args: Vec<String>| {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        xieshang(&args).await
    };
    run(with(&["login", "--username", "operator", "--password", OPERATOR_PASSWORD])).await.expect("operator signs in");

    let started = Instant::now();
    let first = run(with(&["demo"])).await.expect("the demo loads");
    let first_took = started.elapsed();
    let started = Instant::now();
    let second = run(with(&["demo"])).await.expect("a second run does not fail");
    eprintln!("demo: first run {first_took:?}, second run {:?}", started.elapsed());
    let parts = |out: &str| out.lines().filter(|l| l.contains(" — ")).map(str::to_owned).collect::<Vec<_>>();
    let (first_parts, second_parts) = (parts(&first), parts(&second));
    assert_eq!(first_parts.len(), 7, "{first}");
    assert!(first_parts.iter().all(|l| l.ends_with("— created")), "{first}");
    assert_eq!(second_parts.len(), 7, "{second}");
    assert!(second_parts.iter().all(|l| l.ends_with("— existed, left alone")), "the second run adds nothing: {second}");

    let f = figures();
    let staff = app.login(CODE, STAFF, &password(CODE, STAFF, "")).await.expect("the demo's staff signs in");

    // Nothing of the office part was duplicated either.
    let members = staff
        .membership()
        .list_members(pm::ListMembersRequest { page_size: 500, ..Default::default() })
        .await
        .unwrap()
        .into_inner()
        .members;
    assert_eq!(members.len(), demo_year::ROSTER_SIZE);
    let proposals = staff
        .proposals()
        .list_proposals(pp::ListProposalsRequest { page_size: 200, ..Default::default() })
        .await
        .unwrap()
        .into_inner()
        .proposals;
    assert_eq!(
        proposals.len(),
        f.proposals_seen_by_staff,
        "every proposal but the draft, which only its proposer sees"
    );
    let states: HashSet<i32> = proposals.iter().map(|p| p.state).collect();
    assert_eq!(states.len(), 10, "every state but DRAFT: {states:?}");

    // Topics from the four sources, and the plan published with its items.
    let mut consultation = staff.consultation();
    let topics = consultation
        .list_topics(pc::ListTopicsRequest { page_size: 200, ..Default::default() })
        .await
        .unwrap()
        .into_inner()
        .topics;
    let by_source = |s: pc::TopicSource| topics.iter().filter(|t| t.source == s as i32).count();
    use pc::TopicSource::{Committee, Member, PartyGovernment, Public};
    assert_eq!(
        [by_source(PartyGovernment), by_source(Public), by_source(Member), by_source(Committee)],
        f.topics_by_source
    );
    let selected = topics.iter().filter(|t| t.state == pc::TopicState::Selected as i32).count();
    assert_eq!(selected, f.topics_selected);
    assert!(topics.iter().filter(|t| t.source == Member as i32).all(|t| t.endorsement_count > 0));
    let plans = consultation.list_plans(pc::ListPlansRequest { year: YEAR }).await.unwrap().into_inner().plans;
    assert_eq!(plans.len(), 1);
    let plan = consultation.get_plan(pc::GetPlanRequest { id: plans[0].id.clone() }).await.unwrap().into_inner();
    assert_eq!(plan.state, pc::PlanState::Published as i32);
    assert_eq!(plan.items.len(), f.plan_items);

    // Activities of several types, round tables led by the rotation.
    let activities = consultation
        .list_activities(pc::ListActivitiesRequest { year: YEAR, page_size: 200, ..Default::default() })
        .await
        .unwrap()
        .into_inner()
        .activities;
    assert_eq!(activities.len(), f.activities);
    let types: HashSet<i32> = activities.iter().map(|a| a.r#type).collect();
    assert_eq!(types.len(), f.activity_types);
    assert!(types.len() >= 3);
    let leaders: Vec<&str> = activities
        .iter()
        .filter(|a| a.r#type == pc::ConsultationType::SectorRoundTable as i32)
        .map(|a| a.leading_group_id.as_str())
        .collect();
    assert!(leaders.len() >= 2 && leaders.iter().all(|l| !l.is_empty()), "{leaders:?}");
    assert_eq!(leaders.iter().collect::<HashSet<_>>().len(), leaders.len(), "the rotation moves on: {leaders:?}");
    assert!(activities.iter().all(|a| !a.plan_item_id.is_empty()), "every activity carries out a plan item");
    let groups = QualityServiceClient::with_interceptor(staff.channel.clone(), staff.bearer())
        .list_joint_groups(pc::ListJointGroupsRequest {})
        .await
        .unwrap()
        .into_inner()
        .groups;
    assert_eq!(groups.len(), f.joint_groups);
    assert_eq!(leaders[0], groups[0].id);

    // Meetings with attendance recorded for every invitee.
    let meetings = consultation
        .list_meetings(pc::ListMeetingsRequest { page_size: 200, ..Default::default() })
        .await
        .unwrap()
        .into_inner()
        .meetings;
    assert_eq!(meetings.len(), f.meetings);
    let invitees: Vec<&pc::Invitee> = meetings.iter().flat_map(|m| &m.invitees).collect();
    let count = |a: pc::Attendance| invitees.iter().filter(|i| i.attendance == a as i32).count();
    assert_eq!(
        (count(pc::Attendance::Present), count(pc::Attendance::OnLeave), count(pc::Attendance::Absent)),
        (f.present, f.on_leave, f.absent)
    );
    assert_eq!(invitees.len(), f.present + f.on_leave + f.absent, "nobody left unrecorded");
    assert!(meetings.iter().all(|m| !m.speeches.is_empty()));

    // The reports' numbered suggestions and the feedback on them.
    let mut suggestions = Vec::new();
    for a in &activities {
        let list = consultation.list_suggestions(pc::ListSuggestionsRequest { activity_id: a.id.clone() }).await;
        let list = list.unwrap().into_inner().suggestions;
        assert!(list.iter().enumerate().all(|(i, s)| s.number == i as i32 + 1), "{list:?}");
        suggestions.extend(list);
    }
    assert_eq!(suggestions.len(), f.consultation_suggestions);
    let with_feedback = suggestions.iter().filter(|s| s.feedback != pc::FeedbackResult::Unspecified as i32).count();
    assert_eq!(with_feedback, f.suggestions_with_feedback);
    let ranking = QualityServiceClient::with_interceptor(staff.channel.clone(), staff.bearer())
        .rank_activities(pc::RankActivitiesRequest { year: YEAR, ..Default::default() })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(ranking.activities.len(), f.evaluated_activities);
    assert!(ranking.activities.iter().all(|a| a.score > 0.0 && a.evaluator_count == 3), "{ranking:?}");

    // The 述职 campaign's statistics are what the demo loaded.
    let stats = staff
        .reporting()
        .get_reporting_statistics(pm::GetReportingStatisticsRequest { committee_id: String::new(), year: YEAR })
        .await
        .unwrap()
        .into_inner();
    let r = &f.reporting;
    assert_eq!(
        (stats.members_due, stats.reported_on_site, stats.reported_by_video, stats.scored_at_least_90),
        (r.members_due, r.reported_on_site, r.reported_by_video, r.scored_at_least_90),
        "{stats:?}"
    );
    assert_eq!((stats.sessions, stats.make_up_sessions), (r.sessions, r.make_up_sessions));
    assert_eq!(
        (
            stats.suggestions_raised,
            stats.suggestions_forwarded,
            stats.suggestions_adopted,
            stats.suggestions_not_adopted
        ),
        (r.suggestions_raised, r.suggestions_forwarded, r.suggestions_adopted, r.suggestions_not_adopted)
    );
    assert_eq!(stats.not_reported, r.members_due - r.reported_on_site - r.reported_by_video);
    assert!(stats.excellence_rate_percent > 0.0);

    // 年度履职项目 at every step, studios, information.
    let projects = PerformanceServiceClient::with_interceptor(staff.channel.clone(), staff.bearer())
        .list_projects(pm::ListProjectsRequest { year: YEAR, page_size: 200, ..Default::default() })
        .await
        .unwrap()
        .into_inner()
        .projects;
    assert_eq!(projects.len(), f.projects);
    assert_eq!(projects.iter().map(|p| p.status).collect::<HashSet<_>>().len(), 6, "every step");
    let studios = StudioServiceClient::with_interceptor(staff.channel.clone(), staff.bearer())
        .list_studios(pm::ListStudiosRequest {})
        .await
        .unwrap()
        .into_inner()
        .studios;
    assert_eq!(studios.len(), f.studios);
    assert!(studios.iter().all(|s| s.stars > 0 && !s.members.is_empty()));
    let items = staff
        .information()
        .list_information(pp::ListInformationRequest { page_size: 200, ..Default::default() })
        .await
        .unwrap()
        .into_inner()
        .items;
    assert_eq!(items.len(), f.information_items);
    let city = app.login("130500", ADMIN_USERNAME, &password("130500", ADMIN_USERNAME, "")).await.unwrap();
    let received = city
        .information()
        .list_information(pp::ListInformationRequest { received: Some(true), page_size: 200, ..Default::default() })
        .await
        .unwrap()
        .into_inner()
        .items;
    assert_eq!(received.len(), 1);
    assert_eq!(received[0].state, pp::InformationState::Adopted as i32);
    assert!(!received[0].instruction_text.is_empty());

    // The joint supervision project: every participant submitted, the joint
    // report filed and published (once: the second run left it alone).
    let province = app.login(PROVINCE, ADMIN_USERNAME, &password(PROVINCE, ADMIN_USERNAME, "")).await.unwrap();
    let mut supervision = SupervisionServiceClient::with_interceptor(province.channel.clone(), province.bearer());
    let projects = supervision
        .list_supervision_projects(pc::ListSupervisionProjectsRequest::default())
        .await
        .unwrap()
        .into_inner()
        .projects;
    let joint: Vec<_> = projects.iter().filter(|p| p.kind == pc::SupervisionKind::ThreeLevelJoint as i32).collect();
    assert_eq!(joint.len(), 1, "{projects:?}");
    assert_eq!(joint[0].state, pc::SupervisionState::Reported as i32);
    assert_eq!(joint[0].problems.len(), f.joint_problems);
    assert!(joint[0].report_publish_time.is_some(), "the demo publishes the joint report: {:?}", joint[0]);
    let progress = supervision
        .get_joint_progress(pc::GetJointProgressRequest { project_id: joint[0].id.clone() })
        .await
        .unwrap()
        .into_inner();
    let participants = i32::try_from(f.joint_participants).unwrap();
    assert_eq!((progress.invited_count, progress.submitted_count), (participants, participants));
    assert!(progress.participations.iter().all(|p| p.inspections.len() == 1 && !p.summary.is_empty()));
    // A participant county reads its own part, never a sibling's nor the province's combined view.
    let county = app.login("130528", ADMIN_USERNAME, &password("130528", ADMIN_USERNAME, "")).await.unwrap();
    let mut own = SupervisionServiceClient::with_interceptor(county.channel.clone(), county.bearer());
    let mine =
        own.list_participations(pc::ListParticipationsRequest::default()).await.unwrap().into_inner().participations;
    assert_eq!(mine.len(), 1, "{mine:?}");
    assert_eq!((mine[0].committee_name.as_str(), mine[0].initiator_name.as_str()), ("宁晋县政协", "河北省政协"));
    assert_eq!(mine[0].state, pc::ParticipationState::Submitted as i32);
    // …and the joint report as the province published it.
    let report = mine[0].joint_report.as_ref().expect("宁晋县 reads the published joint report");
    assert_eq!((report.initiator_name.as_str(), report.project_id.as_str()), ("河北省政协", joint[0].id.as_str()));
    assert_eq!(report.problems.len(), f.joint_problems);
    assert_eq!(report.summary, joint[0].report_summary);
    assert_eq!(report.publish_time, joint[0].report_publish_time);
    let sibling = progress.participations.iter().find(|p| p.committee_name == "临城县政协").expect("临城县's part");
    let read = own.get_participation(pc::GetParticipationRequest { id: sibling.id.clone() }).await;
    assert_code(read, tonic::Code::NotFound);
    let combined = own.get_joint_progress(pc::GetJointProgressRequest { project_id: joint[0].id.clone() }).await;
    assert_code(combined, tonic::Code::NotFound);
    app.stop().await;
}
