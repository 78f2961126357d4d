//! Proposal search (Chinese segmentation, traditional/simplified folding,
//! filters, ranking, visibility, paging) and digests of important proposals
//! (重要提案摘报): building, reordering, refusals and export.

use tonic::Code;
use xieshang_proto::common::v1::{Date, Role};
use xieshang_proto::proposals::v1 as pp;
use xieshang_proto::proposals::v1::proposal_service_client::ProposalServiceClient;
use xieshang_tests::*;

type Client = ProposalServiceClient<Authed>;

/// 宁晋县政协 (term, session, staff, two members, two units) and 临城县政协
/// (admin and a member), everyone signed in once.
struct World {
    tree: Tree,
    staff: Session,
    member: Session,
    other_member: Session,
    agriculture: Session,
    lincheng_admin: Session,
    lincheng_member: Session,
}

async fn world(app: &TestApp) -> World {
    let tree = seed_tree(app).await;
    let admin = app.login("130528", "admin", PASSWORD).await.unwrap();
    let id = tree.ningjin.id.clone();
    let mut c = admin.committees();
    open_tenth_term(&mut c, &id).await;
    create_user(&admin, &id, "liuyang", "刘洋", &[Role::Staff]).await;
    create_user(&admin, &id, "wangjianjun", "王建军", &[Role::Member]).await;
    create_user(&admin, &id, "zhaomin", "赵敏", &[Role::Member]).await;
    create_user(&admin, &id, "nongyeju", "宁晋县农业农村局", &[Role::HandlingUnit]).await;
    let lincheng_admin = app.login("130522", "admin", PASSWORD).await.unwrap();
    create_user(&lincheng_admin, &tree.lincheng.id, "sunwei", "孙伟", &[Role::Member]).await;
    let login = async |code: &str, name: &str| app.login(code, name, PASSWORD).await.unwrap();
    World {
        staff: login("130528", "liuyang").await,
        member: login("130528", "wangjianjun").await,
        other_member: login("130528", "zhaomin").await,
        agriculture: login("130528", "nongyeju").await,
        lincheng_member: login("130522", "sunwei").await,
        lincheng_admin,
        tree,
    }
}

fn draft(title: &str, body: &str, category: pp::ProposalCategory) -> pp::Proposal {
    pp::Proposal {
        kind: pp::ProposalKind::Individual as i32,
        title: title.into(),
        body: body.into(),
        category: category as i32,
        ..Default::default()
    }
}

async fn create(c: &mut Client, p: pp::Proposal) -> pp::Proposal {
    c.create_proposal(pp::CreateProposalRequest { proposal: Some(p) }).await.unwrap().into_inner()
}

async fn submitted(c: &mut Client, p: pp::Proposal) -> pp::Proposal {
    let p = create(c, p).await;
    c.submit_proposal(pp::SubmitProposalRequest { id: p.id }).await.unwrap().into_inner()
}

async fn filed(staff: &mut Client, p: &pp::Proposal) -> pp::Proposal {
    staff.file_proposal(pp::FileProposalRequest { id: p.id.clone() }).await.unwrap().into_inner()
}

fn query(q: &str) -> pp::SearchProposalsRequest {
    pp::SearchProposalsRequest { query: q.into(), ..Default::default() }
}

async fn search(c: &mut Client, req: pp::SearchProposalsRequest) -> Vec<pp::SearchHit> {
    c.search_proposals(req).await.unwrap().into_inner().hits
}

fn ids(hits: &[pp::SearchHit]) -> Vec<String> {
    hits.iter().map(|h| h.proposal.as_ref().unwrap().id.clone()).collect()
}

fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}

fn today() -> Date {
    let d = (xieshang_platform::time::now() + chrono::Duration::hours(8)).date_naive();
    Date {
        year: d.format("%Y").to_string().parse().unwrap(),
        month: d.format("%m").to_string().parse().unwrap(),
        day: d.format("%d").to_string().parse().unwrap(),
    }
}

fn yesterday() -> Date {
    let d = (xieshang_platform::time::now() + chrono::Duration::hours(8) - chrono::Duration::days(1)).date_naive();
    Date {
        year: d.format("%Y").to_string().parse().unwrap(),
        month: d.format("%m").to_string().parse().unwrap(),
        day: d.format("%d").to_string().parse().unwrap(),
    }
}

/// The corpus: three filed proposals about 协商 (one written in traditional
/// characters), one about drinking water, a draft, and another committee's.
struct Corpus {
    deliberation: pp::Proposal,
    saline: pp::Proposal,
    traditional: pp::Proposal,
    water: pp::Proposal,
    draft: pp::Proposal,
    elsewhere: pp::Proposal,
}

async fn corpus(w: &World) -> Corpus {
    let (mut member, mut other, mut staff) = (w.member.proposals(), w.other_member.proposals(), w.staff.proposals());
    use pp::ProposalCategory::{Economic, Political, Social};
    let deliberation = submitted(
        &mut member,
        draft(
            "关于推进政协协商民主建设的建议",
            "建议完善政协协商议题征集机制，健全协商成果采纳、落实和反馈制度，让协商于决策之前、贯穿决策全过程。",
            Political,
        ),
    )
    .await;
    let saline = submitted(
        &mut member,
        draft(
            "关于加快宁晋县盐碱地改良的建议",
            "宁晋县东部乡镇盐碱地面积较大，建议整合农田水利资金，推广暗管排盐与耐盐作物种植，并与种植户充分协商。",
            Economic,
        ),
    )
    .await;
    let traditional = submitted(
        &mut other,
        draft("關於完善基層協商機制的建議", "建議在鄉鎮設立協商議事會，定期聽取群眾意見。", Political),
    )
    .await;
    let water = submitted(
        &mut member,
        draft("关于保障农村饮水安全的提案", "部分村庄自来水水质不稳定，建议加快城乡供水一体化改造。", Social),
    )
    .await;
    let unsubmitted =
        create(&mut member, draft("关于协商民主的草稿", "尚未提交的协商草稿，办公室看不到。", Political)).await;
    let elsewhere = submitted(
        &mut w.lincheng_member.proposals(),
        draft("关于临城县协商民主工作的建议", "临城县政协协商民主工作的建议。", Political),
    )
    .await;
    let deliberation = filed(&mut staff, &deliberation).await;
    let saline = filed(&mut staff, &saline).await;
    let traditional = filed(&mut staff, &traditional).await;
    let saline = staff
        .assign_proposal(pp::AssignProposalRequest {
            id: saline.id.clone(),
            lead_unit_user_id: w.agriculture.user.id.clone(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    Corpus { deliberation, saline, traditional, water, draft: unsubmitted, elsewhere }
}

#[tokio::test]
async fn search_segments_folds_filters_ranks_and_pages() {
    let app = spawn_app().await;
    let w = world(&app).await;
    let c = corpus(&w).await;
    let mut staff = w.staff.proposals();

    // A word inside a longer phrase: 民主 in 协商民主建设; 改良 in 盐碱地改良.
    assert_eq!(ids(&search(&mut staff, query("民主")).await), vec![c.deliberation.id.clone()]);
    assert_eq!(ids(&search(&mut staff, query("改良")).await), vec![c.saline.id.clone()]);
    // Several words: all are required.
    assert_eq!(ids(&search(&mut staff, query("盐碱地 作物")).await), vec![c.saline.id.clone()]);
    assert!(search(&mut staff, query("盐碱地 饮水")).await.is_empty());

    // Traditional finds simplified and simplified finds traditional; the
    // draft (someone else's, for the office) and the other committee's never.
    let all = vec![c.deliberation.id.clone(), c.saline.id.clone(), c.traditional.id.clone()];
    let hits = search(&mut staff, query("協商")).await;
    assert_eq!(sorted(ids(&hits)), sorted(all.clone()));
    assert_eq!(sorted(ids(&search(&mut staff, query("协商")).await)), sorted(all.clone()));
    assert!(hits.iter().all(|h| h.proposal.as_ref().unwrap().committee_id == w.tree.ningjin.id));
    assert!(!ids(&hits).contains(&c.draft.id) && !ids(&hits).contains(&c.elsewhere.id));
    // The better match first: 协商 in the title and throughout the body.
    let order = ids(&hits);
    let pos = |id: &str| order.iter().position(|x| x == id).unwrap();
    assert!(pos(&c.deliberation.id) < pos(&c.saline.id), "{order:?}");
    assert!(hits.windows(2).all(|p| p[0].score >= p[1].score));
    // Snippets mark the matches in the original characters.
    let trad = hits.iter().find(|h| h.proposal.as_ref().unwrap().id == c.traditional.id).unwrap();
    assert!(trad.snippet.contains("<mark>協商</mark>"), "{}", trad.snippet);
    let saline_hit = hits.iter().find(|h| h.proposal.as_ref().unwrap().id == c.saline.id).unwrap();
    assert!(saline_hit.snippet.contains("充分<mark>协商</mark>"), "{}", saline_hit.snippet);

    // Filters combine with the text.
    let by = |f: fn(&mut pp::SearchProposalsRequest)| {
        let mut r = query("协商");
        f(&mut r);
        r
    };
    let economic = search(&mut staff, by(|r| r.category = pp::ProposalCategory::Economic as i32)).await;
    assert_eq!(ids(&economic), vec![c.saline.id.clone()]);
    let filed_only = search(&mut staff, by(|r| r.state = pp::ProposalState::Filed as i32)).await;
    assert_eq!(sorted(ids(&filed_only)), sorted(vec![c.deliberation.id.clone(), c.traditional.id.clone()]));
    let mut r = query("协商");
    r.unit_user_id = w.agriculture.user.id.clone();
    assert_eq!(ids(&search(&mut staff, r).await), vec![c.saline.id.clone()]);
    let mut r = query("协商");
    r.proposer_user_id = w.other_member.user.id.clone();
    assert_eq!(ids(&search(&mut staff, r).await), vec![c.traditional.id.clone()]);
    assert!(search(&mut staff, by(|r| r.key = Some(true))).await.is_empty());
    assert!(search(&mut staff, by(|r| r.overdue = true)).await.is_empty());
    let mut r = query("协商");
    r.submitted_from = Some(today());
    assert_eq!(search(&mut staff, r).await.len(), 3);
    let mut r = query("协商");
    r.submitted_to = Some(yesterday());
    assert!(search(&mut staff, r).await.is_empty());
    let mut r = query("协商");
    r.submitted_from = Some(today());
    r.submitted_to = Some(yesterday());
    assert_eq!(violated_field(&assert_code(staff.search_proposals(r).await, Code::InvalidArgument)), "submitted_to");
    assert_eq!(violated_field(&assert_code(staff.search_proposals(query(" ")).await, Code::InvalidArgument)), "query");
    assert_eq!(
        violated_field(&assert_code(staff.search_proposals(query("，。")).await, Code::InvalidArgument)),
        "query"
    );

    // Paging, best first, across pages.
    let mut seen = Vec::new();
    let mut token = String::new();
    loop {
        let mut r = query("协商");
        r.page_size = 1;
        r.page_token = token;
        let page = staff.search_proposals(r).await.unwrap().into_inner();
        assert!(page.hits.len() <= 1);
        seen.extend(ids(&page.hits));
        if page.next_page_token.is_empty() {
            break;
        }
        token = page.next_page_token;
    }
    assert_eq!(seen, order);
    let mut r = query("协商");
    r.page_token = "bogus".into();
    assert_eq!(violated_field(&assert_code(staff.search_proposals(r).await, Code::InvalidArgument)), "page_token");

    // Who sees what: a unit its assigned ones, a member their own (drafts
    // too), the other committee only its own.
    assert_eq!(ids(&search(&mut w.agriculture.proposals(), query("协商")).await), vec![c.saline.id.clone()]);
    let mine = search(&mut w.member.proposals(), query("协商")).await;
    assert_eq!(sorted(ids(&mine)), sorted(vec![c.deliberation.id.clone(), c.saline.id.clone(), c.draft.id.clone()]));
    assert_eq!(ids(&search(&mut w.other_member.proposals(), query("协商")).await), vec![c.traditional.id.clone()]);
    assert!(search(&mut w.other_member.proposals(), query("饮水")).await.is_empty());
    assert_eq!(ids(&search(&mut staff, query("饮水")).await), vec![c.water.id.clone()]);
    let theirs = search(&mut w.lincheng_admin.proposals(), query("協商")).await;
    assert_eq!(ids(&theirs), vec![c.elsewhere.id.clone()]);

    // Edits of a draft are searchable at once.
    let mut member = w.member.proposals();
    member
        .update_proposal(pp::UpdateProposalRequest {
            proposal: Some(pp::Proposal {
                id: c.draft.id.clone(),
                title: "关于湿地保护的草稿".into(),
                ..Default::default()
            }),
            update_mask: Some(prost_types::FieldMask { paths: vec!["title".into()] }),
            etag: String::new(),
        })
        .await
        .unwrap();
    assert_eq!(ids(&search(&mut member, query("湿地")).await), vec![c.draft.id.clone()]);
    app.stop().await;
}

#[tokio::test]
async fn digests_are_compiled_reordered_and_exported() {
    let app = spawn_app().await;
    let w = world(&app).await;
    let c = corpus(&w).await;
    let mut d = w.staff.digests();

    let digest = d
        .create_digest(pp::CreateDigestRequest { title: "重要提案摘报".into(), period: "2026年第1期".into() })
        .await
        .unwrap()
        .into_inner();
    assert!(digest.entries.is_empty());
    let add = |proposal: &pp::Proposal, summary: &str, position: i32| pp::AddDigestEntryRequest {
        digest_id: digest.id.clone(),
        proposal_id: proposal.id.clone(),
        summary: summary.into(),
        position,
    };
    d.add_digest_entry(add(&c.deliberation, "建议健全协商成果采纳、落实和反馈制度。", 0)).await.unwrap();
    // At position 1: goes before the first.
    let got = d.add_digest_entry(add(&c.saline, "建议推广暗管排盐与耐盐作物。", 1)).await.unwrap().into_inner();
    let order: Vec<&str> = got.entries.iter().map(|e| e.proposal_id.as_str()).collect();
    assert_eq!(order, vec![c.saline.id.as_str(), c.deliberation.id.as_str()]);
    assert_eq!(got.entries.iter().map(|e| e.position).collect::<Vec<_>>(), vec![1, 2]);
    assert_eq!(got.entries[0].proposal_title, c.saline.title);
    assert_eq!(got.entries[0].proposal_number, c.saline.number);

    // Only FILED or later; the message names the state.
    let refused = assert_code(d.add_digest_entry(add(&c.water, "提交未立案", 0)).await, Code::FailedPrecondition);
    assert!(refused.message().contains("SUBMITTED"), "{}", refused.message());
    // Someone else's draft is not even visible to the office.
    assert_code(d.add_digest_entry(add(&c.draft, "草稿", 0)).await, Code::NotFound);
    // Another committee's proposal: not found.
    assert_code(d.add_digest_entry(add(&c.elsewhere, "外地", 0)).await, Code::NotFound);
    // Twice, too long, empty.
    let twice = d.add_digest_entry(add(&c.saline, "again", 0)).await;
    assert_eq!(violated_field(&assert_code(twice, Code::InvalidArgument)), "proposal_id");
    let long = d.add_digest_entry(add(&c.traditional, &"长".repeat(501), 0)).await;
    assert_eq!(violated_field(&assert_code(long, Code::InvalidArgument)), "summary");
    let empty = d.add_digest_entry(add(&c.traditional, " ", 0)).await;
    assert_eq!(violated_field(&assert_code(empty, Code::InvalidArgument)), "summary");

    // Reorder: every entry once.
    let got = d
        .reorder_digest(pp::ReorderDigestRequest {
            digest_id: digest.id.clone(),
            proposal_ids: vec![c.deliberation.id.clone(), c.saline.id.clone()],
        })
        .await
        .unwrap()
        .into_inner();
    let order: Vec<&str> = got.entries.iter().map(|e| e.proposal_id.as_str()).collect();
    assert_eq!(order, vec![c.deliberation.id.as_str(), c.saline.id.as_str()]);
    let partial = d
        .reorder_digest(pp::ReorderDigestRequest {
            digest_id: digest.id.clone(),
            proposal_ids: vec![c.saline.id.clone()],
        })
        .await;
    assert_eq!(violated_field(&assert_code(partial, Code::InvalidArgument)), "proposal_ids");

    // Export: Markdown in order; DOCX a zip.
    let md = d
        .export_digest(pp::ExportDigestRequest { id: digest.id.clone(), format: pp::DigestFormat::Markdown as i32 })
        .await
        .unwrap()
        .into_inner();
    assert!(md.media_type.starts_with("text/markdown"));
    assert!(md.file_name.ends_with(".md"));
    let text = String::from_utf8(md.content).unwrap();
    assert!(text.starts_with("# 重要提案摘报\n\n2026年第1期\n"), "{text}");
    let first = text.find(&format!("## 1. 第{}号 关于推进政协协商民主建设的建议", c.deliberation.number)).unwrap();
    let second = text.find(&format!("## 2. 第{}号 关于加快宁晋县盐碱地改良的建议", c.saline.number)).unwrap();
    assert!(first < second, "{text}");
    assert!(text.contains("建议健全协商成果采纳、落实和反馈制度。"));
    let docx = d
        .export_digest(pp::ExportDigestRequest { id: digest.id.clone(), format: pp::DigestFormat::Docx as i32 })
        .await
        .unwrap()
        .into_inner();
    assert!(docx.content.starts_with(b"PK") && docx.content.len() > 1000);
    assert!(docx.file_name.ends_with(".docx"));
    let none = d.export_digest(pp::ExportDigestRequest { id: digest.id.clone(), format: 0 }).await;
    assert_eq!(violated_field(&assert_code(none, Code::InvalidArgument)), "format");

    // Listing and reading.
    let list = d.list_digests(pp::ListDigestsRequest::default()).await.unwrap().into_inner();
    assert_eq!(list.digests.iter().map(|x| x.id.clone()).collect::<Vec<_>>(), vec![digest.id.clone()]);
    let read = d.get_digest(pp::GetDigestRequest { id: digest.id.clone() }).await.unwrap().into_inner();
    assert_eq!(read.entries.len(), 2);
    assert_ne!(read.etag, digest.etag);

    // Members may not compile digests; another committee does not see this one.
    let by_member =
        w.member.digests().create_digest(pp::CreateDigestRequest { title: "摘报".into(), period: "一期".into() }).await;
    assert_code(by_member, Code::PermissionDenied);
    let mut theirs = w.lincheng_admin.digests();
    assert_code(theirs.get_digest(pp::GetDigestRequest { id: digest.id.clone() }).await, Code::NotFound);
    assert!(theirs.list_digests(pp::ListDigestsRequest::default()).await.unwrap().into_inner().digests.is_empty());
    app.stop().await;
}
