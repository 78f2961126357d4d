//! PostgreSQL row-level security: the second wall. These tests run raw SQL
//! that "forgets" its tenant filter and show that the database still
//! refuses other tenants' rows. (SQLite has no RLS; there the tests return.)

use sea_orm::{ConnectionTrait, DbBackend, Statement};
use xieshang_platform::db::Scope;
use xieshang_platform::ids::CommitteeId;
use xieshang_proto::common::v1::Role;
use xieshang_tests::*;

fn sql(s: &str) -> Statement {
    Statement::from_string(DbBackend::Postgres, s)
}

#[tokio::test]
async fn a_query_without_a_tenant_filter_sees_only_its_own_tenant() {
    let app = spawn_app().await;
    if app.backend != Backend::Postgres {
        return app.stop().await;
    }
    let tree = seed_tree(&app).await;
    let lincheng = app.login("130522", "admin", PASSWORD).await.unwrap();
    create_user(&lincheng, &tree.lincheng.id, "sunli", "孙丽", &[Role::Staff]).await;
    let ningjin = CommitteeId::parse("id", &tree.ningjin.id).unwrap();
    let db = app.running.db.clone();

    let tx = db.begin(Scope::Committee(ningjin)).await.unwrap();
    let rows = tx.query_all_raw(sql("SELECT username, committee_id::text AS committee FROM users")).await.unwrap();
    let seen: Vec<(String, String)> =
        rows.iter().map(|r| (r.try_get("", "username").unwrap(), r.try_get("", "committee").unwrap())).collect();
    assert_eq!(seen, vec![("admin".to_owned(), tree.ningjin.id.clone())], "only 宁晋's own user");
    let audit = tx.query_all_raw(sql("SELECT committee_id::text AS committee FROM audit_log")).await.unwrap();
    assert!(!audit.is_empty());
    assert!(audit.iter().all(|r| r.try_get::<String>("", "committee").unwrap() == tree.ningjin.id));

    // Writing a row for another committee is refused by the policy.
    let insert = format!(
        "INSERT INTO audit_log (id, committee_id, actor_username, method, target_type, target_id, changes, created_at) \
         VALUES (gen_random_uuid(), '{}', 'x', 'x', 'x', 'x', '{{}}', now())",
        tree.lincheng.id
    );
    let err = tx.execute_unprepared(&insert).await.expect_err("RLS refuses a foreign committee's row");
    assert!(err.to_string().contains("row-level security"), "{err}");
    drop(tx);

    // No tenant set at all: no rows.
    let none = db.connection().query_one_raw(sql("SELECT count(*) AS n FROM users")).await.unwrap().unwrap();
    assert_eq!(none.try_get::<i64>("", "n").unwrap(), 0);
    app.stop().await;
}

#[tokio::test]
async fn the_application_role_owns_nothing_and_cannot_bypass_rls() {
    let app = spawn_app().await;
    if app.backend != Backend::Postgres {
        return app.stop().await;
    }
    let db = app.running.db.clone();
    let row = db
        .connection()
        .query_one_raw(sql(
            "SELECT current_user AS me, r.rolsuper OR r.rolbypassrls AS bypass, \
                    (SELECT count(*) FROM pg_tables WHERE schemaname = 'public' AND tableowner = current_user) AS owned \
             FROM pg_roles r WHERE r.rolname = current_user",
        ))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(row.try_get::<String>("", "me").unwrap(), "xieshang_app");
    assert!(!row.try_get::<bool>("", "bypass").unwrap());
    assert_eq!(row.try_get::<i64>("", "owned").unwrap(), 0);
    let forced = db
        .connection()
        .query_all_raw(sql("SELECT relname FROM pg_class WHERE relkind = 'r' AND relforcerowsecurity ORDER BY relname"))
        .await
        .unwrap();
    let tables: Vec<String> = forced.iter().map(|r| r.try_get("", "relname").unwrap()).collect();
    for table in ["audit_log", "auth_sessions", "outbox", "plenary_sessions", "terms", "user_roles", "users"] {
        assert!(tables.iter().any(|t| t == table), "{table} lacks FORCE ROW LEVEL SECURITY: {tables:?}");
    }
    app.stop().await;
}
