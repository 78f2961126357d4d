//! The committee tree: creation rules, validation, reads, updates.

use tonic::Code;
use xieshang_proto::common::v1::CommitteeLevel;
use xieshang_proto::tenants::v1 as pb;
use xieshang_tests::*;

#[tokio::test]
async fn the_operator_builds_the_hebei_tree_and_reads_it_depth_first() {
    let app = spawn_app().await;
    let tree = seed_tree(&app).await;
    let op = app.operator().await;

    let subtree = op
        .committees()
        .list_subtree(pb::ListSubtreeRequest { id: tree.hebei.id.clone(), ..Default::default() })
        .await
        .unwrap()
        .into_inner();
    let codes: Vec<_> = subtree.committees.iter().map(|c| c.code.as_str()).collect();
    assert_eq!(codes, ["130500", "130522", "130528"]);
    assert_eq!(subtree.total_size, 3);
    assert_eq!(subtree.committees[2].parent_code, "130500");
    assert_eq!(subtree.committees[2].depth, 2);

    let ancestors = op
        .committees()
        .list_ancestors(pb::ListAncestorsRequest { id: tree.ningjin.id.clone() })
        .await
        .unwrap()
        .into_inner();
    let names: Vec<_> = ancestors.committees.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["邢台市政协", "河北省政协"]);

    let by_code = op
        .committees()
        .get_committee(pb::GetCommitteeRequest { code: "130528".into(), ..Default::default() })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(by_code.id, tree.ningjin.id);
    assert_eq!(by_code.level, CommitteeLevel::County as i32);
    assert_eq!(by_code.state, pb::CommitteeState::Active as i32);
    app.stop().await;
}

#[tokio::test]
async fn every_bad_committee_is_refused_naming_its_field() {
    let app = spawn_app().await;
    let tree = seed_tree(&app).await;
    let mut c = app.operator().await.committees();
    let cases = [
        (committee("13052", "宁晋县政协", CommitteeLevel::County, &tree.xingtai.id), Code::InvalidArgument, "code"),
        (committee("990000", "某某省政协", CommitteeLevel::Provincial, ""), Code::InvalidArgument, "code"),
        (committee("130529", "Ningjin", CommitteeLevel::County, &tree.xingtai.id), Code::InvalidArgument, "name"),
        (
            committee("130529", "某县政协", CommitteeLevel::Unspecified, &tree.xingtai.id),
            Code::InvalidArgument,
            "level",
        ),
        // A county whose code lies in another city.
        (committee("130123", "正定县政协", CommitteeLevel::County, &tree.xingtai.id), Code::InvalidArgument, "code"),
        // A county directly under a province.
        (committee("130529", "巨鹿县政协", CommitteeLevel::County, &tree.hebei.id), Code::InvalidArgument, "parent_id"),
        // A city without a parent, a province with one.
        (committee("130600", "保定市政协", CommitteeLevel::City, ""), Code::InvalidArgument, "parent_id"),
        (
            committee("140000", "山西省政协", CommitteeLevel::Provincial, &tree.hebei.id),
            Code::InvalidArgument,
            "parent_id",
        ),
        // Nothing below a county (a cycle or a fourth level).
        (
            committee("130529", "巨鹿县政协", CommitteeLevel::County, &tree.ningjin.id),
            Code::InvalidArgument,
            "parent_id",
        ),
        (committee("130529", "巨鹿县政协", CommitteeLevel::County, "not-an-id"), Code::InvalidArgument, "parent_id"),
        (
            committee("130529", "巨鹿县政协", CommitteeLevel::County, &uuid::Uuid::now_v7().to_string()),
            Code::InvalidArgument,
            "parent_id",
        ),
        // Duplicates.
        (
            committee("130528", "另一个宁晋县政协", CommitteeLevel::County, &tree.xingtai.id),
            Code::AlreadyExists,
            "code",
        ),
        (committee("130529", "宁晋县政协", CommitteeLevel::County, &tree.xingtai.id), Code::AlreadyExists, "name"),
    ];
    for (request, code, field) in cases {
        let what = format!("{:?}", request.committee.as_ref().map(|c| (&c.code, &c.name)));
        let status = c.create_committee(request).await.expect_err(&what);
        assert_eq!(status.code(), code, "{what}: {status:?}");
        assert_eq!(violated_field(&status), field, "{what}: {status:?}");
    }
    // The same name under another parent is fine.
    c.create_committee(committee("130100", "石家庄市政协", CommitteeLevel::City, &tree.hebei.id)).await.unwrap();
    c.create_committee(committee("330100", "石家庄市政协", CommitteeLevel::City, &tree.zhejiang.id))
        .await
        .expect("names are unique among siblings only");
    app.stop().await;
}

#[tokio::test]
async fn list_filters_and_pages_through_committees_in_code_order() {
    let app = spawn_app().await;
    let tree = seed_tree(&app).await;
    let mut c = app.operator().await.committees();
    let mut seen = Vec::new();
    let mut token = String::new();
    loop {
        let page = c
            .list_committees(pb::ListCommitteesRequest {
                page_size: 3,
                page_token: token.clone(),
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner();
        assert!(page.committees.len() <= 3);
        seen.extend(page.committees.into_iter().map(|c| c.code));
        if page.next_page_token.is_empty() {
            break;
        }
        token = page.next_page_token;
    }
    assert_eq!(seen, ["130000", "130500", "130522", "130528", "330000", "330400", "330481"]);

    let counties = c
        .list_committees(pb::ListCommitteesRequest {
            level: CommitteeLevel::County as i32,
            parent_id: tree.xingtai.id.clone(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(counties.committees.len(), 2);
    let by_name = c
        .list_committees(pb::ListCommitteesRequest { name_contains: "宁晋".into(), ..Default::default() })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(by_name.committees.len(), 1);
    let bad = c.list_committees(pb::ListCommitteesRequest { page_token: "garbage".into(), ..Default::default() }).await;
    assert_eq!(violated_field(&assert_code(bad, Code::InvalidArgument)), "page_token");
    app.stop().await;
}

#[tokio::test]
async fn an_admin_updates_their_own_committee_with_a_mask_and_an_etag() {
    let app = spawn_app().await;
    let tree = seed_tree(&app).await;
    let admin = app.login("130528", "admin", PASSWORD).await.unwrap();
    let mut c = admin.committees();
    let update = |etag: &str, mask: &[&str]| pb::UpdateCommitteeRequest {
        committee: Some(pb::Committee {
            id: tree.ningjin.id.clone(),
            name: "宁晋县政协（新）".into(),
            office_address: "河北省邢台市宁晋县凤凰路1号".into(),
            etag: etag.into(),
            ..Default::default()
        }),
        update_mask: Some(prost_types::FieldMask { paths: mask.iter().map(|s| s.to_string()).collect() }),
    };
    let updated = c.update_committee(update(&tree.ningjin.etag, &["office_address"])).await.unwrap().into_inner();
    assert_eq!(updated.office_address, "河北省邢台市宁晋县凤凰路1号");
    assert_eq!(updated.name, "宁晋县政协", "fields outside the mask stay");
    assert_ne!(updated.etag, tree.ningjin.etag);

    // The old etag is stale now.
    assert_code(c.update_committee(update(&tree.ningjin.etag, &["name"])).await, Code::Aborted);
    let bad_mask = c.update_committee(update(&updated.etag, &["code"])).await;
    assert_eq!(violated_field(&assert_code(bad_mask, Code::InvalidArgument)), "update_mask");
    assert_code(c.update_committee(update(&updated.etag, &[])).await, Code::InvalidArgument);

    // A parent never edits a child.
    let city = app.login("130500", "admin", PASSWORD).await.unwrap();
    assert_code(city.committees().update_committee(update("", &["office_address"])).await, Code::PermissionDenied);
    app.stop().await;
}

#[tokio::test]
async fn a_suspended_committee_cannot_sign_in_until_reactivated() {
    let app = spawn_app().await;
    let tree = seed_tree(&app).await;
    let admin = app.login("130528", "admin", PASSWORD).await.unwrap();
    let op = app.operator().await;
    // Only operators suspend.
    let by_admin = admin
        .committees()
        .suspend_committee(pb::SuspendCommitteeRequest { id: tree.ningjin.id.clone(), reason: "测试".into() })
        .await;
    assert_code(by_admin, Code::PermissionDenied);
    let no_reason = op
        .committees()
        .suspend_committee(pb::SuspendCommitteeRequest { id: tree.ningjin.id.clone(), reason: String::new() })
        .await;
    assert_eq!(violated_field(&assert_code(no_reason, Code::InvalidArgument)), "reason");

    let suspended = op
        .committees()
        .suspend_committee(pb::SuspendCommitteeRequest {
            id: tree.ningjin.id.clone(),
            reason: "换届期间暂停使用".into(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(suspended.state, pb::CommitteeState::Suspended as i32);
    // Open sessions end at once; new sign-ins are refused.
    assert_code(admin.auth().who_am_i(pb::WhoAmIRequest {}).await, Code::Unauthenticated);
    assert_code(app.login("130528", "admin", PASSWORD).await, Code::FailedPrecondition);

    op.committees().reactivate_committee(pb::ReactivateCommitteeRequest { id: tree.ningjin.id.clone() }).await.unwrap();
    app.login("130528", "admin", PASSWORD).await.expect("signs in again");
    app.stop().await;
}
