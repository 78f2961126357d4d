//! Member studios (委员工作室) in 宁晋县政协: a studio with its members,
//! service items and star history; the public's sign-in-free request with its
//! tracking code before and after a studio member answers; staff marking it
//! turned into a draft; validation and the per-address rate limit; and the
//! boundaries — a member outside the studio gets NOT_FOUND (the request is
//! not revealed to them, like another committee's), 临城县 sees nothing.

use tonic::Code;
use tonic::transport::Channel;
use xieshang_proto::common::v1::Date;
use xieshang_proto::membership::v1 as pm;
use xieshang_proto::membership::v1::studio_service_client::StudioServiceClient;
use xieshang_tests::*;

use crate::membership::{create, ningjin, this_year};

type Studios = StudioServiceClient<Authed>;

fn studios(s: &Session) -> Studios {
    StudioServiceClient::with_interceptor(s.channel.clone(), s.bearer())
}

fn public(app: &TestApp) -> StudioServiceClient<Channel> {
    StudioServiceClient::new(app.channel.clone())
}

fn date(month: i32, day: i32) -> Option<Date> {
    Some(Date { year: this_year(), month, day })
}

fn request(code: &str, studio: &str, content: &str, phone: &str) -> pm::SubmitStudioRequestRequest {
    pm::SubmitStudioRequestRequest {
        committee_code: code.into(),
        studio_id: studio.into(),
        kind: pm::StudioRequestKind::Help as i32,
        content: content.into(),
        contact: Some(pm::StudioContact { name: "王大妈".into(), phone: phone.into() }),
    }
}

fn rate(studio: &str, stars: i32, month: i32, note: &str) -> pm::RateStudioRequest {
    pm::RateStudioRequest { studio_id: studio.into(), stars, date: date(month, 1), note: note.into() }
}

/// 宁晋县 with 张建国 (account) and 王志强 (no account) in a studio, and 李秀英
/// (account) outside it. Returns (ningjin, studio).
async fn studio_fixture(app: &TestApp) -> (crate::membership::Ningjin, pm::Studio) {
    let n = ningjin(app).await;
    let mut c = n.staff.membership();
    let mut zhang = n.member("张建国", "13052819700315123", "13831951234");
    zhang.user_id = n.zhang.user.id.clone();
    let zhang = create(&mut c, zhang).await.unwrap();
    let mut li = n.member("李秀英", "13052819800612234", "13931955678");
    li.user_id = n.li.user.id.clone();
    create(&mut c, li).await.unwrap();
    let wang = create(&mut c, n.member("王志强", "13052819750820345", "13731950001")).await.unwrap();
    let studio = studios(&n.staff)
        .create_studio(pm::CreateStudioRequest {
            name: "张建国委员工作室".into(),
            sector_id: n.sector_economy.clone(),
            address: "宁晋县凤凰镇政府二楼".into(),
            member_ids: vec![zhang.id.clone(), wang.id.clone()],
            service_items: vec!["政策咨询".into(), "法律援助".into(), "企业帮扶".into()],
        })
        .await
        .unwrap()
        .into_inner();
    (n, studio)
}

#[tokio::test]
async fn studio_request_is_submitted_publicly_answered_by_a_studio_member_and_tracked() {
    let app = spawn_app().await;
    let (n, studio) = studio_fixture(&app).await;
    let mut staff = studios(&n.staff);

    // The studio with its members and items; no rating yet.
    let names: Vec<&str> = studio.members.iter().map(|m| m.name.as_str()).collect();
    assert_eq!(names, ["张建国", "王志强"]);
    assert_eq!(studio.service_items, ["政策咨询", "法律援助", "企业帮扶"]);
    assert_eq!(studio.sector_id, n.sector_economy);
    assert_eq!(studio.stars, 0);

    // Star history: the current rating is the latest by date.
    staff.rate_studio(rate(&studio.id, 5, 6, "群众满意度高")).await.unwrap();
    let rated = staff.rate_studio(rate(&studio.id, 3, 2, "起步阶段")).await.unwrap().into_inner();
    assert_eq!(rated.stars, 5);
    assert_eq!(rated.ratings.iter().map(|r| r.stars).collect::<Vec<_>>(), [3, 5]);
    assert_eq!(rated.ratings[1].rated_by_user_id, n.staff.user.id);
    let too_many = staff.rate_studio(rate(&studio.id, 6, 7, "")).await;
    assert_eq!(violated_field(&assert_code(too_many, Code::InvalidArgument)), "stars");
    assert_code(studios(&n.zhang).rate_studio(rate(&studio.id, 4, 7, "")).await, Code::PermissionDenied);
    let listed = staff.list_studios(pm::ListStudiosRequest::default()).await.unwrap().into_inner().studios;
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].stars, 5);

    // The public, without a token ("码上商").
    let tracking = public(&app)
        .submit_studio_request(request("130528", &studio.id, "小区门口路灯坏了一个月，能否帮忙反映？", "138-3190-1234"))
        .await
        .unwrap()
        .into_inner()
        .tracking_code;
    assert!(tracking.starts_with("130528-"), "{tracking}");
    let status = public(&app)
        .get_studio_request_status(pm::GetStudioRequestStatusRequest { tracking_code: tracking.clone() })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(status.state, pm::StudioRequestState::Received as i32);
    assert_eq!(status.answer, "");
    assert_code(
        public(&app)
            .get_studio_request_status(pm::GetStudioRequestStatusRequest {
                tracking_code: "130528-000000000000".into(),
            })
            .await,
        Code::NotFound,
    );
    assert_code(
        public(&app).list_studio_requests(pm::ListStudioRequestsRequest::default()).await,
        Code::Unauthenticated,
    );

    // Staff see it with the phone masked; the studio member sees it; 李秀英 (not in the studio) does not.
    let all = staff.list_studio_requests(pm::ListStudioRequestsRequest::default()).await.unwrap().into_inner().requests;
    assert_eq!(all.len(), 1);
    let req = &all[0];
    assert_eq!(req.contact_phone, "138****1234");
    assert_eq!(req.contact_name, "王大妈");
    assert_eq!(req.studio_name, "张建国委员工作室");
    assert_eq!(req.kind, pm::StudioRequestKind::Help as i32);
    let zhang_sees = studios(&n.zhang).list_studio_requests(pm::ListStudioRequestsRequest::default()).await.unwrap();
    assert_eq!(zhang_sees.into_inner().requests.len(), 1);
    let li_sees = studios(&n.li).list_studio_requests(pm::ListStudioRequestsRequest::default()).await.unwrap();
    assert!(li_sees.into_inner().requests.is_empty());

    // A member outside the studio cannot answer: NOT_FOUND (not revealed).
    let answer = |text: &str| pm::AnswerStudioRequestRequest { id: req.id.clone(), answer: text.into() };
    assert_code(studios(&n.li).answer_studio_request(answer("我来答复")).await, Code::NotFound);
    let answered =
        studios(&n.zhang).answer_studio_request(answer("已联系镇政府，路灯本周内修复。")).await.unwrap().into_inner();
    assert_eq!(answered.state, pm::StudioRequestState::Answered as i32);
    assert_eq!(answered.answered_by_user_id, n.zhang.user.id);
    assert_code(staff.answer_studio_request(answer("再答一次")).await, Code::FailedPrecondition);

    // The public sees the new state and the answer.
    let status = public(&app)
        .get_studio_request_status(pm::GetStudioRequestStatusRequest { tracking_code: tracking.to_lowercase() })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(status.state, pm::StudioRequestState::Answered as i32);
    assert_eq!(status.answer, "已联系镇政府，路灯本周内修复。");

    // Staff turn it into an information draft; a member may not.
    let mark =
        pm::MarkStudioRequestDraftedRequest { id: req.id.clone(), kind: pm::StudioDraftKind::Information as i32 };
    assert_code(studios(&n.zhang).mark_studio_request_drafted(mark.clone()).await, Code::PermissionDenied);
    let drafted = staff.mark_studio_request_drafted(mark.clone()).await.unwrap().into_inner();
    assert_eq!(drafted.draft_kind, pm::StudioDraftKind::Information as i32);
    assert_eq!(drafted.drafted_by_user_id, n.staff.user.id);
    assert_code(staff.mark_studio_request_drafted(mark).await, Code::FailedPrecondition);

    // 临城县 sees nothing of 宁晋县's studios.
    let lincheng = app.login("130522", "admin", PASSWORD).await.unwrap();
    let mut other = studios(&lincheng);
    assert!(other.list_studios(pm::ListStudiosRequest::default()).await.unwrap().into_inner().studios.is_empty());
    assert_code(other.get_studio(pm::GetStudioRequest { id: studio.id.clone() }).await, Code::NotFound);
    assert_code(other.rate_studio(rate(&studio.id, 1, 7, "")).await, Code::NotFound);
    let theirs = other.list_studio_requests(pm::ListStudioRequestsRequest::default()).await.unwrap();
    assert!(theirs.into_inner().requests.is_empty());
    assert_code(
        other.answer_studio_request(pm::AnswerStudioRequestRequest { id: req.id.clone(), answer: "x".into() }).await,
        Code::NotFound,
    );
    // Nor does a public request addressed to 临城县 reach 宁晋县's studio.
    assert_code(
        public(&app).submit_studio_request(request("130522", &studio.id, "咨询", "13831901234")).await,
        Code::NotFound,
    );
    app.stop().await;
}

#[tokio::test]
async fn public_studio_requests_are_validated_and_rate_limited() {
    let app = spawn_app().await;
    let (_n, studio) = studio_fixture(&app).await;
    let mut c = public(&app);

    let long = "长".repeat(1001);
    let too_long = c.submit_studio_request(request("130528", &studio.id, &long, "13831901234")).await;
    assert_eq!(violated_field(&assert_code(too_long, Code::InvalidArgument)), "content");
    let bad_phone = c.submit_studio_request(request("130528", &studio.id, "咨询", "12345678901")).await;
    assert_eq!(violated_field(&assert_code(bad_phone, Code::InvalidArgument)), "contact.phone");
    let no_kind = pm::SubmitStudioRequestRequest { kind: 0, ..request("130528", &studio.id, "咨询", "13831901234") };
    assert_eq!(violated_field(&assert_code(c.submit_studio_request(no_kind).await, Code::InvalidArgument)), "kind");

    // Five pass (the refused ones above do not count); the sixth is refused.
    for i in 1..=5 {
        c.submit_studio_request(request("130528", &studio.id, &format!("第{i}条咨询"), "13831901234"))
            .await
            .unwrap_or_else(|e| panic!("submission {i}: {e:?}"));
    }
    let sixth = c.submit_studio_request(request("130528", &studio.id, "第6条咨询", "13831901234")).await;
    let status = assert_code(sixth, Code::ResourceExhausted);
    assert!(status.message().contains("too many"), "{status:?}");
    app.stop().await;
}
