//! Sign-in, refresh with rotation, logout, one-time passwords.

use tonic::Code;
use xieshang_proto::common::v1::Role;
use xieshang_proto::tenants::v1 as pb;
use xieshang_tests::*;

#[tokio::test]
async fn login_refresh_and_logout() {
    let app = spawn_app().await;
    seed_tree(&app).await;
    let admin = app.login("130528", "admin", PASSWORD).await.unwrap();
    assert_eq!(admin.user.roles, vec![Role::CommitteeAdmin as i32]);

    let me = admin.auth().who_am_i(pb::WhoAmIRequest {}).await.unwrap().into_inner();
    assert_eq!(me.user.unwrap().display_name, "张国强");
    assert_eq!(me.committee.unwrap().name, "宁晋县政协");

    // Refresh rotates: the new pair works, the old refresh token does not.
    let mut auth = AuthServiceClient::new(app.channel.clone());
    let fresh =
        auth.refresh(pb::RefreshRequest { refresh_token: admin.refresh_token.clone() }).await.unwrap().into_inner();
    assert_ne!(fresh.refresh_token, admin.refresh_token);
    let replay = auth.refresh(pb::RefreshRequest { refresh_token: admin.refresh_token.clone() }).await;
    assert_code(replay, Code::Unauthenticated);
    // Replaying a rotated token ends the whole session, the fresh token too.
    assert_code(
        auth.refresh(pb::RefreshRequest { refresh_token: fresh.refresh_token.clone() }).await,
        Code::Unauthenticated,
    );

    // Logout ends the session: its access token stops working at once.
    let again = app.login("130528", "admin", PASSWORD).await.unwrap();
    again.auth().logout(pb::LogoutRequest {}).await.unwrap();
    assert_code(again.auth().who_am_i(pb::WhoAmIRequest {}).await, Code::Unauthenticated);
    assert_code(
        auth.refresh(pb::RefreshRequest { refresh_token: again.refresh_token.clone() }).await,
        Code::Unauthenticated,
    );
    app.stop().await;
}

#[tokio::test]
async fn wrong_credentials_and_missing_tokens_are_unauthenticated() {
    let app = spawn_app().await;
    seed_tree(&app).await;
    assert_code(app.login("130528", "admin", "wrong-password").await, Code::Unauthenticated);
    assert_code(app.login("130528", "nobody", PASSWORD).await, Code::Unauthenticated);
    assert_code(app.login("130522", "admin", "wrong-password").await, Code::Unauthenticated);
    assert_code(app.login("999999", "admin", PASSWORD).await, Code::Unauthenticated);
    let empty = app.login("130528", "", PASSWORD).await;
    assert_eq!(violated_field(&assert_code(empty, Code::InvalidArgument)), "username");

    let anonymous = app.anonymous_committees().list_committees(pb::ListCommitteesRequest::default()).await;
    assert_code(anonymous, Code::Unauthenticated);
    let mut forged = app.operator().await;
    forged.access_token.push('x');
    assert_code(forged.committees().list_committees(pb::ListCommitteesRequest::default()).await, Code::Unauthenticated);
    app.stop().await;
}

#[tokio::test]
async fn a_one_time_password_must_be_changed_before_anything_else() {
    let app = spawn_app().await;
    let tree = seed_tree(&app).await;
    let admin = app.login("130528", "admin", PASSWORD).await.unwrap();
    let created = admin
        .users()
        .create_user(pb::CreateUserRequest {
            user: Some(pb::User {
                committee_id: tree.ningjin.id.clone(),
                username: "liuyang".into(),
                display_name: "刘洋".into(),
                roles: vec![Role::Staff as i32],
                ..Default::default()
            }),
            password: String::new(),
        })
        .await
        .unwrap()
        .into_inner();
    let one_time = created.one_time_password;
    assert_eq!(one_time.chars().count(), 12);
    assert!(created.user.unwrap().must_change_password);

    let staff = app.login("130528", "liuyang", &one_time).await.unwrap();
    assert_code(
        staff.committees().list_committees(pb::ListCommitteesRequest::default()).await,
        Code::FailedPrecondition,
    );
    let short = staff
        .users()
        .change_password(pb::ChangePasswordRequest { current_password: one_time.clone(), new_password: "short".into() })
        .await;
    assert_eq!(violated_field(&assert_code(short, Code::InvalidArgument)), "new_password");
    staff
        .users()
        .change_password(pb::ChangePasswordRequest {
            current_password: one_time.clone(),
            new_password: "刘洋的新密码-2026".into(),
        })
        .await
        .unwrap();
    assert_code(app.login("130528", "liuyang", &one_time).await, Code::Unauthenticated);
    let staff = app.login("130528", "liuyang", "刘洋的新密码-2026").await.unwrap();
    staff.committees().list_committees(pb::ListCommitteesRequest::default()).await.expect("works after the change");
    app.stop().await;
}

#[tokio::test]
async fn disabling_a_user_ends_their_sessions_and_refuses_sign_in() {
    let app = spawn_app().await;
    let tree = seed_tree(&app).await;
    let admin = app.login("130528", "admin", PASSWORD).await.unwrap();
    let staff_user = create_user(&admin, &tree.ningjin.id, "wangfang", "王芳", &[Role::Staff]).await;
    let staff = app.login("130528", "wangfang", PASSWORD).await.unwrap();
    admin.users().disable_user(pb::DisableUserRequest { id: staff_user.id.clone() }).await.unwrap();
    assert_code(staff.auth().who_am_i(pb::WhoAmIRequest {}).await, Code::Unauthenticated);
    assert_code(app.login("130528", "wangfang", PASSWORD).await, Code::FailedPrecondition);
    assert_code(
        admin.users().disable_user(pb::DisableUserRequest { id: staff_user.id.clone() }).await,
        Code::FailedPrecondition,
    );
    admin.users().enable_user(pb::EnableUserRequest { id: staff_user.id.clone() }).await.unwrap();
    app.login("130528", "wangfang", PASSWORD).await.expect("enabled again");

    let reset = admin
        .users()
        .reset_password(pb::ResetPasswordRequest { id: staff_user.id.clone() })
        .await
        .unwrap()
        .into_inner();
    assert_code(app.login("130528", "wangfang", PASSWORD).await, Code::Unauthenticated);
    let signed_in = app.login("130528", "wangfang", &reset.one_time_password).await.unwrap();
    assert!(signed_in.user.must_change_password);
    app.stop().await;
}
