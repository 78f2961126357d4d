//! Every mutation leaves an audit row, and its event goes out through the
//! outbox to the bus.

use xieshang_proto::common::v1::Role;
use xieshang_proto::events::v1::event::Payload;
use xieshang_proto::tenants::v1 as pb;
use xieshang_tests::*;

#[tokio::test]
async fn mutations_are_audited_with_actor_method_and_changes() {
    let app = spawn_app().await;
    let tree = seed_tree(&app).await;
    let admin = app.login("130528", "admin", PASSWORD).await.unwrap();
    let created = create_user(&admin, &tree.ningjin.id, "liuyang", "刘洋", &[Role::Staff]).await;

    let entries = admin
        .audit()
        .list_audit_entries(pb::ListAuditEntriesRequest {
            committee_id: tree.ningjin.id.clone(),
            target_type: "user".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .entries;
    let entry = entries.iter().find(|e| e.target_id == created.id).expect("an audit row for the new user");
    assert_eq!(entry.method, "/xieshang.tenants.v1.UserService/CreateUser");
    assert_eq!(entry.actor_username, "admin");
    assert_eq!(entry.actor_user_id, admin.user.id);
    assert_eq!(entry.committee_id, tree.ningjin.id);
    assert!(
        entry.changes_json.contains("liuyang") && entry.changes_json.contains("ROLE_STAFF"),
        "{}",
        entry.changes_json
    );
    assert!(!entry.changes_json.contains(PASSWORD), "passwords never reach the audit log");

    // The operator's creation of the committee is in the committee's log, newest first.
    let op = app.operator().await;
    let committee_log = op
        .audit()
        .list_audit_entries(pb::ListAuditEntriesRequest {
            committee_id: tree.ningjin.id.clone(),
            target_type: "committee".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .entries;
    assert_eq!(committee_log.len(), 1);
    assert_eq!(committee_log[0].method, "/xieshang.tenants.v1.CommitteeService/CreateCommittee");
    assert_eq!(committee_log[0].actor_username, "operator");

    // Sign-ins are audited too; the platform's own log holds the bootstrap.
    let platform =
        op.audit().list_audit_entries(pb::ListAuditEntriesRequest::default()).await.unwrap().into_inner().entries;
    assert!(platform.iter().any(|e| e.method == "bootstrap"));
    assert!(platform.iter().any(|e| e.target_type == "session"));

    // Staff do not read the audit log.
    let staff = app.login("130528", "liuyang", PASSWORD).await.unwrap();
    let denied = staff
        .audit()
        .list_audit_entries(pb::ListAuditEntriesRequest { committee_id: tree.ningjin.id.clone(), ..Default::default() })
        .await;
    assert_code(denied, tonic::Code::PermissionDenied);
    app.stop().await;
}

#[tokio::test]
async fn events_reach_the_bus_with_their_committee_and_ancestors() {
    let app = spawn_app().await;
    let recorder = Recorder::on(&app);
    let tree = seed_tree(&app).await;

    let find_created = |code: &str| {
        recorder.events.lock().unwrap().iter().find_map(|e| match &e.payload {
            Some(Payload::CommitteeCreated(c)) if c.code == code => Some(e.clone()),
            _ => None,
        })
    };
    eventually("宁晋县's CommitteeCreated", async || find_created("130528").is_some()).await;
    let event = find_created("130528").unwrap();
    assert_eq!(event.committee_id, tree.ningjin.id);
    assert_eq!(event.ancestor_committee_ids, vec![tree.xingtai.id.clone(), tree.hebei.id.clone()]);
    assert!(!event.actor_user_id.is_empty());

    // 7 committees and 7 admins, in the order they were made.
    eventually("every seed event", async || recorder.snapshot().len() >= 14).await;
    let events = recorder.snapshot();
    let ids: Vec<_> = events.iter().map(|e| e.id.clone()).collect();
    let mut sorted = ids.clone();
    sorted.sort();
    assert_eq!(ids, sorted, "published in outbox order");
    let users = events.iter().filter(|e| matches!(e.payload, Some(Payload::UserCreated(_)))).count();
    assert_eq!(users, 7);

    // Nothing is left unpublished.
    let db = app.running.db.clone();
    let pending = async || {
        use sea_orm::ConnectionTrait;
        let tx = db.begin(xieshang_platform::db::Scope::System).await.unwrap();
        let row = tx
            .query_one_raw(sea_orm::Statement::from_string(
                db.backend(),
                "SELECT count(*) AS n FROM outbox WHERE published_at IS NULL",
            ))
            .await
            .unwrap()
            .unwrap();
        tx.commit().await.unwrap();
        row.try_get::<i64>("", "n").unwrap()
    };
    eventually("an empty outbox", async || pending().await == 0).await;
    app.stop().await;
}
