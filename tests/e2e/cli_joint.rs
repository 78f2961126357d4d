//! Three-level joint supervision (三级政协联动) through the CLI —
//! `xieshang supervision joint create|list|status|respond|inspect|submit|report|publish`
//! — against a real server: the initiator's table shows each participant's
//! state under its Chinese name, participants see only their own part and,
//! once published, the joint report, and an invitation outside the
//! initiator's subtree is refused before any call. Also the guard on
//! `CarrySuggestion` (a suggestion is carried forward once) and
//! `xieshang consultation stats`.

use tonic::Code;
use xieshang_proto::common::v1::{CommitteeLevel, Date};
use xieshang_proto::consultation::v1 as pc;
use xieshang_proto::consultation::v1::supervision_service_client::SupervisionServiceClient;
use xieshang_tests::*;

use crate::cli::CliUser;

use crate::membership::{create, ningjin, this_year};

/// One committee's `admin` on the CLI, with a session file of its own.
async fn office(app: &TestApp, code: &str) -> CliUser {
    CliUser::signed_in(app, code, "admin").await
}

/// The id of `office`'s invitation to the project on `topic`.
async fn invitation(office: &CliUser, topic: &str) -> String {
    let list = office.json(&["supervision", "joint", "list"]).await;
    let found = list["invitations"].as_array().unwrap().iter().find(|p| p["topic"] == topic);
    found.unwrap_or_else(|| panic!("an invitation to {topic}: {list}"))["id"].as_str().unwrap().to_owned()
}

/// The table row of `name` in `text`.
fn row<'a>(text: &'a str, name: &str) -> &'a str {
    text.lines().find(|l| l.contains(name)).unwrap_or_else(|| panic!("a row of {name} in:\n{text}"))
}

const TOPIC: &str = "地下水超采综合治理三级政协联动民主监督";

#[tokio::test]
async fn a_joint_project_runs_through_the_cli_and_each_participant_state_shows() {
    let app = spawn_app().await;
    seed_tree(&app).await;
    let year = this_year();
    let (from, to) = (format!("{year}-04-01"), format!("{}-10-31", year + 1));
    let province = office(&app, "130000").await;
    let (xingtai, ningjin, lincheng) =
        (office(&app, "130500").await, office(&app, "130528").await, office(&app, "130522").await);

    // Opening: codes resolved to committees below the province, shown by name.
    let created = province
        .ok(&[
            "supervision",
            "joint",
            "create",
            "--topic",
            TOPIC,
            "--from",
            &from,
            "--to",
            &to,
            "--invite",
            "130500,130528",
            "--invite",
            "130522",
        ])
        .await;
    for name in ["邢台市政协", "宁晋县政协", "临城县政协"] {
        assert!(row(&created, name).contains("待回复 invited"), "{created}");
    }
    assert!(created.contains("3 committee(s) invited by 河北省政协"), "{created}");
    let projects = province.json(&["supervision", "joint", "list"]).await;
    let project = projects["initiated"][0]["id"].as_str().unwrap().to_owned();
    assert_eq!(projects["initiated"][0]["kind"], "SUPERVISION_KIND_THREE_LEVEL_JOINT");
    let status = province.ok(&["supervision", "joint", "status", &project]).await;
    assert!(status.contains("邀请 3 · 接受 0 · 谢绝 0 · 提交 0 · 逾期 0"), "{status}");

    // Invitations cannot be added later; the command says how it is done.
    let invite = province.fails(&["supervision", "joint", "invite", &project, "--invite", "130528"]).await;
    assert!(
        invite.contains("only when the project is opened") && invite.contains("--invite 130500,130528"),
        "{invite}"
    );

    // 宁晋县 accepts, inspects and submits.
    let part = invitation(&ningjin, TOPIC).await;
    let listed = ningjin.ok(&["supervision", "joint", "list"]).await;
    assert!(row(&listed, TOPIC).contains("河北省政协") && row(&listed, TOPIC).contains("待回复 invited"), "{listed}");
    let accepted = ningjin
        .ok(&["supervision", "joint", "respond", &part, "--accept", "--note", "按照省政协统一部署开展本辖区监督"])
        .await;
    assert!(
        accepted.contains("Accepted the invitation of 河北省政协") && accepted.contains("已接受 accepted"),
        "{accepted}"
    );
    let early = ningjin.fails(&["supervision", "joint", "submit", &part, "--summary", "尚未视察"]).await;
    assert!(early.contains("not possible in the current state") && early.contains("inspection"), "{early}");
    let inspected = ningjin
        .ok(&[
            "supervision",
            "joint",
            "inspect",
            &part,
            "--date",
            &format!("{year}-06-10"),
            "--place",
            "苏家庄镇地下水压采区",
            "--member",
            "张国强",
            "--member",
            "相关专委会委员",
            "--findings",
            "部分封存井存在私自启用现象",
        ])
        .await;
    assert!(inspected.contains("视察中 in progress") && inspected.contains("张国强、相关专委会委员"), "{inspected}");
    let submitted =
        ningjin.ok(&["supervision", "joint", "submit", &part, "--summary", "压采任务完成，封存井监管需加强。"]).await;
    assert!(submitted.contains("Submitted the findings of 宁晋县政协 to 河北省政协"), "{submitted}");
    assert!(submitted.contains("已提交 submitted"), "{submitted}");

    // 邢台市 accepts and inspects (the `consultation supervision` path), not yet submitted.
    let city_part = invitation(&xingtai, TOPIC).await;
    xingtai.ok(&["consultation", "supervision", "joint", "respond", &city_part, "--accept"]).await;
    xingtai
        .ok(&[
            "consultation",
            "supervision",
            "joint",
            "inspect",
            &city_part,
            "--date",
            &format!("{year}-06-12"),
            "--place",
            "邢台市南水北调配套水厂",
            "--findings",
            "部分工业企业自备井尚未关停",
        ])
        .await;

    // 临城县 declines: a reason is asked for before any call.
    let county_part = invitation(&lincheng, TOPIC).await;
    let no_reason = lincheng.fails(&["supervision", "joint", "respond", &county_part, "--decline"]).await;
    assert!(no_reason.contains("declining needs --note"), "{no_reason}");
    let both = lincheng.fails(&["supervision", "joint", "respond", &county_part, "--accept", "--decline"]).await;
    assert!(both.contains("--decline"), "{both}");
    lincheng
        .ok(&["supervision", "joint", "respond", &county_part, "--decline", "--note", "本县同期开展专项整治"])
        .await;

    // Participants never see each other's parts nor the initiator's view.
    let sibling = lincheng.fails(&["supervision", "joint", "show", &part]).await;
    assert!(sibling.contains("not found"), "{sibling}");
    let not_mine = ningjin.fails(&["supervision", "joint", "status", &project]).await;
    assert!(not_mine.contains("not found"), "{not_mine}");
    let own = ningjin.ok(&["supervision", "joint", "show", &part]).await;
    assert!(own.contains("苏家庄镇地下水压采区") && !own.contains("南水北调"), "{own}");

    // The initiator's table: one row per participant, by Chinese name, with its state.
    let status = province.ok(&["supervision", "joint", "status", &project]).await;
    assert!(row(&status, "宁晋县政协").contains("已提交 submitted"), "{status}");
    assert!(row(&status, "宁晋县政协").contains("压采任务完成"), "{status}");
    assert!(row(&status, "邢台市政协").contains("视察中 in progress"), "{status}");
    assert!(row(&status, "临城县政协").contains("已谢绝 declined"), "{status}");
    assert!(status.contains("邀请 3 · 接受 2 · 谢绝 1 · 提交 1 · 逾期 0"), "{status}");
    let json = province.json(&["supervision", "joint", "status", &project]).await;
    let progress: Vec<(&str, &str)> = json["participations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["committee_name"].as_str().unwrap(), p["progress"].as_str().unwrap()))
        .collect();
    assert_eq!(progress, [("邢台市政协", "IN_PROGRESS"), ("宁晋县政协", "SUBMITTED"), ("临城县政协", "DECLINED")]);
    assert_eq!((json["submitted_count"].as_i64(), json["declined_count"].as_i64()), (Some(1), Some(1)));

    // The joint report: problems pair with suggestions, checked before the call.
    let unpaired = province
        .fails(&[
            "supervision",
            "joint",
            "report",
            &project,
            "--summary",
            "总体完成",
            "--problem",
            "甲",
            "--problem",
            "乙",
            "--suggestion",
            "丙",
        ])
        .await;
    assert!(unpaired.contains("2 --problem but 1 --suggestion"), "{unpaired}");
    let reported = province
        .ok(&[
            "supervision",
            "joint",
            "report",
            &project,
            "--summary",
            "三级联动监督覆盖邢台市及所属县，地下水压采任务总体完成。",
            "--problem",
            "封存机井存在私自启用现象",
            "--suggestion",
            "建立机井封存巡查制度",
        ])
        .await;
    assert!(reported.contains("1 problem(s)") && reported.contains("已报告 reported"), "{reported}");
    let status = province.ok(&["supervision", "joint", "status", &project]).await;
    assert!(status.contains("联动监督报告 joint report") && status.contains("建立机井封存巡查制度"), "{status}");
    assert!(row(&status, "状态 state").contains("已报告 reported"), "{status}");
    let again = province
        .fails(&[
            "supervision",
            "joint",
            "report",
            &project,
            "--summary",
            "再报",
            "--problem",
            "甲",
            "--suggestion",
            "乙",
        ])
        .await;
    assert!(again.contains("REPORTED"), "a second report is refused naming the state: {again}");

    // Filed is not published: 宁晋县 reads its own part, no report yet.
    let own = ningjin.ok(&["supervision", "joint", "show", &part]).await;
    assert!(own.contains("尚未发布") && !own.contains("建立机井封存巡查制度"), "{own}");
    assert!(row(&status, "报告发布 report published").contains("未发布"), "{status}");
    // Only the initiator publishes.
    let by_participant = ningjin.fails(&["supervision", "joint", "publish", &project]).await;
    assert!(by_participant.contains("not found"), "{by_participant}");
    let published = province.ok(&["supervision", "joint", "publish", &project]).await;
    assert!(published.contains("已发布联动监督报告「地下水超采综合治理"), "{published}");
    assert!(published.contains("送达 3 个受邀委员会") && published.contains("临城县政协"), "{published}");
    assert!(published.contains("封存机井存在私自启用现象"), "{published}");
    let twice = province.fails(&["supervision", "joint", "publish", &project]).await;
    assert!(twice.contains("REPORTED") && twice.contains("already published"), "{twice}");
    let status = province.ok(&["supervision", "joint", "status", &project]).await;
    assert!(row(&status, "报告发布 report published").contains("已发布 published"), "{status}");

    // Each participant reads the published report in its own part — the
    // declined 临城县 too — and still not a sibling's part.
    for (office, own_part) in [(&ningjin, &part), (&lincheng, &county_part)] {
        let shown = office.ok(&["supervision", "joint", "show", own_part]).await;
        assert!(shown.contains("联动监督报告 joint report — 河北省政协 发布于"), "{shown}");
        assert!(row(&shown, "封存机井存在私自启用现象").contains("建立机井封存巡查制度"), "{shown}");
        assert!(row(&shown, "封存机井存在私自启用现象").contains("待整改 open"), "{shown}");
        assert!(!shown.contains("南水北调"), "{shown}");
    }
    let json = ningjin.json(&["supervision", "joint", "show", &part]).await;
    assert_eq!(json["joint_report"]["initiator_name"], "河北省政协");
    assert_eq!(json["joint_report"]["problems"][0]["rectification"], "RECTIFICATION_STATUS_OPEN");
    assert!(json["joint_report"]["publish_time"].is_string(), "{json}");
    let sibling = lincheng.fails(&["supervision", "joint", "show", &part]).await;
    assert!(sibling.contains("not found"), "{sibling}");

    // The figures of the year count the project and the parts.
    let figures = province.ok(&["consultation", "stats", "--year", &year.to_string()]).await;
    assert!(figures.contains("民主监督与整改 supervision and rectification"), "{figures}");
    assert!(row(&figures, "监督项目 projects").contains(" 1 "), "{figures}");
    assert!(row(&figures, "问题 problems").contains(" 1 "), "{figures}");
    let county = ningjin.json(&["consultation", "stats", "--year", &year.to_string()]).await;
    assert_eq!(
        (county["supervision"]["joint_parts"].as_i64(), county["supervision"]["joint_parts_submitted"].as_i64()),
        (Some(1), Some(1))
    );
    app.stop().await;
}

#[tokio::test]
async fn consultation_stats_prints_the_year_as_tables() {
    let app = spawn_app().await;
    seed_tree(&app).await;
    let year = this_year();
    let admin = app.login("130528", "admin", PASSWORD).await.unwrap();
    let mut c = admin.consultation();
    let a = c
        .create_activity(pc::CreateActivityRequest {
            activity: Some(pc::Activity {
                title: "关于推进盐碱地综合利用的协商".into(),
                r#type: pc::ConsultationType::PleaseConsult as i32,
                year,
                ..Default::default()
            }),
        })
        .await
        .unwrap()
        .into_inner();
    let advance = |stage: pc::ActivityStage| pc::AdvanceActivityRequest { id: a.id.clone(), stage: stage as i32 };
    c.advance_activity(advance(pc::ActivityStage::Report)).await.unwrap();
    let mut suggestions = Vec::new();
    for text in ["设立盐碱地改良专项资金", "推广耐盐碱作物品种"] {
        let request = pc::AddSuggestionRequest { activity_id: a.id.clone(), text: text.into() };
        suggestions.push(c.add_suggestion(request).await.unwrap().into_inner());
    }
    c.advance_activity(advance(pc::ActivityStage::Feedback)).await.unwrap();
    for (s, feedback, note) in [
        (&suggestions[0], pc::FeedbackResult::Adopted, ""),
        (&suggestions[1], pc::FeedbackResult::NotAdopted, "已有同类项目"),
    ] {
        let request =
            pc::RecordFeedbackRequest { suggestion_id: s.id.clone(), feedback: feedback as i32, note: note.into() };
        c.record_feedback(request).await.unwrap();
    }

    let office = office(&app, "130528").await;
    // The year defaults to this one.
    let text = office.ok(&["consultation", "stats"]).await;
    assert!(text.contains(&format!("{year}年 协商监督统计")), "{text}");
    for section in [
        "议题征集 topics by source",
        "年度协商计划 annual plan",
        "协商活动 activities by type",
        "会议出勤 attendance",
        "建议与采纳 suggestions and adoption",
        "质量评价 quality",
        "民主监督与整改 supervision and rectification",
    ] {
        assert!(text.contains(section), "{section} in:\n{text}");
    }
    for source in ["党政点题", "群众出题", "委员荐题", "政协选题"] {
        assert!(row(&text, source).contains(" 0 "), "{text}");
    }
    assert!(row(&text, "状态 state").contains("无计划 no plan"), "{text}");
    assert!(row(&text, "请你来协商").contains(" 1 "), "{text}");
    assert!(row(&text, "建议 suggestions").contains(" 2 "), "{text}");
    assert!(row(&text, "采纳率 adoption rate").contains("50.0%"), "{text}");
    let json = office.json(&["consultation", "stats", "--year", &year.to_string()]).await;
    assert_eq!(json["year"].as_i64(), Some(i64::from(year)));
    assert_eq!(json["activities_by_type"][0]["type"], "CONSULTATION_TYPE_PLEASE_CONSULT");
    assert_eq!((json["suggestions"]["total"].as_i64(), json["suggestions"]["adopted"].as_i64()), (Some(2), Some(1)));
    assert_eq!(json["suggestions"]["adoption_rate"].as_f64(), Some(0.5));
    // Another year has nothing; a year out of range is refused before any call.
    let empty = office.json(&["consultation", "stats", "--year", &(year + 3).to_string()]).await;
    assert_eq!(empty["activities"].as_i64(), Some(0));
    let bad = office.fails(&["consultation", "stats", "--year", "1999"]).await;
    assert!(bad.contains("between 2000 and 2100"), "{bad}");
    app.stop().await;
}

#[tokio::test]
async fn a_participant_past_the_period_shows_as_overdue() {
    let app = spawn_app().await;
    seed_tree(&app).await;
    let last = this_year() - 1;
    let city = office(&app, "130500").await;
    let (from, to) = (format!("{last}-03-01"), format!("{last}-05-31"));
    let topic = "农村饮水安全联动监督";
    city.ok(&[
        "supervision",
        "joint",
        "create",
        "--topic",
        topic,
        "--from",
        &from,
        "--to",
        &to,
        "--invite",
        "130528，130522",
    ])
    .await;
    let project = city.json(&["supervision", "joint", "list"]).await["initiated"][0]["id"].as_str().unwrap().to_owned();
    let ningjin = office(&app, "130528").await;
    let part = invitation(&ningjin, topic).await;
    ningjin.ok(&["supervision", "joint", "respond", &part, "--decline", "--note", "本县已单独开展"]).await;

    let status = city.ok(&["supervision", "joint", "status", &project]).await;
    assert!(row(&status, "临城县政协").contains("逾期 overdue"), "{status}");
    assert!(row(&status, "临城县政协").contains("待回复 invited"), "{status}");
    assert!(!row(&status, "宁晋县政协").contains("逾期"), "a declined part is never overdue: {status}");
    assert!(status.contains("逾期 1"), "{status}");
    let listed = office(&app, "130522").await.ok(&["supervision", "joint", "list"]).await;
    assert!(row(&listed, topic).contains("逾期 overdue") && row(&listed, topic).contains("邢台市政协"), "{listed}");
    app.stop().await;
}

#[tokio::test]
async fn a_city_cannot_invite_a_county_of_another_city() {
    let app = spawn_app().await;
    let tree = seed_tree(&app).await;
    let op = app.operator().await;
    let mut c = op.committees();
    let shijiazhuang = c
        .create_committee(committee("130100", "石家庄市政协", CommitteeLevel::City, &tree.hebei.id))
        .await
        .unwrap()
        .into_inner();
    let changan = c
        .create_committee(committee("130102", "长安区政协", CommitteeLevel::County, &shijiazhuang.id))
        .await
        .unwrap()
        .into_inner();
    let city = office(&app, "130500").await;
    let create = |invite: &'static str| {
        [
            "supervision",
            "joint",
            "create",
            "--topic",
            "城市黑臭水体治理联动监督",
            "--from",
            "2026-04-01",
            "--to",
            "2026-09-30",
            "--invite",
            invite,
        ]
    };

    let cousin = city.fails(&create("130528,130102")).await;
    assert!(cousin.contains("130102 is not a committee below 邢台市政协 (130500)"), "{cousin}");
    assert!(cousin.contains("only committees of its own subtree"), "{cousin}");
    let own = city.fails(&create("130500")).await;
    assert!(own.contains("your own committee"), "{own}");
    let parent = city.fails(&create("130000")).await;
    assert!(parent.contains("130000 is not a committee below"), "{parent}");
    let malformed = city.fails(&create("13052")).await;
    assert!(malformed.contains("`13052` is not a division code"), "{malformed}");
    let repeated = city.fails(&create("130528,130528")).await;
    assert!(repeated.contains("names 130528 twice"), "{repeated}");
    // Nothing was opened by any of these.
    let list = city.json(&["supervision", "joint", "list"]).await;
    assert_eq!(list["initiated"].as_array().map(Vec::len), Some(0), "{list}");

    // The server keeps the same wall for any client.
    let session = app.login("130500", "admin", PASSWORD).await.unwrap();
    let mut supervision = SupervisionServiceClient::with_interceptor(session.channel.clone(), session.bearer());
    let refused = supervision
        .create_joint_project(pc::CreateJointProjectRequest {
            topic: "城市黑臭水体治理联动监督".into(),
            start_date: Some(Date { year: 2026, month: 4, day: 1 }),
            end_date: Some(Date { year: 2026, month: 9, day: 30 }),
            invited_committee_ids: vec![tree.ningjin.id.clone(), changan.id.clone()],
        })
        .await;
    let status = assert_code(refused, Code::InvalidArgument);
    assert_eq!(violated_field(&status), "invited_committee_ids");
    app.stop().await;
}

#[tokio::test]
async fn a_suggestion_is_carried_forward_once() {
    let app = spawn_app().await;
    let n = ningjin(&app).await;
    let mut zhang = n.member("张建国", "13052819700315123", "13831951234");
    zhang.user_id = n.zhang.user.id.clone();
    let zhang = create(&mut n.staff.membership(), zhang).await.unwrap();
    let mut c = n.staff.consultation();
    let a = c
        .create_activity(pc::CreateActivityRequest {
            activity: Some(pc::Activity {
                title: "关于推进盐碱地综合利用的协商".into(),
                r#type: pc::ConsultationType::PleaseConsult as i32,
                year: this_year(),
                ..Default::default()
            }),
        })
        .await
        .unwrap()
        .into_inner();
    let advance = |stage: pc::ActivityStage| pc::AdvanceActivityRequest { id: a.id.clone(), stage: stage as i32 };
    c.advance_activity(advance(pc::ActivityStage::Report)).await.unwrap();
    let mut suggestions = Vec::new();
    for text in ["设立盐碱地改良专项资金", "推广耐盐碱作物品种"] {
        let request = pc::AddSuggestionRequest { activity_id: a.id.clone(), text: text.into() };
        suggestions.push(c.add_suggestion(request).await.unwrap().into_inner());
    }
    c.advance_activity(advance(pc::ActivityStage::Feedback)).await.unwrap();
    let carry = |s: &pc::Suggestion, target: pc::CarryTarget| pc::CarrySuggestionRequest {
        suggestion_id: s.id.clone(),
        target: target as i32,
        member_id: zhang.id.clone(),
        title: "关于设立盐碱地改良专项资金的建议".into(),
    };

    let first = c.carry_suggestion(carry(&suggestions[0], pc::CarryTarget::Proposal)).await.unwrap().into_inner();
    // Feedback recorded after the carry leaves the carry in place.
    c.record_feedback(pc::RecordFeedbackRequest {
        suggestion_id: suggestions[0].id.clone(),
        feedback: pc::FeedbackResult::Adopted as i32,
        note: String::new(),
    })
    .await
    .unwrap();
    for target in [pc::CarryTarget::Proposal, pc::CarryTarget::Information] {
        let again = c.carry_suggestion(carry(&suggestions[0], target)).await;
        let status = assert_code(again, Code::FailedPrecondition);
        let message = status.message();
        assert!(message.contains("already carried forward into a proposal draft"), "{message}");
        assert!(message.contains(&first.draft_id), "names the draft: {message}");
        assert!(message.contains(&format!("at {}-", this_year())) && message.contains("UTC+8"), "and when: {message}");
    }
    // Another suggestion of the same activity is still carried.
    c.carry_suggestion(carry(&suggestions[1], pc::CarryTarget::Information)).await.unwrap();
    let again = c.carry_suggestion(carry(&suggestions[1], pc::CarryTarget::Proposal)).await;
    let status = assert_code(again, Code::FailedPrecondition);
    assert!(status.message().contains("into an information item"), "{}", status.message());

    // Two carries of one suggestion at the same time: exactly one succeeds.
    let b = c
        .create_activity(pc::CreateActivityRequest {
            activity: Some(pc::Activity {
                title: "民生议事堂：老旧小区加装电梯".into(),
                r#type: pc::ConsultationType::Grassroots as i32,
                year: this_year(),
                ..Default::default()
            }),
        })
        .await
        .unwrap()
        .into_inner();
    let advance_b = |stage: pc::ActivityStage| pc::AdvanceActivityRequest { id: b.id.clone(), stage: stage as i32 };
    c.advance_activity(advance_b(pc::ActivityStage::Report)).await.unwrap();
    let request = pc::AddSuggestionRequest { activity_id: b.id.clone(), text: "加装电梯费用分摊指引".into() };
    let lift = c.add_suggestion(request).await.unwrap().into_inner();
    let (mut one, mut two) = (n.staff.consultation(), n.admin.consultation());
    let (r1, r2) = tokio::join!(
        one.carry_suggestion(carry(&lift, pc::CarryTarget::Proposal)),
        two.carry_suggestion(carry(&lift, pc::CarryTarget::Information)),
    );
    let codes = [r1.as_ref().err().map(tonic::Status::code), r2.as_ref().err().map(tonic::Status::code)];
    assert_eq!(codes.iter().filter(|c| c.is_none()).count(), 1, "one carry wins, the other is refused: {r1:?} {r2:?}");
    assert!(codes.contains(&Some(Code::FailedPrecondition)), "{r1:?} {r2:?}");
    app.stop().await;
}
