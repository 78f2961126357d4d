//! Quality evaluation (协商议政质量评价) and the sector round-table rotation
//! (界别圆桌会联组轮值) in 海宁市政协: the scoring standard's validation,
//! evaluators' refusals, the weighted score and the ranking asserted exactly;
//! joint groups of sectors and the computed rotation continuing after round
//! tables are held; 临城县政协 sees none of it.

use tonic::Code;
use xieshang_proto::common::v1::Role;
use xieshang_proto::consultation::v1 as pc;
use xieshang_proto::consultation::v1::consultation_service_client::ConsultationServiceClient;
use xieshang_proto::consultation::v1::quality_service_client::QualityServiceClient;
use xieshang_proto::membership::v1 as pm;
use xieshang_proto::tenants::v1 as pt;
use xieshang_tests::*;

type Client = QualityServiceClient<Authed>;

fn quality(s: &Session) -> Client {
    QualityServiceClient::with_interceptor(s.channel.clone(), s.bearer())
}

fn refused_field<T: std::fmt::Debug>(r: Result<T, tonic::Status>, code: Code, field: &str) {
    let status = assert_code(r, code);
    assert_eq!(violated_field(&status), field, "{status:?}");
}

fn standard(year: i32, criteria: &[(&str, i32)]) -> pc::SetQualityStandardRequest {
    pc::SetQualityStandardRequest {
        standard: Some(pc::QualityStandard {
            year,
            criteria: criteria
                .iter()
                .map(|(name, weight)| pc::QualityCriterion {
                    name: (*name).into(),
                    weight: *weight,
                    ..Default::default()
                })
                .collect(),
            ..Default::default()
        }),
    }
}

async fn activity(
    c: &mut ConsultationServiceClient<Authed>,
    title: &str,
    kind: pc::ConsultationType,
    department: &str,
) -> pc::Activity {
    c.create_activity(pc::CreateActivityRequest {
        activity: Some(pc::Activity {
            title: title.into(),
            r#type: kind as i32,
            department: department.into(),
            year: 2026,
            ..Default::default()
        }),
    })
    .await
    .unwrap_or_else(|e| panic!("{title}: {e:?}"))
    .into_inner()
}

fn scores(criteria: &[String], values: &[i32]) -> Vec<pc::CriterionScore> {
    criteria
        .iter()
        .zip(values)
        .map(|(c, v)| pc::CriterionScore { criterion_id: c.clone(), score: *v, ..Default::default() })
        .collect()
}

async fn score(
    c: &mut Client,
    activity_id: &str,
    s: Vec<pc::CriterionScore>,
) -> Result<pc::ActivityQuality, tonic::Status> {
    c.score_activity(pc::ScoreActivityRequest { activity_id: activity_id.into(), scores: s })
        .await
        .map(|r| r.into_inner())
}

#[tokio::test]
async fn standard_scores_and_ranking() {
    let app = spawn_app().await;
    let tree = seed_tree(&app).await;
    let admin = app.login("330481", "admin", PASSWORD).await.unwrap();
    let id = tree.haining.id.clone();
    let judge1 = create_user(&admin, &id, "judge1", "沈建明", &[Role::Judge]).await;
    let judge2 = create_user(&admin, &id, "judge2", "陆晓燕", &[Role::Judge]).await;
    let clerk = create_user(&admin, &id, "clerk", "许文杰", &[Role::Staff]).await;
    let member = create_user(&admin, &id, "member", "钱海东", &[Role::Member]).await;
    let s1 = app.login("330481", "judge1", PASSWORD).await.unwrap();
    let s2 = app.login("330481", "judge2", PASSWORD).await.unwrap();
    let s3 = app.login("330481", "clerk", PASSWORD).await.unwrap();
    let sm = app.login("330481", "member", PASSWORD).await.unwrap();
    let (mut q, mut q1, mut q2, mut q3, mut qm) =
        (quality(&admin), quality(&s1), quality(&s2), quality(&s3), quality(&sm));

    // The standard: weights must sum to 100, names distinct, weights 1–100; staff only.
    refused_field(
        q.set_quality_standard(standard(2026, &[("建言质量", 40), ("调研深度", 30), ("成果转化", 20)])).await,
        Code::InvalidArgument,
        "standard.criteria",
    );
    refused_field(q.set_quality_standard(standard(2026, &[])).await, Code::InvalidArgument, "standard.criteria");
    refused_field(
        q.set_quality_standard(standard(2026, &[("建言质量", 50), ("建言质量", 50)])).await,
        Code::InvalidArgument,
        "standard.criteria.name",
    );
    refused_field(
        q.set_quality_standard(standard(2026, &[("建言质量", 0), ("调研深度", 100)])).await,
        Code::InvalidArgument,
        "standard.criteria.weight",
    );
    refused_field(
        q.set_quality_standard(standard(1999, &[("建言质量", 100)])).await,
        Code::InvalidArgument,
        "standard.year",
    );
    assert_code(qm.set_quality_standard(standard(2026, &[("建言质量", 100)])).await, Code::PermissionDenied);
    assert_code(q.get_quality_standard(pc::GetQualityStandardRequest { year: 2026 }).await, Code::NotFound);
    // Set, then replaced while unused.
    q.set_quality_standard(standard(2026, &[("建言质量", 50), ("调研深度", 50)])).await.unwrap();
    let std = q
        .set_quality_standard(standard(2026, &[("建言质量", 40), ("调研深度", 30), ("成果转化", 30)]))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(std.criteria.iter().map(|c| c.weight).collect::<Vec<_>>(), vec![40, 30, 30]);
    let seen = q1.get_quality_standard(pc::GetQualityStandardRequest { year: 2026 }).await.unwrap().into_inner();
    assert_eq!(seen, std);
    let criteria: Vec<String> = std.criteria.iter().map(|c| c.id.clone()).collect();

    let mut c = admin.consultation();
    let a = activity(&mut c, "关于海宁市传统产业数字化改造的请你来协商", pc::ConsultationType::PleaseConsult, "").await;
    let b = activity(
        &mut c,
        "关于盐官古城保护利用的对口协商",
        pc::ConsultationType::Counterpart,
        "海宁市文化和广电旅游体育局",
    )
    .await;
    let d = activity(&mut c, "关于钱塘江海塘安澜工程的全体会议协商", pc::ConsultationType::Plenary, "").await;
    let unscored = activity(&mut c, "关于社区养老服务的基层协商", pc::ConsultationType::Grassroots, "").await;

    // Evaluators: users holding ROLE_JUDGE or ROLE_STAFF; staff name them.
    let assign = |activity: &pc::Activity, users: &[&pt::User]| pc::AssignEvaluatorsRequest {
        activity_id: activity.id.clone(),
        evaluator_user_ids: users.iter().map(|u| u.id.clone()).collect(),
    };
    refused_field(
        q.assign_evaluators(assign(&a, &[&judge1, &member])).await,
        Code::InvalidArgument,
        "evaluator_user_ids",
    );
    assert_code(q1.assign_evaluators(assign(&a, &[&judge1])).await, Code::PermissionDenied);
    let named = q.assign_evaluators(assign(&a, &[&judge1, &judge2, &clerk])).await.unwrap().into_inner();
    assert_eq!(named.evaluators.len(), 3);
    assert!(named.evaluators.iter().any(|e| e.display_name == "沈建明"));
    // Naming again adds nothing.
    assert_eq!(q.assign_evaluators(assign(&a, &[&judge1])).await.unwrap().into_inner().evaluators.len(), 3);
    q.assign_evaluators(assign(&b, &[&judge1, &judge2])).await.unwrap();
    q.assign_evaluators(assign(&d, &[&judge1])).await.unwrap();

    // Refusals: not an evaluator, out of range, unknown criterion, twice.
    assert_code(score(&mut q3, &b.id, scores(&criteria, &[90, 90, 90])).await, Code::PermissionDenied);
    assert_code(score(&mut qm, &a.id, scores(&criteria, &[90, 90, 90])).await, Code::PermissionDenied);
    refused_field(
        score(&mut q1, &a.id, scores(&criteria, &[80, 101, 60])).await,
        Code::InvalidArgument,
        "scores.score",
    );
    refused_field(score(&mut q1, &a.id, scores(&criteria, &[-1, 70, 60])).await, Code::InvalidArgument, "scores.score");
    refused_field(
        score(&mut q1, &a.id, scores(&[a.id.clone()], &[80])).await,
        Code::InvalidArgument,
        "scores.criterion_id",
    );
    refused_field(
        score(&mut q1, &a.id, scores(&[criteria[0].clone(), criteria[0].clone()], &[80, 80])).await,
        Code::InvalidArgument,
        "scores.criterion_id",
    );

    // A: means 90, 80, 70 → (40×90 + 30×80 + 30×70) / 100 = 81.
    let mine = score(&mut q1, &a.id, scores(&criteria, &[80, 70, 60])).await.unwrap();
    assert_eq!(mine.scores.len(), 3);
    assert_eq!(mine.score, 0.0, "evaluators do not see the weighted score");
    score(&mut q2, &a.id, scores(&criteria, &[90, 80, 60])).await.unwrap();
    // The clerk scores in two calls: once per criterion.
    score(&mut q3, &a.id, scores(&criteria[..1], &[100])).await.unwrap();
    score(&mut q3, &a.id, scores(&criteria[1..], &[90, 90])).await.unwrap();
    refused_field(
        score(&mut q1, &a.id, scores(&criteria[..1], &[85])).await,
        Code::AlreadyExists,
        "scores.criterion_id",
    );
    refused_field(
        score(&mut q3, &a.id, scores(&criteria[2..], &[85])).await,
        Code::AlreadyExists,
        "scores.criterion_id",
    );

    // B: means 80, 90, 90 → (3200 + 2700 + 2700) / 100 = 86.
    score(&mut q1, &b.id, scores(&criteria, &[90, 90, 90])).await.unwrap();
    score(&mut q2, &b.id, scores(&criteria, &[70, 90, 90])).await.unwrap();
    // D: one criterion scored → 40 × 100 / 100 = 40.
    score(&mut q1, &d.id, scores(&criteria[..1], &[100])).await.unwrap();

    // Evaluators see only their own scores; staff see all and the score.
    let own = q2
        .get_activity_quality(pc::GetActivityQualityRequest { activity_id: a.id.clone() })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(own.scores.iter().map(|s| s.score).collect::<Vec<_>>(), vec![90, 80, 60]);
    assert!(own.scores.iter().all(|s| s.evaluator_user_id == judge2.id));
    assert_eq!((own.score, own.evaluator_count), (0.0, 0));
    assert_code(
        q2.get_activity_quality(pc::GetActivityQualityRequest { activity_id: d.id.clone() }).await,
        Code::PermissionDenied,
    );
    assert_code(
        qm.get_activity_quality(pc::GetActivityQualityRequest { activity_id: a.id.clone() }).await,
        Code::PermissionDenied,
    );
    let all =
        q.get_activity_quality(pc::GetActivityQualityRequest { activity_id: a.id.clone() }).await.unwrap().into_inner();
    assert_eq!(all.scores.len(), 9);
    assert_eq!((all.score, all.evaluator_count), (81.0, 3));

    // The ranking: B 86, A 81, D 40; the unscored activity is not ranked.
    let ranking = q.rank_activities(pc::RankActivitiesRequest { year: 2026, r#type: 0 }).await.unwrap().into_inner();
    let got: Vec<(i32, String, f64, i32)> =
        ranking.activities.iter().map(|r| (r.rank, r.activity_id.clone(), r.score, r.evaluator_count)).collect();
    assert_eq!(got, vec![(1, b.id.clone(), 86.0, 2), (2, a.id.clone(), 81.0, 3), (3, d.id.clone(), 40.0, 1)]);
    assert!(ranking.activities.iter().all(|r| r.activity_id != unscored.id));
    let please = q
        .rank_activities(pc::RankActivitiesRequest { year: 2026, r#type: pc::ConsultationType::PleaseConsult as i32 })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(please.activities.iter().map(|r| (r.rank, r.score)).collect::<Vec<_>>(), vec![(1, 81.0)]);
    assert!(
        q.rank_activities(pc::RankActivitiesRequest { year: 2025, r#type: 0 })
            .await
            .unwrap()
            .into_inner()
            .activities
            .is_empty()
    );
    assert_code(q1.rank_activities(pc::RankActivitiesRequest { year: 2026, r#type: 0 }).await, Code::PermissionDenied);

    // A standard in use is not replaced.
    let status =
        assert_code(q.set_quality_standard(standard(2026, &[("建言质量", 100)])).await, Code::FailedPrecondition);
    assert!(status.message().contains("IN_USE"), "{status:?}");

    // 临城县政协 sees none of it.
    let lincheng = app.login("130522", "admin", PASSWORD).await.unwrap();
    let mut ql = quality(&lincheng);
    assert_code(
        ql.get_activity_quality(pc::GetActivityQualityRequest { activity_id: a.id.clone() }).await,
        Code::NotFound,
    );
    assert_code(ql.assign_evaluators(assign(&a, &[&judge1])).await, Code::NotFound);
    assert_code(score(&mut ql, &a.id, scores(&criteria, &[1, 1, 1])).await, Code::NotFound);
    assert_code(ql.get_quality_standard(pc::GetQualityStandardRequest { year: 2026 }).await, Code::NotFound);
    assert!(
        ql.rank_activities(pc::RankActivitiesRequest { year: 2026, r#type: 0 })
            .await
            .unwrap()
            .into_inner()
            .activities
            .is_empty()
    );
    app.stop().await;
}

#[tokio::test]
async fn round_table_rotation() {
    let app = spawn_app().await;
    seed_tree(&app).await;
    let admin = app.login("330481", "admin", PASSWORD).await.unwrap();
    let mut q = quality(&admin);
    let mut m = admin.membership();
    let mut sectors = Vec::new();
    for (code, name) in
        [("01", "中共"), ("02", "民革"), ("03", "民盟"), ("04", "民建"), ("05", "经济界"), ("06", "农业界")]
    {
        let item = m
            .create_reference_item(pm::CreateReferenceItemRequest {
                item: Some(pm::ReferenceItem {
                    kind: pm::ReferenceKind::Sector as i32,
                    code: code.into(),
                    name: name.into(),
                    ..Default::default()
                }),
            })
            .await
            .unwrap()
            .into_inner();
        sectors.push(item.id);
    }
    let special = m
        .create_reference_item(pm::CreateReferenceItemRequest {
            item: Some(pm::ReferenceItem {
                kind: pm::ReferenceKind::SpecialCommittee as i32,
                name: "经济委员会".into(),
                ..Default::default()
            }),
        })
        .await
        .unwrap()
        .into_inner()
        .id;
    let rotation = async |q: &mut Client, year: i32, count: i32| {
        q.get_round_table_rotation(pc::GetRoundTableRotationRequest { year, count }).await
    };
    let status = assert_code(rotation(&mut q, 2026, 5).await, Code::FailedPrecondition);
    assert!(status.message().contains("UNDEFINED"), "{status:?}");

    let group = |name: &str, ids: &[&String]| pc::CreateJointGroupRequest {
        group: Some(pc::JointGroup {
            name: name.into(),
            sector_ids: ids.iter().map(|s| (*s).clone()).collect(),
            ..Default::default()
        }),
    };
    let g1 = q.create_joint_group(group("第一联组", &[&sectors[0], &sectors[1]])).await.unwrap().into_inner();
    let g2 = q.create_joint_group(group("第二联组", &[&sectors[2], &sectors[3]])).await.unwrap().into_inner();
    // A sector is in at most one group; only the committee's SECTOR items; names unique.
    refused_field(
        q.create_joint_group(group("第三联组", &[&sectors[4], &sectors[1]])).await,
        Code::InvalidArgument,
        "group.sector_ids",
    );
    refused_field(
        q.create_joint_group(group("第三联组", &[&sectors[4], &special])).await,
        Code::InvalidArgument,
        "group.sector_ids",
    );
    refused_field(
        q.create_joint_group(group("第三联组", &[&sectors[4], &sectors[4]])).await,
        Code::InvalidArgument,
        "group.sector_ids",
    );
    refused_field(q.create_joint_group(group("第三联组", &[])).await, Code::InvalidArgument, "group.sector_ids");
    refused_field(q.create_joint_group(group("", &[&sectors[4]])).await, Code::InvalidArgument, "group.name");
    refused_field(q.create_joint_group(group("第一联组", &[&sectors[4]])).await, Code::AlreadyExists, "group.name");
    let g3 = q.create_joint_group(group("第三联组", &[&sectors[4], &sectors[5]])).await.unwrap().into_inner();
    assert_eq!((g1.position, g2.position, g3.position), (1, 2, 3));
    assert_eq!(g3.sector_names, vec!["农业界", "经济界"]);
    let listed = q.list_joint_groups(pc::ListJointGroupsRequest {}).await.unwrap().into_inner().groups;
    assert_eq!(listed, vec![g1.clone(), g2.clone(), g3.clone()]);

    let leaders = |r: &pc::RoundTableRotation| -> Vec<String> {
        r.slots.iter().map(|s| s.group.as_ref().unwrap().name.clone()).collect()
    };
    // The next five round tables: a fair round robin from the first group.
    let r = rotation(&mut q, 2026, 5).await.unwrap().into_inner();
    assert_eq!(leaders(&r), ["第一联组", "第二联组", "第三联组", "第一联组", "第二联组"]);
    assert_eq!(r.slots.iter().map(|s| s.round).collect::<Vec<_>>(), vec![1, 2, 3, 4, 5]);
    assert!(r.after_activity_id.is_empty());
    refused_field(rotation(&mut q, 2026, 0).await, Code::InvalidArgument, "count");
    refused_field(rotation(&mut q, 2026, 51).await, Code::InvalidArgument, "count");

    // Round tables held take the computed leaders; other activities take none.
    let mut c = admin.consultation();
    let rt1 = activity(&mut c, "界别圆桌会：民营经济高质量发展", pc::ConsultationType::SectorRoundTable, "").await;
    assert_eq!(rt1.leading_group_id, g1.id);
    let other =
        activity(&mut c, "关于皮革产业转型的对口协商", pc::ConsultationType::Counterpart, "海宁市经济和信息化局").await;
    assert!(other.leading_group_id.is_empty());
    let rt2 = activity(&mut c, "界别圆桌会：乡村振兴与共同富裕", pc::ConsultationType::SectorRoundTable, "").await;
    assert_eq!(rt2.leading_group_id, g2.id);
    let fetched = c.get_activity(pc::GetActivityRequest { id: rt2.id.clone() }).await.unwrap().into_inner();
    assert_eq!(fetched.leading_group_id, g2.id);

    // The rotation continues after them, and into the next year.
    let r = rotation(&mut q, 2026, 5).await.unwrap().into_inner();
    assert_eq!(leaders(&r), ["第三联组", "第一联组", "第二联组", "第三联组", "第一联组"]);
    assert_eq!((r.after_activity_id.as_str(), r.after_group_id.as_str()), (rt2.id.as_str(), g2.id.as_str()));
    let rt3 = activity(&mut c, "界别圆桌会：文化传承与潮城建设", pc::ConsultationType::SectorRoundTable, "").await;
    assert_eq!(rt3.leading_group_id, g3.id);
    let r = rotation(&mut q, 2027, 4).await.unwrap().into_inner();
    assert_eq!(leaders(&r), ["第一联组", "第二联组", "第三联组", "第一联组"]);
    // Every group led once over the three held; members may read the rotation too.
    let member = {
        create_user(&admin, &admin.user.committee_id, "weiyuan", "顾玉芳", &[Role::Member]).await;
        app.login("330481", "weiyuan", PASSWORD).await.unwrap()
    };
    assert_eq!(leaders(&rotation(&mut quality(&member), 2026, 1).await.unwrap().into_inner()), ["第一联组"]);
    assert_code(quality(&member).create_joint_group(group("第四联组", &[&sectors[0]])).await, Code::PermissionDenied);

    // 临城县政协 sees none of it.
    let lincheng = app.login("130522", "admin", PASSWORD).await.unwrap();
    let mut ql = quality(&lincheng);
    assert_code(ql.get_joint_group(pc::GetJointGroupRequest { id: g1.id.clone() }).await, Code::NotFound);
    assert!(ql.list_joint_groups(pc::ListJointGroupsRequest {}).await.unwrap().into_inner().groups.is_empty());
    assert_code(rotation(&mut ql, 2026, 3).await, Code::FailedPrecondition);
    refused_field(
        ql.create_joint_group(group("第一联组", &[&sectors[0]])).await,
        Code::InvalidArgument,
        "group.sector_ids",
    );
    assert_code(
        lincheng.consultation().get_activity(pc::GetActivityRequest { id: rt1.id.clone() }).await,
        Code::NotFound,
    );
    app.stop().await;
}
