//! The newer CLI commands against a real server, data seeded through the API:
//! `proposals search`, `members projects|assessment|studios`, and
//! `consultation topics|plan|activities|supervision` — tables, `--json`, flag
//! checks made before any call, and the server's refusals as sentences.

use xieshang_proto::common::v1::{Date, Role};
use xieshang_proto::consultation::v1 as pc;
use xieshang_proto::consultation::v1::supervision_service_client::SupervisionServiceClient;
use xieshang_proto::membership::v1 as pm;
use xieshang_proto::membership::v1::studio_service_client::StudioServiceClient;
use xieshang_proto::proposals::v1 as pp;
use xieshang_tests::*;

use crate::cli::CliUser;

use crate::membership::{create, ningjin, this_year};

// ---- proposals search ----

fn draft(title: &str, body: &str, category: pp::ProposalCategory) -> pp::Proposal {
    pp::Proposal {
        kind: pp::ProposalKind::Individual as i32,
        title: title.into(),
        body: body.into(),
        category: category as i32,
        ..Default::default()
    }
}

#[tokio::test]
async fn proposals_search_finds_the_saline_land_proposals_and_pages() {
    let app = spawn_app().await;
    let tree = seed_tree(&app).await;
    let admin = app.login("130528", "admin", PASSWORD).await.unwrap();
    let id = tree.ningjin.id.clone();
    let mut c = admin.committees();
    open_tenth_term(&mut c, &id).await;
    create_user(&admin, &id, "liuyang", "刘洋", &[Role::Staff]).await;
    create_user(&admin, &id, "wangjianjun", "王建军", &[Role::Member]).await;
    create_user(&admin, &id, "nongyeju", "宁晋县农业农村局", &[Role::HandlingUnit]).await;
    let member = app.login("130528", "wangjianjun", PASSWORD).await.unwrap();
    let staff = app.login("130528", "liuyang", PASSWORD).await.unwrap();
    let unit = app.login("130528", "nongyeju", PASSWORD).await.unwrap();
    let (mut mine, mut office) = (member.proposals(), staff.proposals());
    use pp::ProposalCategory::{Ecological, Economic, Social};
    let mut submitted = Vec::new();
    for (title, body, category) in [
        (
            "关于加快宁晋县盐碱地改良的建议",
            "宁晋县东部乡镇盐碱地面积较大，建议整合农田水利资金，推广暗管排盐与耐盐作物种植。",
            Economic,
        ),
        ("关于推进耐盐作物示范种植的建议", "在苏家庄镇盐碱地开展耐盐小麦、棉花示范种植，带动农民增收。", Ecological),
        ("关于加强农村养老服务的建议", "建议在各乡镇建设农村互助幸福院，解决留守老人照料难题。", Social),
    ] {
        let p = mine
            .create_proposal(pp::CreateProposalRequest { proposal: Some(draft(title, body, category)) })
            .await
            .unwrap()
            .into_inner();
        let p = mine.submit_proposal(pp::SubmitProposalRequest { id: p.id }).await.unwrap().into_inner();
        submitted.push(p);
    }
    let saline = office.file_proposal(pp::FileProposalRequest { id: submitted[0].id.clone() }).await.unwrap();
    office
        .assign_proposal(pp::AssignProposalRequest {
            id: saline.into_inner().id,
            lead_unit_user_id: unit.user.id.clone(),
            ..Default::default()
        })
        .await
        .unwrap();

    let cli = CliUser::signed_in(&app, "130528", "liuyang").await;
    let found = cli.ok(&["proposals", "search", "盐碱地"]).await;
    assert!(found.contains("关于加快宁晋县盐碱地改良的建议"), "{found}");
    assert!(found.contains("关于推进耐盐作物示范种植的建议"), "{found}");
    assert!(!found.contains("养老"), "{found}");
    // The matched passage is shown, marks turned into brackets; names instead of ids.
    assert!(found.contains("【盐碱地】"), "{found}");
    assert!(found.contains("第1号") && found.contains("宁晋县农业农村局 (nongyeju)"), "{found}");
    assert!(found.contains("王建军 (wangjianjun)") && found.contains("2 proposal(s) on this page."), "{found}");
    assert!(!found.contains("--page-token"), "one page only: {found}");

    // Filters: category, state, unit.
    let ecological = cli.json(&["proposals", "search", "盐碱地", "--category", "生态"]).await;
    let hits = ecological["hits"].as_array().unwrap();
    assert_eq!(hits.len(), 1, "{ecological}");
    assert_eq!(hits[0]["proposal"]["title"], "关于推进耐盐作物示范种植的建议");
    assert!(hits[0]["snippet"].as_str().unwrap().contains("<mark>"), "{ecological}");
    let assigned = cli.json(&["proposals", "search", "盐碱地", "--state", "assigned"]).await;
    assert_eq!(assigned["hits"].as_array().unwrap().len(), 1, "{assigned}");
    let by_unit = cli.json(&["proposals", "search", "盐碱地", "--unit", "nongyeju"]).await;
    assert_eq!(by_unit["hits"][0]["proposal"]["id"], submitted[0].id.as_str(), "{by_unit}");
    let none = cli.ok(&["proposals", "search", "盐碱地", "--category", "social"]).await;
    assert!(none.contains("No proposals match “盐碱地”."), "{none}");

    // Paging: one hit per page, the token printed and followed.
    let first = cli.ok(&["proposals", "search", "盐碱地", "--page-size", "1"]).await;
    let token = first.lines().find_map(|l| l.strip_prefix("More: --page-token ")).expect("a next-page hint").trim();
    let second = cli.json(&["proposals", "search", "盐碱地", "--page-size", "1", "--page-token", token]).await;
    let seen_first = if first.contains("盐碱地改良") { "改良" } else { "耐盐作物" };
    let second_title = second["hits"][0]["proposal"]["title"].as_str().unwrap();
    assert!(!second_title.contains(seen_first), "page two repeats page one: {second}");
    assert_eq!(second["next_page_token"], "", "{second}");

    // A member finds only what they may see (their own), by the same words.
    let proposer = CliUser::signed_in(&app, "130528", "wangjianjun").await;
    let theirs = proposer.json(&["proposals", "search", "盐碱地"]).await;
    assert_eq!(theirs["hits"].as_array().unwrap().len(), 2, "{theirs}");

    // Flags are checked before any call.
    let err = cli.fails(&["proposals", "search", "盐碱地", "--from", "2026-03-01", "--to", "2026-01-01"]).await;
    assert!(err.contains("--from 2026-03-01 is after --to 2026-01-01"), "{err}");
    let err = cli.fails(&["proposals", "search", "盐碱地", "--from", "2026-13-01"]).await;
    assert!(err.contains("YYYY-MM-DD"), "{err}");
    let err = cli.fails(&["proposals", "search", "盐碱地", "--page-size", "500"]).await;
    assert!(err.contains("--page-size must be between 1 and 100"), "{err}");
    let err = cli.fails(&["proposals", "search", "  "]).await;
    assert!(err.contains("the search words must not be empty"), "{err}");
    let err = cli.fails(&["proposals", "search", "盐碱地", "--state", "lost"]).await;
    assert!(err.contains("unknown state `lost`"), "{err}");
    app.stop().await;
}

// ---- members projects / assessment / studios ----

#[tokio::test]
async fn projects_assessment_and_studios_by_cli() {
    let app = spawn_app().await;
    let n = ningjin(&app).await;
    let mut roster = n.staff.membership();
    let mut zhang = n.member("张建国", "13052819700315123", "13831951234");
    zhang.user_id = n.zhang.user.id.clone();
    let zhang = create(&mut roster, zhang).await.unwrap();
    let mut li = n.member("李秀英", "13052819800612234", "13931955678");
    li.user_id = n.li.user.id.clone();
    create(&mut roster, li).await.unwrap();
    let year = this_year();
    let year_text = year.to_string();

    // 张建国 declares and advances his project through the CLI.
    let member = CliUser::signed_in(&app, "130528", "zhangjianguo").await;
    let declared = member
        .json(&[
            "members",
            "projects",
            "declare",
            "--title",
            "宁晋县农村生活污水治理",
            "--plan",
            "围绕农村生活污水收集处理开展学习、调研和协商。",
        ])
        .await;
    assert_eq!(declared["member_name"], "张建国");
    assert_eq!(declared["year"], year);
    assert_eq!(declared["status"], "PROJECT_STATUS_DECLARED");
    let id = declared["id"].as_str().unwrap().to_owned();
    let studied =
        member.ok(&["members", "projects", "advance", &id, "--note", "学习《河北省农村生活污水治理规划》"]).await;
    assert!(studied.contains("学习 study") && studied.contains("学习《河北省农村生活污水治理规划》"), "{studied}");
    let researched =
        member.ok(&["members", "projects", "advance", &id, "--to", "调研", "--note", "走访凤凰镇十二个村"]).await;
    assert!(researched.contains("调研 research") && researched.contains("走访凤凰镇十二个村"), "{researched}");
    let shown = member.ok(&["members", "projects", "show", &id]).await;
    assert!(shown.contains("宁晋县农村生活污水治理") && shown.contains("围绕农村生活污水"), "{shown}");
    let today = {
        let d = (xieshang_platform::time::now() + chrono::Duration::hours(8)).date_naive();
        d.format("%Y-%m-%d").to_string()
    };
    assert!(shown.contains(&today), "steps dated today by default: {shown}");
    // Skipping a step is the server's refusal, as a sentence naming the state.
    let skip = member.fails(&["members", "projects", "advance", &id, "--to", "回头看", "--note", "跳过"]).await;
    assert!(skip.contains("not possible in the current state") && skip.contains("RESEARCH"), "{skip}");
    // The outcome step needs its kind and reference, checked before any call.
    let outcome = member.fails(&["members", "projects", "advance", &id, "--to", "outcome", "--note", "成果"]).await;
    assert!(outcome.contains("--outcome proposal|information"), "{outcome}");
    let bad = member.fails(&["members", "projects", "list", "--status", "done"]).await;
    assert!(bad.contains("unknown value `done`") && bad.contains("回头看"), "{bad}");

    // Staff see every project, declare for a member named by name, and page.
    let staff = CliUser::signed_in(&app, "130528", "liuyang").await;
    let for_li =
        staff.json(&["members", "projects", "declare", "--title", "县域养老服务体系建设", "--member", "李秀英"]).await;
    assert_eq!(for_li["member_name"], "李秀英");
    let listed = staff.ok(&["members", "projects", "list", "--year", &year_text]).await;
    assert!(listed.contains("宁晋县农村生活污水治理") && listed.contains("调研 research"), "{listed}");
    assert!(listed.contains("县域养老服务体系建设") && listed.contains("已申报 declared"), "{listed}");
    let researching = staff.json(&["members", "projects", "list", "--status", "research"]).await;
    assert_eq!(researching["projects"].as_array().unwrap().len(), 1, "{researching}");
    let paged = staff.ok(&["members", "projects", "list", "--page-size", "1"]).await;
    assert!(paged.contains("More: --page-token "), "{paged}");
    // 李秀英 does not see 张建国's project.
    let li_cli = CliUser::signed_in(&app, "130528", "lixiuying").await;
    let hidden = li_cli.fails(&["members", "projects", "show", &id]).await;
    assert!(hidden.contains("not found"), "{hidden}");

    // The assessment: staff only; a member gets the server's refusal as a sentence.
    let denied = member.fails(&["members", "assessment", "run", "--year", &year_text]).await;
    assert!(denied.starts_with("permission denied"), "{denied}");
    let run = staff.ok(&["members", "assessment", "run", "--year", &year_text, "--committee", "130528"]).await;
    assert!(run.contains("张建国") && run.contains("李秀英") && run.contains("待定 pending"), "{run}");
    assert!(run.contains(&format!("2 members assessed for {year}.")), "{run}");
    let results = staff.json(&["members", "assessment", "show", "--year", &year_text]).await;
    assert_eq!(results["results"].as_array().unwrap().len(), 2, "{results}");
    let confirmed = staff
        .ok(&["members", "assessment", "confirm", "张建国", "--year", &year_text, "--note", "常委会审议通过"])
        .await;
    assert!(confirmed.starts_with("Confirmed the proposed outcome") && confirmed.contains("张建国"), "{confirmed}");
    let after = staff.json(&["members", "assessment", "show", "--year", &year_text]).await;
    let zhang_result = after["results"].as_array().unwrap().iter().find(|r| r["member_name"] == "张建国").unwrap();
    assert_eq!(zhang_result["decision"], "OUTCOME_DECISION_CONFIRMED");
    assert_eq!(zhang_result["decision_note"], "常委会审议通过");
    let nobody = staff.fails(&["members", "assessment", "confirm", "王五", "--year", &year_text]).await;
    assert!(nobody.contains("王五 has no assessment result"), "{nobody}");
    let bad_year = staff.fails(&["members", "assessment", "show", "--year", "26"]).await;
    assert!(bad_year.contains("not a year between 2000 and 2100"), "{bad_year}");

    // Studios: staff create one through the API; the public asks; a studio member answers by CLI.
    let studio = StudioServiceClient::with_interceptor(n.staff.channel.clone(), n.staff.bearer())
        .create_studio(pm::CreateStudioRequest {
            name: "张建国委员工作室".into(),
            sector_id: n.sector_economy.clone(),
            address: "宁晋县凤凰镇政府二楼".into(),
            member_ids: vec![zhang.id.clone()],
            service_items: vec!["政策咨询".into(), "企业帮扶".into()],
        })
        .await
        .unwrap()
        .into_inner();
    let tracking = StudioServiceClient::new(app.channel.clone())
        .submit_studio_request(pm::SubmitStudioRequestRequest {
            committee_code: "130528".into(),
            studio_id: studio.id.clone(),
            kind: pm::StudioRequestKind::Help as i32,
            content: "村里的排水沟堵塞多年，雨季积水严重。".into(),
            contact: Some(pm::StudioContact { name: "王大妈".into(), phone: "13831950000".into() }),
        })
        .await
        .unwrap()
        .into_inner()
        .tracking_code;
    let studios = member.ok(&["members", "studios", "list"]).await;
    assert!(studios.contains("张建国委员工作室") && studios.contains("宁晋县凤凰镇政府二楼"), "{studios}");
    let one = member.ok(&["members", "studios", "show", &studio.id]).await;
    assert!(one.contains("政策咨询、企业帮扶"), "{one}");
    let requests = member.json(&["members", "studios", "requests", "--open"]).await;
    let request = &requests.as_array().unwrap()[0];
    assert_eq!(request["tracking_code"], tracking.as_str());
    assert_eq!(request["contact_phone"], "138****0000");
    let request_id = request["id"].as_str().unwrap().to_owned();
    let answered =
        member.ok(&["members", "studios", "answer", &request_id, "--text", "已联系村委会，本周内疏通排水沟。"]).await;
    assert!(answered.contains(&tracking), "{answered}");
    let open = member.ok(&["members", "studios", "requests", "--open"]).await;
    assert!(open.contains("No requests found."), "{open}");
    let empty = member.fails(&["members", "studios", "answer", &request_id, "--text", " "]).await;
    assert!(empty.contains("--text must not be empty"), "{empty}");
    app.stop().await;
}

// ---- consultation ----

fn date(year: i32, month: i32, day: i32) -> Option<Date> {
    Some(Date { year, month, day })
}

#[tokio::test]
async fn consultation_topics_plan_activities_and_supervision_by_cli() {
    let app = spawn_app().await;
    let n = ningjin(&app).await;
    let mut roster = n.staff.membership();
    let mut zhang = n.member("张建国", "13052819700315123", "13831951234");
    zhang.user_id = n.zhang.user.id.clone();
    create(&mut roster, zhang).await.unwrap();
    let staff = CliUser::signed_in(&app, "130528", "liuyang").await;
    let member = CliUser::signed_in(&app, "130528", "zhangjianguo").await;

    // Topics: a member recommends, staff screen it in.
    let topic = member
        .json(&[
            "consultation",
            "topics",
            "submit",
            "--title",
            "推进盐碱地综合利用",
            "--rationale",
            "我县东部乡镇盐碱地面积较大，综合利用关系农民增收和粮食安全。",
        ])
        .await;
    assert_eq!(topic["source"], "TOPIC_SOURCE_MEMBER");
    assert_eq!(topic["state"], "TOPIC_STATE_PROPOSED");
    let topic_id = topic["id"].as_str().unwrap().to_owned();
    let screened = staff
        .ok(&[
            "consultation",
            "topics",
            "screen",
            &topic_id,
            "--verdict",
            "入选",
            "--need",
            "县委将盐碱地治理列入年度重点工作",
            "--expectation",
            "种植户盼望改良增产",
            "--capacity",
            "农业界委员有专业力量",
        ])
        .await;
    assert!(screened.contains("入选 selected") && screened.contains("种植户盼望改良增产"), "{screened}");
    let topics = staff.ok(&["consultation", "topics", "list", "--state", "selected"]).await;
    assert!(topics.contains("推进盐碱地综合利用") && topics.contains("委员荐题"), "{topics}");
    let bad = staff
        .fails(&[
            "consultation",
            "topics",
            "screen",
            &topic_id,
            "--verdict",
            "selected",
            "--need",
            "",
            "--expectation",
            "x",
            "--capacity",
            "y",
        ])
        .await;
    assert!(bad.contains("--need (党政所需) must not be empty"), "{bad}");

    // The plan: created, filled, submitted, approved and published by CLI.
    staff.ok(&["consultation", "plan", "create", "--year", "2026"]).await;
    let err = staff
        .fails(&[
            "consultation",
            "plan",
            "add-item",
            "--year",
            "2026",
            "--type",
            "other",
            "--lead",
            "经济委员会",
            "--title",
            "x",
            "--month",
            "3",
        ])
        .await;
    assert!(err.contains("--type other needs --type-label"), "{err}");
    let add = ["consultation", "plan", "add-item", "--year", "2026", "--type", "对口协商", "--lead", "经济委员会"];
    let err = staff.fails(&[&add[..], &["--month", "3"]].concat()).await;
    assert!(err.contains("name the item with --title"), "{err}");
    let err = staff.fails(&[&add[..], &["--title", "农田水利", "--month", "13"]].concat()).await;
    assert!(err.contains("--month must be between 1 and 12"), "{err}");
    staff
        .ok(&[
            "consultation",
            "plan",
            "add-item",
            "--year",
            "2026",
            "--topic",
            &topic_id,
            "--type",
            "请你来协商",
            "--lead",
            "农业和农村委员会",
            "--month",
            "5",
            "--unit",
            "县农业农村局",
            "--unit",
            "县水务局",
        ])
        .await;
    staff
        .ok(&[
            "consultation",
            "plan",
            "add-item",
            "--year",
            "2026",
            "--title",
            "农村人居环境整治民主监督",
            "--type",
            "other",
            "--type-label",
            "有事好商量",
            "--lead",
            "社会和法制委员会",
            "--month",
            "9",
        ])
        .await;
    // Members do not read a plan before it is published, nor change one.
    let unseen = member.fails(&["consultation", "plan", "show", "--year", "2026"]).await;
    assert!(unseen.contains("there is no 2026 plan you may read"), "{unseen}");
    let denied = member.fails(&["consultation", "plan", "create", "--year", "2027"]).await;
    assert!(denied.starts_with("permission denied"), "{denied}");
    for step in ["submit", "approve", "publish"] {
        staff.ok(&["consultation", "plan", step, "--year", "2026"]).await;
    }
    let plan = member.ok(&["consultation", "plan", "show", "--year", "2026"]).await;
    assert!(plan.contains("2026年度协商监督计划 — 已发布 published"), "{plan}");
    // `xieshang plans …` is `consultation plan …` for short.
    assert_eq!(member.ok(&["plans", "show", "--year", "2026"]).await, plan);
    assert!(plan.contains("推进盐碱地综合利用") && plan.contains("请你来协商") && plan.contains("5月"), "{plan}");
    assert!(plan.contains("有事好商量") && plan.contains("县农业农村局、县水务局"), "{plan}");
    let plans = staff.json(&["consultation", "plan", "list"]).await;
    assert_eq!(plans[0]["state"], "PLAN_STATE_PUBLISHED");
    assert_eq!(plans[0]["items"].as_array().unwrap().len(), 2);
    let again = staff.fails(&["consultation", "plan", "publish", "--year", "2026"]).await;
    assert!(again.contains("not possible in the current state") && again.contains("PUBLISHED"), "{again}");

    // Activities: seeded through the API, listed and shown with feedback by CLI.
    let mut c = n.staff.consultation();
    let activity = c
        .create_activity(pc::CreateActivityRequest {
            activity: Some(pc::Activity {
                title: "关于推进盐碱地综合利用的协商".into(),
                r#type: pc::ConsultationType::Counterpart as i32,
                department: "县农业农村局".into(),
                year: 2026,
                ..Default::default()
            }),
        })
        .await
        .unwrap()
        .into_inner();
    c.create_activity(pc::CreateActivityRequest {
        activity: Some(pc::Activity {
            title: "关于农村养老服务的界别协商".into(),
            r#type: pc::ConsultationType::SectorRoundTable as i32,
            year: 2025,
            ..Default::default()
        }),
    })
    .await
    .unwrap();
    c.add_research_visit(pc::AddResearchVisitRequest {
        activity_id: activity.id.clone(),
        visit: Some(pc::ResearchVisit {
            date: date(2026, 4, 15),
            place: "苏家庄镇".into(),
            note: "盐碱地约三万亩".into(),
            ..Default::default()
        }),
    })
    .await
    .unwrap();
    c.advance_activity(pc::AdvanceActivityRequest { id: activity.id.clone(), stage: pc::ActivityStage::Report as i32 })
        .await
        .unwrap();
    for text in ["推广暗管排盐技术", "扩大耐盐作物种植补贴", "建立盐碱地改良长效机制"] {
        c.add_suggestion(pc::AddSuggestionRequest { activity_id: activity.id.clone(), text: text.into() })
            .await
            .unwrap();
    }
    c.advance_activity(pc::AdvanceActivityRequest {
        id: activity.id.clone(),
        stage: pc::ActivityStage::Feedback as i32,
    })
    .await
    .unwrap();
    let listed = staff.ok(&["consultation", "activities", "list", "--year", "2026"]).await;
    assert!(listed.contains("关于推进盐碱地综合利用的协商") && listed.contains("对口协商"), "{listed}");
    assert_eq!(staff.ok(&["activities", "list", "--year", "2026"]).await, listed);
    assert!(!listed.contains("养老"), "only 2026: {listed}");
    let all = staff.json(&["consultation", "activities", "list"]).await;
    assert_eq!(all["activities"].as_array().unwrap().len(), 2, "{all}");
    let shown = staff.json(&["consultation", "activities", "show", &activity.id]).await;
    let suggestions = shown["suggestions"].as_array().unwrap();
    assert_eq!(suggestions.len(), 3, "{shown}");
    let first = suggestions[0]["id"].as_str().unwrap().to_owned();
    let second = suggestions[1]["id"].as_str().unwrap().to_owned();
    let third = suggestions[2]["id"].as_str().unwrap().to_owned();
    staff.ok(&["consultation", "activities", "feedback", &first, "--result", "采纳"]).await;
    staff.ok(&["consultation", "activities", "feedback", &second, "--result", "partly-adopted"]).await;
    let need_note = staff.fails(&["consultation", "activities", "feedback", &third, "--result", "未采纳"]).await;
    assert!(need_note.contains("not-adopted feedback needs --note"), "{need_note}");
    staff
        .ok(&["consultation", "activities", "feedback", &third, "--result", "未采纳", "--note", "财力所限，暂缓实施"])
        .await;
    let shown = staff.ok(&["consultation", "activities", "show", &activity.id]).await;
    assert!(shown.contains("苏家庄镇") && shown.contains("盐碱地约三万亩"), "{shown}");
    assert!(shown.contains("推广暗管排盐技术") && shown.contains("采纳 adopted"), "{shown}");
    assert!(shown.contains("部分采纳 partly adopted") && shown.contains("财力所限，暂缓实施"), "{shown}");
    assert!(shown.contains("66.7% (1 adopted + 1 partly of 3 with feedback; 3 suggestion(s))"), "{shown}");
    let rates = staff.json(&["consultation", "activities", "rates", "--year", "2026"]).await;
    assert_eq!(rates["total"]["with_feedback"], 3, "{rates}");
    // A member not invited to any meeting sees no activity.
    let theirs = member.ok(&["consultation", "activities", "list"]).await;
    assert!(theirs.contains("No activities found."), "{theirs}");

    // Supervision: seeded through the API, listed and shown by CLI; staff only.
    let mut s = SupervisionServiceClient::with_interceptor(n.staff.channel.clone(), n.staff.bearer());
    let project = s
        .create_supervision_project(pc::CreateSupervisionProjectRequest {
            kind: pc::SupervisionKind::SpecialCollective as i32,
            topic: "农村人居环境整治专项民主监督".into(),
            start_date: date(2026, 4, 1),
            end_date: date(2026, 10, 31),
        })
        .await
        .unwrap()
        .into_inner();
    s.start_supervision_project(pc::StartSupervisionProjectRequest { id: project.id.clone() }).await.unwrap();
    s.add_supervision_inspection(pc::AddSupervisionInspectionRequest {
        project_id: project.id.clone(),
        inspection: Some(pc::SupervisionInspection {
            date: date(2026, 5, 12),
            place: "凤凰镇东汪村".into(),
            member_names: vec!["张建国".into()],
            findings: "垃圾清运不及时".into(),
            ..Default::default()
        }),
    })
    .await
    .unwrap();
    s.file_supervision_report(pc::FileSupervisionReportRequest {
        project_id: project.id.clone(),
        summary: "全县农村人居环境明显改善，仍有短板。".into(),
        problems: vec![pc::NewSupervisionProblem {
            problem: "部分村庄垃圾清运不及时".into(),
            suggestion: "建立村收集、镇转运、县处理体系".into(),
        }],
    })
    .await
    .unwrap();
    s.create_supervision_project(pc::CreateSupervisionProjectRequest {
        kind: pc::SupervisionKind::StationedMembers as i32,
        topic: "委员驻点监督县医院".into(),
        start_date: date(2026, 6, 1),
        end_date: date(2026, 12, 31),
    })
    .await
    .unwrap();
    let listed = staff.ok(&["consultation", "supervision", "list"]).await;
    assert!(listed.contains("农村人居环境整治专项民主监督") && listed.contains("专项集体民主监督"), "{listed}");
    assert_eq!(staff.ok(&["supervision", "list"]).await, listed);
    assert!(listed.contains("委员驻点监督县医院") && listed.contains("0/1 已整改 rectified"), "{listed}");
    let reported = staff.json(&["consultation", "supervision", "list", "--state", "reported"]).await;
    assert_eq!(reported.as_array().unwrap().len(), 1, "{reported}");
    let shown = staff.ok(&["consultation", "supervision", "show", &project.id]).await;
    assert!(shown.contains("凤凰镇东汪村") && shown.contains("张建国") && shown.contains("垃圾清运不及时"), "{shown}");
    assert!(shown.contains("建立村收集、镇转运、县处理体系") && shown.contains("待整改 open"), "{shown}");
    let denied = member.fails(&["consultation", "supervision", "list"]).await;
    assert!(denied.starts_with("permission denied"), "{denied}");
    let bad = staff.fails(&["consultation", "supervision", "list", "--state", "finished"]).await;
    assert!(bad.contains("planned, ongoing, reported or closed"), "{bad}");
    app.stop().await;
}
