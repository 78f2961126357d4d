//! Terms (届) and plenary sessions (次会议).

use tonic::Code;
use xieshang_proto::common::v1::Date;
use xieshang_proto::tenants::v1 as pb;
use xieshang_tests::*;

fn date(year: i32, month: i32, day: i32) -> Option<Date> {
    Some(Date { year, month, day })
}

#[tokio::test]
async fn terms_and_sessions_are_numbered_in_order() {
    let app = spawn_app().await;
    let tree = seed_tree(&app).await;
    let admin = app.login("130528", "admin", PASSWORD).await.unwrap();
    let mut c = admin.committees();
    let term = |number, start| pb::CreateTermRequest {
        committee_id: tree.ningjin.id.clone(),
        term: Some(pb::Term { number, start_date: start, ..Default::default() }),
    };
    let session = |start| pb::CreatePlenarySessionRequest {
        committee_id: tree.ningjin.id.clone(),
        session: Some(pb::PlenarySession { start_date: start, ..Default::default() }),
    };

    assert_code(c.create_plenary_session(session(date(2021, 12, 1))).await, Code::FailedPrecondition);
    c.create_term(term(9, date(2016, 12, 20))).await.unwrap();
    let tenth = c.create_term(term(10, date(2021, 12, 15))).await.unwrap().into_inner();
    let older = c.create_term(term(10, date(2022, 1, 1))).await;
    assert_eq!(violated_field(&assert_code(older, Code::InvalidArgument)), "term.number");
    let impossible = c.create_term(term(11, date(2026, 2, 30))).await;
    assert_eq!(violated_field(&assert_code(impossible, Code::InvalidArgument)), "term.start_date");
    let early = c.create_plenary_session(session(date(2020, 1, 1))).await;
    assert_eq!(violated_field(&assert_code(early, Code::InvalidArgument)), "session.start_date");

    let first = c.create_plenary_session(session(date(2021, 12, 15))).await.unwrap().into_inner();
    let second = c.create_plenary_session(session(date(2023, 1, 10))).await.unwrap().into_inner();
    assert_eq!((first.number, second.number), (1, 2));
    assert_eq!(second.term_id, tenth.id);

    let terms =
        c.list_terms(pb::ListTermsRequest { committee_id: tree.ningjin.id.clone() }).await.unwrap().into_inner().terms;
    assert_eq!(terms.iter().map(|t| t.number).collect::<Vec<_>>(), [10, 9]);
    assert_eq!(terms[0].latest_session_number, 2);
    assert_eq!(terms[1].end_date, date(2021, 12, 15), "the ninth term ended when the tenth began");

    let me = c
        .get_committee(pb::GetCommitteeRequest { id: tree.ningjin.id.clone(), code: String::new() })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(me.current_term.map(|t| (t.number, t.latest_session_number)), Some((10, 2)));
    let sessions = c
        .list_plenary_sessions(pb::ListPlenarySessionsRequest { term_id: tenth.id.clone() })
        .await
        .unwrap()
        .into_inner()
        .sessions;
    assert_eq!(sessions.len(), 2);

    // Another county cannot read them, nor add to them.
    let other = app.login("130522", "admin", PASSWORD).await.unwrap();
    assert_code(
        other.committees().list_plenary_sessions(pb::ListPlenarySessionsRequest { term_id: tenth.id.clone() }).await,
        Code::NotFound,
    );
    assert_code(other.committees().create_term(term(11, date(2026, 12, 1))).await, Code::NotFound);
    app.stop().await;
}
