//! Social-conditions information (社情民意信息): submission, review, the
//! configurable length limit, and reporting upward — the one record that
//! crosses committees, and nothing else does.
//!
//! What the parent's adoption does to the county's original arrives through
//! events; that consumer is the proposals service's own, and its test lives
//! with it (services/proposals/tests).

use tonic::Code;
use xieshang_proto::common::v1::{CommitteeLevel, Role};
use xieshang_proto::events::v1::event::Payload;
use xieshang_proto::proposals::v1 as pp;
use xieshang_proto::tenants::v1 as pb;
use xieshang_tests::*;

/// 宁晋县 with its information officer and members, 邢台市 and 河北省 with
/// theirs, and 临城县 (a sibling county) with its own officer.
struct Fixture {
    tree: Tree,
    county_admin: Session,
    county_staff: Session,
    member: Session,
    co_author: Session,
    other_member: Session,
    city_staff: Session,
    province_staff: Session,
    sibling_staff: Session,
}

async fn fixture(app: &TestApp) -> Fixture {
    let tree = seed_tree(app).await;
    let county_admin = app.login("130528", "admin", PASSWORD).await.unwrap();
    let city_admin = app.login("130500", "admin", PASSWORD).await.unwrap();
    let province_admin = app.login("130000", "admin", PASSWORD).await.unwrap();
    let sibling_admin = app.login("130522", "admin", PASSWORD).await.unwrap();
    let county = tree.ningjin.id.clone();
    create_user(&county_admin, &county, "liuyang", "刘洋", &[Role::Staff]).await;
    create_user(&county_admin, &county, "wangjianjun", "王建军", &[Role::Member]).await;
    create_user(&county_admin, &county, "lihongmei", "李红梅", &[Role::Member]).await;
    create_user(&county_admin, &county, "zhaomin", "赵敏", &[Role::Member]).await;
    create_user(&city_admin, &tree.xingtai.id, "chenjing", "陈静", &[Role::Staff]).await;
    create_user(&province_admin, &tree.hebei.id, "sunwei", "孙伟", &[Role::Staff]).await;
    create_user(&sibling_admin, &tree.lincheng.id, "zhoutao", "周涛", &[Role::Staff]).await;
    Fixture {
        county_staff: app.login("130528", "liuyang", PASSWORD).await.unwrap(),
        member: app.login("130528", "wangjianjun", PASSWORD).await.unwrap(),
        co_author: app.login("130528", "lihongmei", PASSWORD).await.unwrap(),
        other_member: app.login("130528", "zhaomin", PASSWORD).await.unwrap(),
        city_staff: app.login("130500", "chenjing", PASSWORD).await.unwrap(),
        province_staff: app.login("130000", "sunwei", PASSWORD).await.unwrap(),
        sibling_staff: app.login("130522", "zhoutao", PASSWORD).await.unwrap(),
        county_admin,
        tree,
    }
}

const BODY: &str = "近期宁晋县部分乡镇反映，农村集中供水工程老化，夏季用水高峰时段水压不足，\
部分村庄每天仅能供水四小时。建议县水利部门摸排管网老化情况，分批更新改造，并建立村级管水员制度。";

fn report(title: &str, body: &str) -> pp::SubmitInformationRequest {
    pp::SubmitInformationRequest {
        information: Some(pp::InformationItem { title: title.into(), body: body.into(), ..Default::default() }),
    }
}

fn state(i: &pp::InformationItem) -> pp::InformationState {
    pp::InformationState::try_from(i.state).unwrap()
}

fn get(id: &str) -> pp::GetInformationRequest {
    pp::GetInformationRequest { id: id.into() }
}

#[tokio::test]
async fn members_submit_and_the_office_edits_adopts_or_declines() {
    let app = spawn_app().await;
    let recorder = Recorder::on(&app);
    let f = fixture(&app).await;
    let (mut member, mut staff, mut other) =
        (f.member.information(), f.county_staff.information(), f.other_member.information());

    let mut request = report("关于解决农村集中供水水压不足问题的建议", BODY);
    request.information.as_mut().unwrap().author_user_ids = vec![f.co_author.user.id.clone()];
    let item = member.submit_information(request).await.unwrap().into_inner();
    assert_eq!(state(&item), pp::InformationState::Submitted);
    assert_eq!(item.committee_id, f.tree.ningjin.id);
    assert_eq!(item.author_user_ids, vec![f.member.user.id.clone(), f.co_author.user.id.clone()]);
    assert_eq!(item.author_names, vec!["王建军".to_owned(), "李红梅".to_owned()]);
    assert_eq!(
        (item.origin_committee_id.as_str(), item.origin_item_id.as_str()),
        (f.tree.ningjin.id.as_str(), item.id.as_str())
    );

    // One issue, at most 1,500 characters by default; the limit is the committee's.
    let at_limit = member.submit_information(report("关于规范农村集市管理的建议", &"集".repeat(1500))).await;
    assert!(at_limit.is_ok(), "{at_limit:?}");
    let too_long = member.submit_information(report("关于规范农村集市管理的建议", &"集".repeat(1501))).await;
    assert_eq!(violated_field(&assert_code(too_long, Code::InvalidArgument)), "information.body");
    let no_title = member.submit_information(report(" ", BODY)).await;
    assert_eq!(violated_field(&assert_code(no_title, Code::InvalidArgument)), "information.title");
    let mut settings = f.county_staff.proposals();
    let s = settings.get_proposal_settings(pp::GetProposalSettingsRequest {}).await.unwrap().into_inner();
    assert_eq!(s.information_body_max_chars, 1500);
    settings
        .update_proposal_settings(pp::UpdateProposalSettingsRequest {
            settings: Some(pp::ProposalSettings { information_body_max_chars: 100, ..Default::default() }),
            update_mask: Some(prost_types::FieldMask { paths: vec!["information_body_max_chars".into()] }),
            etag: s.etag,
        })
        .await
        .unwrap();
    let over_new_limit = member.submit_information(report("关于规范农村集市管理的建议", &"集".repeat(101))).await;
    assert_eq!(violated_field(&assert_code(over_new_limit, Code::InvalidArgument)), "information.body");

    // Co-authors are members or staff of the same committee.
    let mut stranger = report("关于加强农村道路养护的建议", BODY);
    stranger.information.as_mut().unwrap().author_user_ids = vec![f.city_staff.user.id.clone()];
    let bad = member.submit_information(stranger).await;
    assert_eq!(violated_field(&assert_code(bad, Code::InvalidArgument)), "information.author_user_ids");
    // An admin without the member or staff role does not submit.
    assert_code(f.county_admin.information().submit_information(report("关于……", "……")).await, Code::PermissionDenied);

    // Who sees it: the authors and the office; another member does not.
    f.co_author.information().get_information(get(&item.id)).await.unwrap();
    assert_code(other.get_information(get(&item.id)).await, Code::NotFound);
    assert!(other.list_information(pp::ListInformationRequest::default()).await.unwrap().into_inner().items.is_empty());
    let mine = member.list_information(pp::ListInformationRequest::default()).await.unwrap().into_inner().items;
    assert_eq!(mine.len(), 2);
    assert_eq!(
        staff.list_information(pp::ListInformationRequest::default()).await.unwrap().into_inner().items.len(),
        2
    );

    // Members do not review; the office edits, then adopts.
    assert_code(
        member.adopt_information(pp::AdoptInformationRequest { id: item.id.clone() }).await,
        Code::PermissionDenied,
    );
    let edited = staff
        .edit_information(pp::EditInformationRequest {
            id: item.id.clone(),
            title: "关于加快农村供水管网改造的建议".into(),
            body: String::new(),
            etag: item.etag.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        (state(&edited), edited.title.as_str()),
        (pp::InformationState::Edited, "关于加快农村供水管网改造的建议")
    );
    let adopted =
        staff.adopt_information(pp::AdoptInformationRequest { id: item.id.clone() }).await.unwrap().into_inner();
    assert_eq!(state(&adopted), pp::InformationState::Adopted);
    let twice = assert_code(
        staff.adopt_information(pp::AdoptInformationRequest { id: item.id.clone() }).await,
        Code::FailedPrecondition,
    );
    assert_eq!(twice.message(), "information item is ADOPTED; only a SUBMITTED or EDITED item can be adopted");
    let late_edit = staff
        .edit_information(pp::EditInformationRequest {
            id: item.id.clone(),
            title: "新标题".into(),
            ..Default::default()
        })
        .await;
    assert!(assert_code(late_edit, Code::FailedPrecondition).message().contains("information item is ADOPTED"));

    // Declining needs a reason; an instruction needs an adopted item.
    let other_item = mine.iter().find(|i| i.id != item.id).unwrap();
    let no_reason = staff
        .decline_information(pp::DeclineInformationRequest { id: other_item.id.clone(), reason: String::new() })
        .await;
    assert_eq!(violated_field(&assert_code(no_reason, Code::InvalidArgument)), "reason");
    let early = staff
        .instruct_information(pp::InstructInformationRequest {
            id: other_item.id.clone(),
            leader: "县委书记 李某".into(),
            text: "请县市场监管局研究办理。".into(),
        })
        .await;
    assert!(assert_code(early, Code::FailedPrecondition).message().contains("information item is SUBMITTED"));
    let declined = staff
        .decline_information(pp::DeclineInformationRequest {
            id: other_item.id.clone(),
            reason: "内容空泛，缺少具体情况".into(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        (state(&declined), declined.decline_reason.as_str()),
        (pp::InformationState::Declined, "内容空泛，缺少具体情况")
    );
    let adopted_list = staff
        .list_information(pp::ListInformationRequest {
            state: pp::InformationState::Adopted as i32,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .items;
    assert_eq!(adopted_list.iter().map(|i| i.id.as_str()).collect::<Vec<_>>(), vec![item.id.as_str()]);

    // Events: submitted with its authors, adopted at the county's own level.
    let id = item.id.clone();
    let r = recorder.clone();
    eventually("InformationAdopted", async move || {
        r.find(|e| match &e.payload {
            Some(Payload::InformationAdopted(a)) if a.information_id == id => Some(()),
            _ => None,
        })
        .is_some()
    })
    .await;
    let submitted = recorder
        .find(|e| match &e.payload {
            Some(Payload::InformationSubmitted(s)) if s.information_id == item.id => Some(s.clone()),
            _ => None,
        })
        .expect("InformationSubmitted");
    assert_eq!(submitted.author_user_ids, item.author_user_ids);
    let (envelope, adopted_event) = recorder
        .find(|e| match &e.payload {
            Some(Payload::InformationAdopted(a)) if a.information_id == item.id => Some((e.clone(), a.clone())),
            _ => None,
        })
        .unwrap();
    assert_eq!(envelope.committee_id, f.tree.ningjin.id);
    assert_eq!(adopted_event.adopting_committee_id, f.tree.ningjin.id);
    assert_eq!(adopted_event.origin_committee_id, f.tree.ningjin.id);
    assert_eq!(adopted_event.adopting_level, CommitteeLevel::County as i32);
    assert_eq!(adopted_event.author_user_ids, item.author_user_ids);

    // Every review step is audited.
    let audit = f
        .county_admin
        .audit()
        .list_audit_entries(pb::ListAuditEntriesRequest {
            committee_id: f.tree.ningjin.id.clone(),
            target_type: "information".into(),
            page_size: 100,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .entries;
    let methods: Vec<&str> = audit.iter().filter(|e| e.target_id == item.id).map(|e| e.method.as_str()).collect();
    for rpc in ["SubmitInformation", "EditInformation", "AdoptInformation"] {
        let method = format!("/xieshang.proposals.v1.InformationService/{rpc}");
        assert!(methods.contains(&method.as_str()), "no audit row for {rpc}: {methods:?}");
    }
    app.stop().await;
}

#[tokio::test]
async fn a_county_reports_upward_and_the_city_sees_that_item_only() {
    let app = spawn_app().await;
    let recorder = Recorder::on(&app);
    let f = fixture(&app).await;
    let (mut member, mut county, mut city) =
        (f.member.information(), f.county_staff.information(), f.city_staff.information());
    let mut sibling = f.sibling_staff.information();

    // The county also has a proposal and an item it keeps to itself.
    let mut member_proposals = f.member.proposals();
    let proposal = member_proposals
        .create_proposal(pp::CreateProposalRequest {
            proposal: Some(pp::Proposal {
                kind: pp::ProposalKind::Individual as i32,
                title: "关于加快宁晋县盐碱地改良的建议".into(),
                body: "建议整合农田水利资金，推广暗管排盐。".into(),
                category: pp::ProposalCategory::Economic as i32,
                ..Default::default()
            }),
        })
        .await
        .unwrap()
        .into_inner();
    member_proposals.submit_proposal(pp::SubmitProposalRequest { id: proposal.id.clone() }).await.unwrap();
    let kept = member.submit_information(report("关于规范县城夜市管理的建议", BODY)).await.unwrap().into_inner();

    let original =
        member.submit_information(report("关于解决农村集中供水水压不足问题的建议", BODY)).await.unwrap().into_inner();
    county.adopt_information(pp::AdoptInformationRequest { id: original.id.clone() }).await.unwrap();
    assert_code(
        member.forward_information(pp::ForwardInformationRequest { id: original.id.clone() }).await,
        Code::PermissionDenied,
    );
    let forwarded = county
        .forward_information(pp::ForwardInformationRequest { id: original.id.clone() })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(forwarded.forwarded_to_committee_id, f.tree.xingtai.id);
    let again = county.forward_information(pp::ForwardInformationRequest { id: original.id.clone() }).await;
    assert!(assert_code(again, Code::FailedPrecondition).message().contains("already reported upward"));

    // The city receives a copy it works on in its own right.
    let received = city
        .list_information(pp::ListInformationRequest { received: Some(true), ..Default::default() })
        .await
        .unwrap()
        .into_inner()
        .items;
    assert_eq!(received.len(), 1);
    let copy = &received[0];
    assert_ne!(copy.id, original.id);
    assert_eq!(copy.committee_id, f.tree.xingtai.id);
    assert_eq!(copy.received_from_committee_id, f.tree.ningjin.id);
    assert_eq!(
        (copy.origin_committee_id.as_str(), copy.origin_item_id.as_str()),
        (f.tree.ningjin.id.as_str(), original.id.as_str())
    );
    assert_eq!((copy.title.as_str(), copy.body.as_str()), (original.title.as_str(), original.body.as_str()));
    assert_eq!(copy.author_names, vec!["王建军".to_owned()]);
    assert_eq!(state(copy), pp::InformationState::Submitted);

    // …and nothing else of the county: not its items, not its proposals.
    assert_eq!(city.list_information(pp::ListInformationRequest::default()).await.unwrap().into_inner().items.len(), 1);
    for id in [&original.id, &kept.id] {
        assert_code(city.get_information(get(id)).await, Code::NotFound);
    }
    let mut city_proposals = f.city_staff.proposals();
    assert_code(city_proposals.get_proposal(pp::GetProposalRequest { id: proposal.id.clone() }).await, Code::NotFound);
    assert!(
        city_proposals
            .list_proposals(pp::ListProposalsRequest::default())
            .await
            .unwrap()
            .into_inner()
            .proposals
            .is_empty()
    );
    // The county cannot reach the city's copy either.
    assert_code(county.get_information(get(&copy.id)).await, Code::NotFound);

    // The city adopts it and records its leader's instruction (批示).
    let adopted =
        city.adopt_information(pp::AdoptInformationRequest { id: copy.id.clone() }).await.unwrap().into_inner();
    assert_eq!(state(&adopted), pp::InformationState::Adopted);
    let instructed = city
        .instruct_information(pp::InstructInformationRequest {
            id: copy.id.clone(),
            leader: "邢台市委书记 王某".into(),
            text: "请市水利局会同宁晋县政府研究，年内拿出改造方案。".into(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(instructed.instruction_leader, "邢台市委书记 王某");
    let no_leader = city
        .instruct_information(pp::InstructInformationRequest {
            id: copy.id.clone(),
            leader: String::new(),
            text: "阅。".into(),
        })
        .await;
    assert_eq!(violated_field(&assert_code(no_leader, Code::InvalidArgument)), "leader");

    // The events credit the original authors back home.
    let origin_id = original.id.clone();
    let r = recorder.clone();
    eventually("the city's adoption and instruction", async move || {
        r.find(|e| match &e.payload {
            Some(Payload::InformationInstructed(i)) if i.information_id == origin_id => Some(()),
            _ => None,
        })
        .is_some()
    })
    .await;
    let (envelope, event) = recorder
        .find(|e| match &e.payload {
            Some(Payload::InformationAdopted(a)) if a.adopting_committee_id == f.tree.xingtai.id => {
                Some((e.clone(), a.clone()))
            }
            _ => None,
        })
        .expect("the city's InformationAdopted");
    assert_eq!(envelope.committee_id, f.tree.xingtai.id);
    assert_eq!(event.information_id, original.id);
    assert_eq!(event.origin_committee_id, f.tree.ningjin.id);
    assert_eq!(event.author_user_ids, vec![f.member.user.id.clone()]);
    assert_eq!(event.adopting_level, CommitteeLevel::City as i32);
    let instruction = recorder
        .find(|e| match &e.payload {
            Some(Payload::InformationInstructed(i)) if i.information_id == original.id => Some(i.clone()),
            _ => None,
        })
        .unwrap();
    assert_eq!(
        (instruction.instructing_committee_id.as_str(), instruction.origin_committee_id.as_str()),
        (f.tree.xingtai.id.as_str(), f.tree.ningjin.id.as_str())
    );

    // A sibling county sees nothing of it.
    assert!(
        sibling.list_information(pp::ListInformationRequest::default()).await.unwrap().into_inner().items.is_empty()
    );
    for id in [&original.id, &copy.id] {
        assert_code(sibling.get_information(get(id)).await, Code::NotFound);
        assert_code(sibling.adopt_information(pp::AdoptInformationRequest { id: id.clone() }).await, Code::NotFound);
        assert_code(
            sibling.forward_information(pp::ForwardInformationRequest { id: id.clone() }).await,
            Code::NotFound,
        );
    }

    // The city may report it further up; the province sees the origin.
    city.forward_information(pp::ForwardInformationRequest { id: copy.id.clone() }).await.unwrap();
    let at_province = f
        .province_staff
        .information()
        .list_information(pp::ListInformationRequest::default())
        .await
        .unwrap()
        .into_inner()
        .items;
    assert_eq!(at_province.len(), 1);
    assert_eq!(at_province[0].received_from_committee_id, f.tree.xingtai.id);
    assert_eq!(at_province[0].origin_item_id, original.id);
    // A province has no parent to report to.
    let top = f
        .province_staff
        .information()
        .forward_information(pp::ForwardInformationRequest { id: at_province[0].id.clone() })
        .await;
    assert!(assert_code(top, Code::FailedPrecondition).message().contains("no parent committee"));
    app.stop().await;
}
