//! Proposals (提案): the lifecycle from draft to rating, refusals, who sees
//! what, and gap-free numbering under concurrent filing.

use std::str::FromStr;

use tonic::Code;
use tonic::metadata::MetadataValue;
use xieshang_proto::common::v1::{Date, Role};
use xieshang_proto::events::v1::event::Payload;
use xieshang_proto::proposals::v1 as pp;
use xieshang_proto::proposals::v1::proposal_service_client::ProposalServiceClient;
use xieshang_proto::tenants::v1 as pb;
use xieshang_tests::*;

type Client = ProposalServiceClient<Authed>;

/// 宁晋县政协 with its 10th term and first plenary session, office staff,
/// members and handling units, each signed in once (Argon2 is slow).
struct Ningjin {
    tree: Tree,
    admin: Session,
    staff: Session,
    member: Session,
    co_signer: Session,
    other_member: Session,
    agriculture: Session,
    water: Session,
    not_a_unit: pb::User,
}

async fn ningjin(app: &TestApp) -> Ningjin {
    let tree = seed_tree(app).await;
    let admin = app.login("130528", "admin", PASSWORD).await.unwrap();
    let id = tree.ningjin.id.clone();
    let mut c = admin.committees();
    open_tenth_term(&mut c, &id).await;
    create_user(&admin, &id, "liuyang", "刘洋", &[Role::Staff]).await;
    create_user(&admin, &id, "wangjianjun", "王建军", &[Role::Member]).await;
    create_user(&admin, &id, "lihongmei", "李红梅", &[Role::Member]).await;
    create_user(&admin, &id, "zhaomin", "赵敏", &[Role::Member]).await;
    create_user(&admin, &id, "nongyeju", "宁晋县农业农村局", &[Role::HandlingUnit]).await;
    create_user(&admin, &id, "shuiliju", "宁晋县水利局", &[Role::HandlingUnit]).await;
    let not_a_unit = create_user(&admin, &id, "sunli", "孙丽", &[Role::Member]).await;
    let login = async |name: &str| app.login("130528", name, PASSWORD).await.unwrap();
    Ningjin {
        staff: login("liuyang").await,
        member: login("wangjianjun").await,
        co_signer: login("lihongmei").await,
        other_member: login("zhaomin").await,
        agriculture: login("nongyeju").await,
        water: login("shuiliju").await,
        not_a_unit,
        admin,
        tree,
    }
}

fn draft(title: &str) -> pp::Proposal {
    pp::Proposal {
        kind: pp::ProposalKind::Individual as i32,
        title: title.into(),
        body: "宁晋县东部乡镇盐碱地面积较大，建议整合农田水利资金，推广暗管排盐与耐盐作物种植。".into(),
        category: pp::ProposalCategory::Economic as i32,
        ..Default::default()
    }
}

async fn create(c: &mut Client, p: pp::Proposal) -> pp::Proposal {
    c.create_proposal(pp::CreateProposalRequest { proposal: Some(p) }).await.unwrap().into_inner()
}

async fn submitted(c: &mut Client, title: &str) -> pp::Proposal {
    let p = create(c, draft(title)).await;
    c.submit_proposal(pp::SubmitProposalRequest { id: p.id }).await.unwrap().into_inner()
}

fn today() -> Date {
    let d = xieshang_platform::time::now() + chrono_hours(8);
    let s = d.format("%Y-%m-%d").to_string();
    let parts: Vec<i32> = s.split('-').map(|x| x.parse().unwrap()).collect();
    Date { year: parts[0], month: parts[1], day: parts[2] }
}

fn chrono_hours(h: i64) -> std::time::Duration {
    std::time::Duration::from_secs(h as u64 * 3600)
}

/// How many recorded events `pred` attributes to the proposal.
fn count(recorder: &Recorder, proposal_id: &str, pred: fn(&Payload) -> Option<&str>) -> usize {
    recorder.snapshot().iter().filter(|e| e.payload.as_ref().and_then(pred) == Some(proposal_id)).count()
}

fn state(p: &pp::Proposal) -> pp::ProposalState {
    pp::ProposalState::try_from(p.state).unwrap()
}

#[tokio::test]
async fn a_joint_proposal_goes_from_draft_to_closed() {
    let app = spawn_app().await;
    let recorder = Recorder::on(&app);
    let n = ningjin(&app).await;
    let (mut member, mut co, mut staff) = (n.member.proposals(), n.co_signer.proposals(), n.staff.proposals());
    let (mut agri, mut water) = (n.agriculture.proposals(), n.water.proposals());

    let mut joint = draft("关于加快宁晋县盐碱地改良的建议");
    joint.kind = pp::ProposalKind::Joint as i32;
    joint.co_signer_user_ids = vec![n.co_signer.user.id.clone()];
    let p = create(&mut member, joint).await;
    assert_eq!(state(&p), pp::ProposalState::Draft);
    assert_eq!(p.proposer_user_id, n.member.user.id);
    assert_eq!(p.committee_id, n.tree.ningjin.id);

    // Not yet co-signed: submitting is refused.
    let early = member.submit_proposal(pp::SubmitProposalRequest { id: p.id.clone() }).await;
    assert_code(early, Code::FailedPrecondition);
    let p = co.confirm_co_signature(pp::ConfirmCoSignatureRequest { id: p.id.clone() }).await.unwrap().into_inner();
    assert!(p.co_signatures.iter().all(|c| c.confirmed));
    let p = member.submit_proposal(pp::SubmitProposalRequest { id: p.id.clone() }).await.unwrap().into_inner();
    assert_eq!(state(&p), pp::ProposalState::Submitted);

    let p = staff.file_proposal(pp::FileProposalRequest { id: p.id.clone() }).await.unwrap().into_inner();
    assert_eq!((state(&p), p.number), (pp::ProposalState::Filed, 1));
    let p = staff
        .mark_key_proposal(pp::MarkKeyProposalRequest {
            id: p.id.clone(),
            key: true,
            supervising_leader: "县政协主席 张国强".into(),
        })
        .await
        .unwrap()
        .into_inner();
    assert!(p.key);

    let p = staff
        .assign_proposal(pp::AssignProposalRequest {
            id: p.id.clone(),
            lead_unit_user_id: n.agriculture.user.id.clone(),
            co_unit_user_ids: vec![n.water.user.id.clone()],
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(state(&p), pp::ProposalState::Assigned);
    let due = p.due_date.clone().expect("a due date");
    assert!(due.year * 12 + due.month >= today().year * 12 + today().month + 3 - 1);

    let contact =
        pp::RecordContactRequest { id: p.id.clone(), contact_date: Some(today()), note: "电话沟通".into() };
    let p = agri.record_contact(contact).await.unwrap().into_inner();
    assert_eq!(state(&p), pp::ProposalState::Handling);
    // The co-unit gives its opinion to the lead unit; it does not reply.
    let reply = |class: pp::ReplyClass| pp::ReplyToProposalRequest {
        id: p.id.clone(),
        reply_class: class as i32,
        text: "已列入2027年盐碱地综合治理计划，分两期实施。".into(),
    };
    assert_code(water.reply_to_proposal(reply(pp::ReplyClass::A)).await, Code::PermissionDenied);
    let replied = agri.reply_to_proposal(reply(pp::ReplyClass::B)).await.unwrap().into_inner();
    assert_eq!(state(&replied), pp::ProposalState::Replied);
    let lead = replied.units.iter().find(|u| u.user_id == n.agriculture.user.id).unwrap();
    assert_eq!(lead.reply_class, pp::ReplyClass::B as i32);
    assert!(lead.on_time);

    // Dissatisfied: back to handling with a new deadline.
    let rate = |process: pp::Rating, result: pp::Rating| pp::RateReplyRequest {
        id: p.id.clone(),
        process_rating: process as i32,
        result_rating: result as i32,
        comment: String::new(),
    };
    let again = member.rate_reply(rate(pp::Rating::Satisfied, pp::Rating::Dissatisfied)).await.unwrap().into_inner();
    assert_eq!(state(&again), pp::ProposalState::Handling);
    assert_eq!(again.rehandle_count, 1);
    assert!(again.due_date.is_some());
    agri.reply_to_proposal(reply(pp::ReplyClass::A)).await.unwrap();
    let closed =
        member.rate_reply(rate(pp::Rating::BasicallySatisfied, pp::Rating::Satisfied)).await.unwrap().into_inner();
    assert_eq!(state(&closed), pp::ProposalState::Closed);
    assert_eq!(closed.result_rating, pp::Rating::Satisfied as i32);

    // Every state change reached the bus.
    let id = p.id.clone();
    let recorder2 = recorder.clone();
    let all_there = move || {
        count(&recorder2, &id, |p| match p {
            Payload::ProposalSubmitted(e) => Some(&e.proposal_id),
            _ => None,
        }) == 1
            && count(&recorder2, &id, |p| match p {
                Payload::ProposalFiled(e) => Some(&e.proposal_id),
                _ => None,
            }) == 1
            && count(&recorder2, &id, |p| match p {
                Payload::ProposalAssigned(e) => Some(&e.proposal_id),
                _ => None,
            }) == 1
            && count(&recorder2, &id, |p| match p {
                Payload::ProposalReplied(e) => Some(&e.proposal_id),
                _ => None,
            }) == 2
            && count(&recorder2, &id, |p| match p {
                Payload::ProposalRated(e) => Some(&e.proposal_id),
                _ => None,
            }) == 2
    };
    eventually("the proposal's events", async || all_there()).await;
    let filed = recorder
        .events
        .lock()
        .unwrap()
        .iter()
        .find_map(|e| match &e.payload {
            Some(Payload::ProposalFiled(f)) if f.proposal_id == p.id => Some((e.clone(), f.clone())),
            _ => None,
        })
        .unwrap();
    assert_eq!(filed.0.committee_id, n.tree.ningjin.id);
    assert_eq!(filed.0.ancestor_committee_ids, vec![n.tree.xingtai.id.clone(), n.tree.hebei.id.clone()]);
    assert_eq!(filed.1.number, 1);
    assert_eq!(filed.1.proposer_user_ids, vec![n.member.user.id.clone(), n.co_signer.user.id.clone()]);

    // And every mutation left an audit row.
    let audit = n
        .admin
        .audit()
        .list_audit_entries(pb::ListAuditEntriesRequest {
            committee_id: n.tree.ningjin.id.clone(),
            target_type: "proposal".into(),
            page_size: 100,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .entries;
    let methods: Vec<&str> = audit.iter().filter(|e| e.target_id == p.id).map(|e| e.method.as_str()).collect();
    for rpc in [
        "CreateProposal",
        "ConfirmCoSignature",
        "SubmitProposal",
        "FileProposal",
        "MarkKeyProposal",
        "AssignProposal",
        "RecordContact",
        "ReplyToProposal",
        "RateReply",
    ] {
        let method = format!("/xieshang.proposals.v1.ProposalService/{rpc}");
        assert!(methods.contains(&method.as_str()), "no audit row for {rpc}: {methods:?}");
    }
    app.stop().await;
}

#[tokio::test]
async fn refusals_name_the_state_the_role_or_the_field() {
    let app = spawn_app().await;
    let n = ningjin(&app).await;
    let (mut member, mut other, mut staff) = (n.member.proposals(), n.other_member.proposals(), n.staff.proposals());
    let mut agri = n.agriculture.proposals();

    // Bad input names the field.
    let cases: [(pp::Proposal, &str); 5] = [
        (pp::Proposal { title: " ".into(), ..draft("") }, "proposal.title"),
        (draft(&"盐碱地".repeat(34)), "proposal.title"),
        (pp::Proposal { body: "长".repeat(20_001), ..draft("关于完善农村养老服务的建议") }, "proposal.body"),
        (pp::Proposal { category: 0, ..draft("关于完善农村养老服务的建议") }, "proposal.category"),
        (
            pp::Proposal {
                kind: pp::ProposalKind::Collective as i32, ..draft("关于发展县域特色产业的建议")
            },
            "proposal.sponsor",
        ),
    ];
    for (p, field) in cases {
        let bad = member.create_proposal(pp::CreateProposalRequest { proposal: Some(p) }).await;
        assert_eq!(violated_field(&assert_code(bad, Code::InvalidArgument)), field);
    }
    let mut joint = draft("关于加强滏阳河生态修复的建议");
    joint.kind = pp::ProposalKind::Joint as i32;
    joint.co_signer_user_ids = vec![n.agriculture.user.id.clone()];
    let bad = member.create_proposal(pp::CreateProposalRequest { proposal: Some(joint) }).await;
    assert_eq!(violated_field(&assert_code(bad, Code::InvalidArgument)), "proposal.co_signer_user_ids");
    // Collective proposals name their sponsor.
    let collective = create(
        &mut member,
        pp::Proposal {
            kind: pp::ProposalKind::Collective as i32,
            sponsor: "民盟宁晋县基层委员会".into(),
            ..draft("关于发展县域特色产业的建议")
        },
    )
    .await;
    assert_eq!(collective.sponsor, "民盟宁晋县基层委员会");
    // Staff do not draft proposals.
    assert_code(
        staff.create_proposal(pp::CreateProposalRequest { proposal: Some(draft("关于……的建议")) }).await,
        Code::PermissionDenied,
    );

    // Filing a draft: staff do not even see other people's drafts; a staff
    // member who is also a member sees their own, and filing it is refused.
    let d = create(&mut member, draft("关于规范乡村集市管理的建议")).await;
    assert_code(staff.file_proposal(pp::FileProposalRequest { id: d.id.clone() }).await, Code::NotFound);
    create_user(&n.admin, &n.tree.ningjin.id, "hanbing", "韩冰", &[Role::Member, Role::Staff]).await;
    let mut both = app.login("130528", "hanbing", PASSWORD).await.unwrap().proposals();
    let own_draft = create(&mut both, draft("关于推进县域医共体建设的建议")).await;
    let refused = assert_code(
        both.file_proposal(pp::FileProposalRequest { id: own_draft.id.clone() }).await,
        Code::FailedPrecondition,
    );
    assert_eq!(refused.message(), "proposal is DRAFT; only a SUBMITTED proposal can be filed");

    let p = submitted(&mut member, "关于加快宁晋县盐碱地改良的建议").await;
    // Editing after submission.
    let edit = member
        .update_proposal(pp::UpdateProposalRequest {
            proposal: Some(pp::Proposal { id: p.id.clone(), title: "新标题".into(), ..Default::default() }),
            update_mask: Some(prost_types::FieldMask { paths: vec!["title".into()] }),
            etag: String::new(),
        })
        .await;
    let status = assert_code(edit, Code::FailedPrecondition);
    assert!(status.message().contains("proposal is SUBMITTED"), "{}", status.message());
    // Members do not file; a draft cannot be filed (the proposer's own view).
    assert_code(member.file_proposal(pp::FileProposalRequest { id: d.id.clone() }).await, Code::PermissionDenied);
    let own = staff.file_proposal(pp::FileProposalRequest { id: p.id.clone() }).await.unwrap().into_inner();
    let twice =
        assert_code(staff.file_proposal(pp::FileProposalRequest { id: p.id.clone() }).await, Code::FailedPrecondition);
    assert_eq!(twice.message(), "proposal is FILED; only a SUBMITTED proposal can be filed");

    // Assigning to someone who is not a handling unit.
    let not_unit = staff
        .assign_proposal(pp::AssignProposalRequest {
            id: own.id.clone(),
            lead_unit_user_id: n.not_a_unit.id.clone(),
            ..Default::default()
        })
        .await;
    assert_eq!(violated_field(&assert_code(not_unit, Code::InvalidArgument)), "lead_unit_user_id");
    let one_separate = staff
        .assign_proposal(pp::AssignProposalRequest {
            id: own.id.clone(),
            unit_user_ids: vec![n.agriculture.user.id.clone(), n.not_a_unit.id.clone()],
            ..Default::default()
        })
        .await;
    assert_eq!(violated_field(&assert_code(one_separate, Code::InvalidArgument)), "unit_user_ids");
    staff
        .assign_proposal(pp::AssignProposalRequest {
            id: own.id.clone(),
            lead_unit_user_id: n.agriculture.user.id.clone(),
            ..Default::default()
        })
        .await
        .unwrap();

    // Replying before contact.
    let early = agri
        .reply_to_proposal(pp::ReplyToProposalRequest {
            id: own.id.clone(),
            reply_class: pp::ReplyClass::A as i32,
            text: "已办理。".into(),
        })
        .await;
    assert_code(early, Code::FailedPrecondition);
    let missing_text = agri
        .reply_to_proposal(pp::ReplyToProposalRequest {
            id: own.id.clone(),
            reply_class: pp::ReplyClass::A as i32,
            text: String::new(),
        })
        .await;
    assert_eq!(violated_field(&assert_code(missing_text, Code::InvalidArgument)), "text");
    agri.record_contact(pp::RecordContactRequest {
        id: own.id.clone(),
        contact_date: Some(today()),
        note: String::new(),
    })
    .await
    .unwrap();
    agri.reply_to_proposal(pp::ReplyToProposalRequest {
        id: own.id.clone(),
        reply_class: pp::ReplyClass::C as i32,
        text: "留作参考。".into(),
    })
    .await
    .unwrap();

    // Nobody rates for the proposer: staff and the unit see it but may not rate.
    let rate = pp::RateReplyRequest {
        id: own.id.clone(),
        process_rating: pp::Rating::Satisfied as i32,
        result_rating: pp::Rating::Satisfied as i32,
        comment: String::new(),
    };
    assert_code(staff.rate_reply(rate.clone()).await, Code::PermissionDenied);
    assert_code(agri.rate_reply(rate.clone()).await, Code::PermissionDenied);
    assert_code(other.rate_reply(rate.clone()).await, Code::NotFound);
    let unrated = member.rate_reply(pp::RateReplyRequest { process_rating: 0, ..rate.clone() }).await;
    assert_eq!(violated_field(&assert_code(unrated, Code::InvalidArgument)), "process_rating");
    member.rate_reply(rate).await.unwrap();

    // Decline needs a reason; withdrawal is the proposer's before review.
    let q = submitted(&mut member, "关于改善县城停车难问题的建议").await;
    let no_reason = staff.decline_proposal(pp::DeclineProposalRequest { id: q.id.clone(), ..Default::default() }).await;
    assert_eq!(violated_field(&assert_code(no_reason, Code::InvalidArgument)), "reason");
    let declined = staff
        .decline_proposal(pp::DeclineProposalRequest {
            id: q.id.clone(),
            reason: "属于个人诉求，建议以来信形式反映".into(),
            conversion: pp::Conversion::Letter as i32,
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(state(&declined), pp::ProposalState::Declined);
    assert_code(
        member.withdraw_proposal(pp::WithdrawProposalRequest { id: q.id.clone() }).await,
        Code::FailedPrecondition,
    );
    let w = submitted(&mut member, "关于加强校园周边交通安全的建议").await;
    let w = member.withdraw_proposal(pp::WithdrawProposalRequest { id: w.id }).await.unwrap().into_inner();
    assert_eq!(state(&w), pp::ProposalState::Withdrawn);

    // Merge (并案) into another submitted proposal; the merged one keeps its proposer.
    let a = submitted(&mut member, "关于推进农村厕所改造的建议").await;
    let b = submitted(&mut other, "关于加快农村改厕后续管护的建议").await;
    let merged = staff
        .merge_proposal(pp::MergeProposalRequest {
            id: b.id.clone(),
            into_proposal_id: a.id.clone(),
            reason: "内容相近".into(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!((state(&merged), merged.merged_into_proposal_id.as_str()), (pp::ProposalState::Merged, a.id.as_str()));
    assert_eq!(merged.proposer_user_id, n.other_member.user.id);
    app.stop().await;
}

#[tokio::test]
async fn units_and_members_see_only_their_own_and_other_counties_nothing() {
    let app = spawn_app().await;
    let n = ningjin(&app).await;
    let (mut member, mut other, mut staff) = (n.member.proposals(), n.other_member.proposals(), n.staff.proposals());
    let (mut agri, mut water) = (n.agriculture.proposals(), n.water.proposals());
    let get = |id: &str| pp::GetProposalRequest { id: id.into() };

    let d = create(&mut member, draft("关于保护宁晋县传统村落的建议")).await;
    assert_code(other.get_proposal(get(&d.id)).await, Code::NotFound);
    assert_code(agri.get_proposal(get(&d.id)).await, Code::NotFound);
    member.get_proposal(get(&d.id)).await.unwrap();

    let p = submitted(&mut member, "关于加快宁晋县盐碱地改良的建议").await;
    let q = submitted(&mut member, "关于发展宁晋县梨产业的建议").await;
    for x in [&p, &q] {
        staff.file_proposal(pp::FileProposalRequest { id: x.id.clone() }).await.unwrap();
    }
    staff
        .assign_proposal(pp::AssignProposalRequest {
            id: p.id.clone(),
            lead_unit_user_id: n.agriculture.user.id.clone(),
            ..Default::default()
        })
        .await
        .unwrap();
    agri.get_proposal(get(&p.id)).await.unwrap();
    assert_code(agri.get_proposal(get(&q.id)).await, Code::NotFound);
    assert_code(water.get_proposal(get(&p.id)).await, Code::NotFound);
    let listed = agri.list_proposals(pp::ListProposalsRequest::default()).await.unwrap().into_inner().proposals;
    assert_eq!(listed.iter().map(|x| x.id.as_str()).collect::<Vec<_>>(), vec![p.id.as_str()]);
    assert!(other.list_proposals(pp::ListProposalsRequest::default()).await.unwrap().into_inner().proposals.is_empty());

    // The office lists the committee's proposals but not other people's drafts; filters and pages work.
    let all = staff.list_proposals(pp::ListProposalsRequest::default()).await.unwrap().into_inner().proposals;
    assert_eq!(all.len(), 2);
    let filed = staff
        .list_proposals(pp::ListProposalsRequest { state: pp::ProposalState::Filed as i32, ..Default::default() })
        .await
        .unwrap()
        .into_inner()
        .proposals;
    assert_eq!(filed.iter().map(|x| x.id.as_str()).collect::<Vec<_>>(), vec![q.id.as_str()]);
    let first = staff
        .list_proposals(pp::ListProposalsRequest { page_size: 1, ..Default::default() })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(first.proposals.len(), 1);
    let second = staff
        .list_proposals(pp::ListProposalsRequest {
            page_size: 1,
            page_token: first.next_page_token,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(second.proposals.len(), 1);
    assert_ne!(first.proposals[0].id, second.proposals[0].id);
    let by_unit = staff
        .list_proposals(pp::ListProposalsRequest { unit_user_id: n.agriculture.user.id.clone(), ..Default::default() })
        .await
        .unwrap()
        .into_inner()
        .proposals;
    assert_eq!(by_unit.len(), 1);

    // 临城县 sees nothing of 宁晋县's proposals, and cannot act on them.
    let lincheng_admin = app.login("130522", "admin", PASSWORD).await.unwrap();
    let mut lincheng = lincheng_admin.proposals();
    for id in [&d.id, &p.id, &q.id] {
        assert_code(lincheng.get_proposal(get(id)).await, Code::NotFound);
        assert_code(lincheng.file_proposal(pp::FileProposalRequest { id: id.clone() }).await, Code::NotFound);
        assert_code(
            lincheng
                .decline_proposal(pp::DeclineProposalRequest {
                    id: id.clone(),
                    reason: "无".into(),
                    ..Default::default()
                })
                .await,
            Code::NotFound,
        );
    }
    assert!(
        lincheng.list_proposals(pp::ListProposalsRequest::default()).await.unwrap().into_inner().proposals.is_empty()
    );
    // Operators read any committee's.
    let op = app.operator().await;
    op.proposals().get_proposal(get(&p.id)).await.unwrap();
    app.stop().await;
}

#[tokio::test]
async fn settings_have_defaults_and_office_updates_them() {
    let app = spawn_app().await;
    let n = ningjin(&app).await;
    let mut staff = n.staff.proposals();
    let s = staff.get_proposal_settings(pp::GetProposalSettingsRequest {}).await.unwrap().into_inner();
    assert_eq!((s.objection_window_days, s.co_unit_opinion_months, s.reply_window_months), (10, 1, 3));
    let updated = staff
        .update_proposal_settings(pp::UpdateProposalSettingsRequest {
            settings: Some(pp::ProposalSettings { reply_window_months: 2, ..Default::default() }),
            update_mask: Some(prost_types::FieldMask { paths: vec!["reply_window_months".into()] }),
            etag: s.etag,
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(updated.reply_window_months, 2);
    let bad = staff
        .update_proposal_settings(pp::UpdateProposalSettingsRequest {
            settings: Some(pp::ProposalSettings { objection_window_days: 0, ..Default::default() }),
            update_mask: Some(prost_types::FieldMask { paths: vec!["objection_window_days".into()] }),
            etag: String::new(),
        })
        .await;
    assert_eq!(violated_field(&assert_code(bad, Code::InvalidArgument)), "settings.objection_window_days");
    assert_code(
        n.member.proposals().get_proposal_settings(pp::GetProposalSettingsRequest {}).await,
        Code::PermissionDenied,
    );
    app.stop().await;
}

#[tokio::test]
async fn objection_and_extension() {
    let app = spawn_app().await;
    let n = ningjin(&app).await;
    let (mut member, mut staff, mut agri) = (n.member.proposals(), n.staff.proposals(), n.agriculture.proposals());
    let p = submitted(&mut member, "关于加快宁晋县盐碱地改良的建议").await;
    staff.file_proposal(pp::FileProposalRequest { id: p.id.clone() }).await.unwrap();
    let assign = |unit: &Session| pp::AssignProposalRequest {
        id: p.id.clone(),
        lead_unit_user_id: unit.user.id.clone(),
        ..Default::default()
    };
    staff.assign_proposal(assign(&n.water)).await.unwrap();
    let mut water = n.water.proposals();
    let no_reason =
        water.object_to_assignment(pp::ObjectToAssignmentRequest { id: p.id.clone(), reason: String::new() }).await;
    assert_eq!(violated_field(&assert_code(no_reason, Code::InvalidArgument)), "reason");
    let objected = water
        .object_to_assignment(pp::ObjectToAssignmentRequest {
            id: p.id.clone(),
            reason: "盐碱地改良属农业农村部门职责".into(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(state(&objected), pp::ProposalState::AwaitingReassignment);
    assert_code(water.get_proposal(pp::GetProposalRequest { id: p.id.clone() }).await, Code::NotFound);
    let reassigned = staff.assign_proposal(assign(&n.agriculture)).await.unwrap().into_inner();
    assert_eq!(state(&reassigned), pp::ProposalState::Assigned);
    agri.get_proposal(pp::GetProposalRequest { id: p.id.clone() }).await.unwrap();

    let due = reassigned.due_date.unwrap();
    let later = Date { year: due.year + 1, ..due };
    let extend = |d: Date| pp::ExtendDeadlineRequest {
        id: p.id.clone(),
        new_due_date: Some(d),
        reason: "需跨年度统筹资金".into(),
    };
    let extended = staff.extend_deadline(extend(later)).await.unwrap().into_inner();
    assert!(extended.deadline_extended);
    assert_code(staff.extend_deadline(extend(Date { year: due.year + 2, ..due })).await, Code::FailedPrecondition);
    app.stop().await;
}

#[tokio::test]
async fn concurrent_filing_numbers_without_gaps() {
    let app = spawn_app().await;
    let n = ningjin(&app).await;
    let mut member = n.member.proposals();
    let topics = ["盐碱地改良", "梨产业发展", "农村养老", "滏阳河治理", "县城停车", "职业教育", "乡村旅游", "电商物流"];
    let mut ids = Vec::with_capacity(200);
    for i in 0..200 {
        let p = submitted(&mut member, &format!("关于{}的建议（{}）", topics[i % topics.len()], i + 1)).await;
        ids.push(p.id);
    }
    let id = n.tree.ningjin.id.clone();
    create_user(&n.admin, &id, "staff2", "马丽", &[Role::Staff]).await;
    create_user(&n.admin, &id, "staff3", "高峰", &[Role::Staff]).await;
    let mut offices = vec![n.staff.proposals(), n.admin.proposals()];
    for name in ["staff2", "staff3"] {
        offices.push(app.login("130528", name, PASSWORD).await.unwrap().proposals());
    }
    let tasks: Vec<_> = ids
        .into_iter()
        .enumerate()
        .map(|(i, id)| {
            let mut c = offices[i % offices.len()].clone();
            tokio::spawn(
                async move { c.file_proposal(pp::FileProposalRequest { id }).await.map(|r| r.into_inner().number) },
            )
        })
        .collect();
    let mut numbers = Vec::with_capacity(200);
    for t in tasks {
        numbers.push(t.await.unwrap().expect("filing succeeds"));
    }
    numbers.sort_unstable();
    assert_eq!(numbers, (1..=200).collect::<Vec<i32>>());
    app.stop().await;
}

/// Days since 1970-01-01 (proleptic Gregorian; H. Hinnant's algorithm).
fn to_days(d: &Date) -> i64 {
    let (y, m, day) = (i64::from(d.year) - i64::from(d.month <= 2), i64::from(d.month), i64::from(d.day));
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn from_days(z: i64) -> Date {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    Date { year: year as i32, month: month as i32, day: day as i32 }
}

fn days_after(d: &Date, days: i64) -> Date {
    from_days(to_days(d) + days)
}

#[test]
fn date_arithmetic_round_trips() {
    let d = Date { year: 2026, month: 11, day: 23 };
    assert_eq!(days_after(&d, 0), d);
    assert_eq!(days_after(&d, 38), Date { year: 2026, month: 12, day: 31 });
    assert_eq!(days_after(&d, 98), Date { year: 2027, month: 3, day: 1 });
    assert_eq!(days_after(&Date { year: 2028, month: 3, day: 1 }, -1), Date { year: 2028, month: 2, day: 29 });
}

/// Files and assigns a proposal to `lead` (with optional co-units).
async fn assigned(
    n: &Ningjin,
    title: &str,
    category: pp::ProposalCategory,
    lead: &Session,
    co: &[&Session],
) -> pp::Proposal {
    let mut member = n.member.proposals();
    let p = create(&mut member, pp::Proposal { category: category as i32, ..draft(title) }).await;
    member.submit_proposal(pp::SubmitProposalRequest { id: p.id.clone() }).await.unwrap();
    let mut staff = n.staff.proposals();
    staff.file_proposal(pp::FileProposalRequest { id: p.id.clone() }).await.unwrap();
    staff
        .assign_proposal(pp::AssignProposalRequest {
            id: p.id.clone(),
            lead_unit_user_id: lead.user.id.clone(),
            co_unit_user_ids: co.iter().map(|s| s.user.id.clone()).collect(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
}

/// The unit contacts the proposer and replies.
async fn handled(unit: &Session, id: &str, class: pp::ReplyClass) {
    let mut u = unit.proposals();
    u.record_contact(pp::RecordContactRequest {
        id: id.into(), contact_date: Some(today()), note: "电话沟通".into()
    })
    .await
    .unwrap();
    u.reply_to_proposal(pp::ReplyToProposalRequest {
        id: id.into(),
        reply_class: class as i32,
        text: "已研究办理，具体情况如下。".into(),
    })
    .await
    .unwrap();
}

async fn rated(member: &Session, id: &str, process: pp::Rating, result: pp::Rating) -> pp::Proposal {
    member
        .proposals()
        .rate_reply(pp::RateReplyRequest {
            id: id.into(),
            process_rating: process as i32,
            result_rating: result as i32,
            comment: String::new(),
        })
        .await
        .unwrap()
        .into_inner()
}

#[tokio::test]
async fn the_office_lists_overdue_and_soon_due_proposals() {
    let app = spawn_app().await;
    let n = ningjin(&app).await;
    let mut staff = n.staff.proposals();
    let p = assigned(&n, "关于加快宁晋县盐碱地改良的建议", pp::ProposalCategory::Economic, &n.agriculture, &[]).await;
    let q = assigned(&n, "关于发展宁晋县梨产业的建议", pp::ProposalCategory::Economic, &n.water, &[]).await;
    handled(&n.water, &q.id, pp::ReplyClass::A).await;
    let due = p.due_date.unwrap();
    let ids = |r: &[pp::Proposal]| r.iter().map(|x| x.id.clone()).collect::<Vec<_>>();

    // Today: due in about three months, neither overdue nor due within 14 days.
    let now = staff.list_due_proposals(pp::ListDueProposalsRequest::default()).await.unwrap().into_inner();
    assert!(now.overdue.is_empty() && now.due_soon.is_empty(), "{now:?}");
    // Ten days before the deadline it is due soon; with a 7-day window it is not yet.
    let ask = |within_days: i32, as_of: Date| pp::ListDueProposalsRequest { within_days, as_of: Some(as_of) };
    let soon = staff.list_due_proposals(ask(0, days_after(&due, -10))).await.unwrap().into_inner();
    assert_eq!((ids(&soon.due_soon), soon.overdue.len()), (vec![p.id.clone()], 0));
    assert!(staff.list_due_proposals(ask(7, days_after(&due, -10))).await.unwrap().into_inner().due_soon.is_empty());
    // On the due day it is still due; the day after, overdue. The replied one never shows.
    let on_the_day = staff.list_due_proposals(ask(0, due)).await.unwrap().into_inner();
    assert_eq!((ids(&on_the_day.due_soon), on_the_day.overdue.len()), (vec![p.id.clone()], 0));
    let late = staff.list_due_proposals(ask(0, days_after(&due, 1))).await.unwrap().into_inner();
    assert_eq!((ids(&late.overdue), late.due_soon.len()), (vec![p.id.clone()], 0));

    let bad = staff.list_due_proposals(ask(400, due)).await;
    assert_eq!(violated_field(&assert_code(bad, Code::InvalidArgument)), "within_days");
    assert_code(
        n.member.proposals().list_due_proposals(pp::ListDueProposalsRequest::default()).await,
        Code::PermissionDenied,
    );
    // Another county's office sees none of them.
    let lincheng = app
        .login("130522", "admin", PASSWORD)
        .await
        .unwrap()
        .proposals()
        .list_due_proposals(ask(0, days_after(&due, 1)))
        .await
        .unwrap()
        .into_inner();
    assert!(lincheng.overdue.is_empty());
    app.stop().await;
}

#[tokio::test]
async fn statistics_are_counted_from_the_records() {
    use xieshang_proto::proposals::v1::information_service_client::InformationServiceClient;
    let app = spawn_app().await;
    let n = ningjin(&app).await;
    let (mut member, mut staff) = (n.member.proposals(), n.staff.proposals());
    use pp::ProposalCategory::{Cultural, Economic, Social};
    use pp::Rating::{BasicallySatisfied, Dissatisfied, Satisfied};

    // p1: A reply, satisfied → closed.
    let p1 = assigned(&n, "关于加快宁晋县盐碱地改良的建议", Economic, &n.agriculture, &[]).await;
    handled(&n.agriculture, &p1.id, pp::ReplyClass::A).await;
    rated(&n.member, &p1.id, Satisfied, Satisfied).await;
    // p2: B reply, result dissatisfied → handled again (its reply is withdrawn).
    let p2 = assigned(&n, "关于完善农村养老服务体系的建议", Social, &n.water, &[]).await;
    handled(&n.water, &p2.id, pp::ReplyClass::B).await;
    let again = rated(&n.member, &p2.id, Satisfied, Dissatisfied).await;
    assert_eq!(again.rehandle_count, 1);
    // p3: lead + co-unit, C reply, basically satisfied → closed.
    let p3 = assigned(&n, "关于发展宁晋县梨产业的建议", Economic, &n.agriculture, &[&n.water]).await;
    handled(&n.agriculture, &p3.id, pp::ReplyClass::C).await;
    rated(&n.member, &p3.id, BasicallySatisfied, BasicallySatisfied).await;
    // p4: assigned, not replied yet.
    assigned(&n, "关于推进高标准农田建设的建议", Economic, &n.agriculture, &[]).await;
    // p5: declined; p6: withdrawn; p7: a (cultural) draft, not received.
    let p5 = submitted(&mut member, "关于建设县文化艺术中心的建议").await;
    let _ =
        create(&mut member, pp::Proposal { category: Cultural as i32, ..draft("关于建设县文化艺术中心的建议") }).await;
    staff
        .decline_proposal(pp::DeclineProposalRequest {
            id: p5.id.clone(),
            reason: "已列入规划".into(),
            ..Default::default()
        })
        .await
        .unwrap();
    let mut p6 = draft("关于改善县城停车难问题的建议");
    p6.category = Social as i32;
    let p6 = create(&mut member, p6).await;
    member.submit_proposal(pp::SubmitProposalRequest { id: p6.id.clone() }).await.unwrap();
    member.withdraw_proposal(pp::WithdrawProposalRequest { id: p6.id.clone() }).await.unwrap();
    // p5 was drafted as economic by `submitted`; make the mix's categories explicit.
    let p5 = staff.get_proposal(pp::GetProposalRequest { id: p5.id.clone() }).await.unwrap().into_inner();
    assert_eq!(p5.category, Economic as i32);

    // Information: three items, one adopted with an instruction, one declined, one pending.
    let bearer = Bearer(Some(MetadataValue::from_str(&format!("Bearer {}", n.member.access_token)).unwrap()));
    let mut info_member = InformationServiceClient::with_interceptor(n.member.channel.clone(), bearer);
    let bearer = Bearer(Some(MetadataValue::from_str(&format!("Bearer {}", n.staff.access_token)).unwrap()));
    let mut info_staff = InformationServiceClient::with_interceptor(n.staff.channel.clone(), bearer);
    let mut items = Vec::new();
    for title in
        ["关于农村集中供水水压不足的情况反映", "关于县城夜市占道经营的情况反映", "关于乡村学校校车不足的情况反映"]
    {
        let i = info_member
            .submit_information(pp::SubmitInformationRequest {
                information: Some(pp::InformationItem {
                    title: title.into(),
                    body: "群众反映强烈，建议有关部门尽快研究解决。".into(),
                    ..Default::default()
                }),
            })
            .await
            .unwrap()
            .into_inner();
        items.push(i.id);
    }
    info_staff.adopt_information(pp::AdoptInformationRequest { id: items[0].clone() }).await.unwrap();
    info_staff
        .instruct_information(pp::InstructInformationRequest {
            id: items[0].clone(),
            leader: "县委书记 李某".into(),
            text: "请县水利局抓紧落实。".into(),
        })
        .await
        .unwrap();
    info_staff
        .decline_information(pp::DeclineInformationRequest {
            id: items[1].clone(), reason: "已有同类信息".into()
        })
        .await
        .unwrap();

    let t = today();
    let year = |y: i32| pp::GetProposalStatisticsRequest {
        committee_id: n.tree.ningjin.id.clone(),
        start_date: Some(Date { year: y, month: 1, day: 1 }),
        end_date: Some(Date { year: y, month: 12, day: 31 }),
    };
    let s = staff.get_proposal_statistics(year(t.year)).await.unwrap().into_inner();
    // p1–p6 were submitted; p1–p4 filed.
    assert_eq!((s.received, s.filed), (6, 4));
    assert!((s.filing_rate - 4.0 / 6.0).abs() < 1e-9, "{}", s.filing_rate);
    let cats: Vec<(i32, i32, i32)> = s.by_category.iter().map(|c| (c.category, c.received, c.filed)).collect();
    // Economic: p1, p3, p4, p5; social: p2, p6.
    assert_eq!(cats, vec![(Economic as i32, 4, 3), (Social as i32, 2, 1)]);
    let units: Vec<(&str, i32, i32, i32)> =
        s.by_unit.iter().map(|u| (u.unit_name.as_str(), u.assigned, u.replied, u.replied_on_time)).collect();
    assert_eq!(units, vec![("宁晋县农业农村局", 3, 2, 2), ("宁晋县水利局", 2, 0, 0)]);
    assert_eq!(s.by_unit[0].unit_user_id, n.agriculture.user.id);
    assert_eq!((s.replied, s.replied_on_time, s.overdue), (2, 2, 0));
    assert_eq!((s.class_a, s.class_b, s.class_c), (1, 0, 1));
    assert_eq!((s.class_a_share, s.class_b_share, s.class_c_share), (0.5, 0.0, 0.5));
    // Final result ratings: satisfied (p1), dissatisfied (p2), basically satisfied (p3).
    assert_eq!(s.rated, 3);
    assert!((s.satisfaction_rate - 2.0 / 3.0).abs() < 1e-9, "{}", s.satisfaction_rate);
    assert_eq!(s.rehandled, 1);
    assert_eq!((s.information_submitted, s.information_adopted, s.information_instructed), (3, 1, 1));
    let levels: Vec<(i32, i32)> = s.information_adopted_by_level.iter().map(|l| (l.level, l.adopted)).collect();
    assert_eq!(levels, vec![(xieshang_proto::common::v1::CommitteeLevel::County as i32, 1)]);

    // Another period holds nothing.
    let empty = staff.get_proposal_statistics(year(t.year - 1)).await.unwrap().into_inner();
    assert_eq!((empty.received, empty.filed, empty.filing_rate, empty.information_submitted), (0, 0, 0.0, 0));
    assert!(empty.by_category.is_empty() && empty.by_unit.is_empty());
    // Members may not; another committee's are not found; the period must be sane.
    assert_code(n.member.proposals().get_proposal_statistics(year(t.year)).await, Code::PermissionDenied);
    let lincheng = app.login("130522", "admin", PASSWORD).await.unwrap().proposals();
    assert_code(lincheng.clone().get_proposal_statistics(year(t.year)).await, Code::NotFound);
    let backwards = pp::GetProposalStatisticsRequest {
        end_date: Some(Date { year: t.year - 1, month: 1, day: 1 }),
        ..year(t.year)
    };
    assert_eq!(
        violated_field(&assert_code(staff.get_proposal_statistics(backwards).await, Code::InvalidArgument)),
        "end_date"
    );
    // Operators read any committee's.
    let op = app.operator().await.proposals().get_proposal_statistics(year(t.year)).await.unwrap().into_inner();
    assert_eq!(op.received, 6);
    app.stop().await;
}
