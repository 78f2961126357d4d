//! Tenants are walled off from each other: another committee's records are
//! `NotFound`, never `PermissionDenied`; roles cannot be escalated; a
//! province reads its subtree's committees but not their users.

use tonic::Code;
use xieshang_proto::common::v1::Role;
use xieshang_proto::tenants::v1 as pb;
use xieshang_tests::*;

#[tokio::test]
async fn a_county_admin_cannot_read_list_or_change_another_county() {
    let app = spawn_app().await;
    let tree = seed_tree(&app).await;
    let ningjin = app.login("130528", "admin", PASSWORD).await.unwrap();
    let lincheng = app.login("130522", "admin", PASSWORD).await.unwrap();
    let lincheng_staff = create_user(&lincheng, &tree.lincheng.id, "sunli", "孙丽", &[Role::Staff]).await;

    // Users of the sibling county.
    let list = ningjin
        .users()
        .list_users(pb::ListUsersRequest { committee_id: tree.lincheng.id.clone(), ..Default::default() })
        .await;
    assert_code(list, Code::NotFound);
    assert_code(ningjin.users().get_user(pb::GetUserRequest { id: lincheng_staff.id.clone() }).await, Code::NotFound);
    assert_code(
        ningjin.users().disable_user(pb::DisableUserRequest { id: lincheng_staff.id.clone() }).await,
        Code::NotFound,
    );
    assert_code(
        ningjin.users().reset_password(pb::ResetPasswordRequest { id: lincheng_staff.id.clone() }).await,
        Code::NotFound,
    );
    let roles = ningjin
        .users()
        .set_user_roles(pb::SetUserRolesRequest {
            id: lincheng_staff.id.clone(),
            roles: vec![Role::CommitteeAdmin as i32],
            etag: String::new(),
        })
        .await;
    assert_code(roles, Code::NotFound);
    let create = ningjin
        .users()
        .create_user(pb::CreateUserRequest {
            user: Some(pb::User {
                committee_id: tree.lincheng.id.clone(),
                username: "intruder".into(),
                display_name: "入侵者".into(),
                roles: vec![Role::CommitteeAdmin as i32],
                ..Default::default()
            }),
            password: PASSWORD.into(),
        })
        .await;
    assert_code(create, Code::NotFound);

    // The sibling committee itself, and its settings.
    let get = ningjin
        .committees()
        .get_committee(pb::GetCommitteeRequest { id: tree.lincheng.id.clone(), code: String::new() })
        .await;
    assert_code(get, Code::NotFound);
    let by_code =
        ningjin.committees().get_committee(pb::GetCommitteeRequest { code: "130522".into(), id: String::new() }).await;
    assert_code(by_code, Code::NotFound);
    let update = ningjin
        .committees()
        .update_committee(pb::UpdateCommitteeRequest {
            committee: Some(pb::Committee {
                id: tree.lincheng.id.clone(),
                office_phone: "0319-0000000".into(),
                ..Default::default()
            }),
            update_mask: Some(prost_types::FieldMask { paths: vec!["office_phone".into()] }),
        })
        .await;
    assert_code(update, Code::NotFound);
    assert_code(
        ningjin.committees().list_terms(pb::ListTermsRequest { committee_id: tree.lincheng.id.clone() }).await,
        Code::NotFound,
    );
    assert_code(
        ningjin
            .audit()
            .list_audit_entries(pb::ListAuditEntriesRequest {
                committee_id: tree.lincheng.id.clone(),
                ..Default::default()
            })
            .await,
        Code::NotFound,
    );

    // What the county sees of the tree: itself and its ancestors, no sibling, no other province.
    let visible =
        ningjin.committees().list_committees(pb::ListCommitteesRequest::default()).await.unwrap().into_inner();
    let codes: Vec<_> = visible.committees.iter().map(|c| c.code.as_str()).collect();
    assert_eq!(codes, ["130000", "130500", "130528"]);
    let subtree_of_province = ningjin
        .committees()
        .list_subtree(pb::ListSubtreeRequest { id: tree.hebei.id.clone(), ..Default::default() })
        .await
        .unwrap()
        .into_inner();
    assert!(
        subtree_of_province.committees.iter().all(|c| c.code != "130522"),
        "no sibling through the province's subtree"
    );
    assert_code(
        ningjin
            .committees()
            .get_committee(pb::GetCommitteeRequest { id: tree.haining.id.clone(), code: String::new() })
            .await,
        Code::NotFound,
    );

    // And the sibling's staff account is untouched.
    let still =
        lincheng.users().get_user(pb::GetUserRequest { id: lincheng_staff.id.clone() }).await.unwrap().into_inner();
    assert!(!still.disabled);
    assert_eq!(still.roles, vec![Role::Staff as i32]);
    app.stop().await;
}

#[tokio::test]
async fn roles_cannot_be_escalated() {
    let app = spawn_app().await;
    let tree = seed_tree(&app).await;
    let admin = app.login("130528", "admin", PASSWORD).await.unwrap();
    let staff_user = create_user(&admin, &tree.ningjin.id, "liming", "李明", &[Role::Staff]).await;
    let staff = app.login("130528", "liming", PASSWORD).await.unwrap();

    // Staff cannot manage users, not even themselves.
    let own = staff
        .users()
        .set_user_roles(pb::SetUserRolesRequest {
            id: staff_user.id.clone(),
            roles: vec![Role::CommitteeAdmin as i32],
            etag: String::new(),
        })
        .await;
    assert_code(own, Code::PermissionDenied);
    let create = staff
        .users()
        .create_user(pb::CreateUserRequest {
            user: Some(pb::User {
                committee_id: tree.ningjin.id.clone(),
                username: "helper".into(),
                display_name: "帮手".into(),
                roles: vec![Role::CommitteeAdmin as i32],
                ..Default::default()
            }),
            password: PASSWORD.into(),
        })
        .await;
    assert_code(create, Code::PermissionDenied);

    // Admins cannot grant the operator role, nor change their own roles.
    let operator = admin
        .users()
        .set_user_roles(pb::SetUserRolesRequest {
            id: staff_user.id.clone(),
            roles: vec![Role::PlatformOperator as i32],
            etag: String::new(),
        })
        .await;
    assert_code(operator, Code::PermissionDenied);
    let me = admin.user.id.clone();
    let self_change = admin
        .users()
        .set_user_roles(pb::SetUserRolesRequest {
            id: me,
            roles: vec![Role::CommitteeAdmin as i32, Role::Judge as i32],
            etag: String::new(),
        })
        .await;
    assert_code(self_change, Code::PermissionDenied);
    let empty = admin
        .users()
        .set_user_roles(pb::SetUserRolesRequest { id: staff_user.id.clone(), roles: vec![], etag: String::new() })
        .await;
    assert_eq!(violated_field(&assert_code(empty, Code::InvalidArgument)), "roles");

    // A legitimate change applies at once: the old token is refused, a new sign-in carries the roles.
    let changed = admin
        .users()
        .set_user_roles(pb::SetUserRolesRequest {
            id: staff_user.id.clone(),
            roles: vec![Role::Staff as i32, Role::Judge as i32],
            etag: staff_user.etag.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(changed.roles, vec![Role::Staff as i32, Role::Judge as i32]);
    assert_code(staff.auth().who_am_i(pb::WhoAmIRequest {}).await, Code::Unauthenticated);
    let stale = admin
        .users()
        .set_user_roles(pb::SetUserRolesRequest {
            id: staff_user.id.clone(),
            roles: vec![Role::Staff as i32],
            etag: staff_user.etag.clone(),
        })
        .await;
    assert_code(stale, Code::Aborted);
    let again = app.login("130528", "liming", PASSWORD).await.unwrap();
    assert_eq!(again.user.roles, vec![Role::Staff as i32, Role::Judge as i32]);
    app.stop().await;
}

#[tokio::test]
async fn a_province_admin_sees_its_subtree_but_not_its_users() {
    let app = spawn_app().await;
    let tree = seed_tree(&app).await;
    let province = app.login("130000", "admin", PASSWORD).await.unwrap();
    let subtree = province
        .committees()
        .list_subtree(pb::ListSubtreeRequest { id: tree.hebei.id.clone(), ..Default::default() })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(subtree.total_size, 3);
    let names: Vec<_> = subtree.committees.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["邢台市政协", "临城县政协", "宁晋县政协"]);
    // Zhejiang is out of sight.
    let all = province.committees().list_committees(pb::ListCommitteesRequest::default()).await.unwrap().into_inner();
    assert!(all.committees.iter().all(|c| c.code.starts_with("13")));
    assert_code(
        province
            .committees()
            .list_subtree(pb::ListSubtreeRequest { id: tree.zhejiang.id.clone(), ..Default::default() })
            .await,
        Code::NotFound,
    );

    // Users below stay private.
    let users = province
        .users()
        .list_users(pb::ListUsersRequest { committee_id: tree.ningjin.id.clone(), ..Default::default() })
        .await;
    assert_code(users, Code::NotFound);
    // A province admin creates a city under itself, but not a county two levels down.
    let city = province
        .committees()
        .create_committee(committee(
            "130600",
            "保定市政协",
            xieshang_proto::common::v1::CommitteeLevel::City,
            &tree.hebei.id,
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(city.parent_code, "130000");
    let county = province
        .committees()
        .create_committee(committee(
            "130529",
            "巨鹿县政协",
            xieshang_proto::common::v1::CommitteeLevel::County,
            &tree.xingtai.id,
        ))
        .await;
    assert_code(county, Code::PermissionDenied);
    app.stop().await;
}
