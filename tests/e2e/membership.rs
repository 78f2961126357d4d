//! Membership (委员管理): the roster and its validation, personal information
//! (masked, encrypted at rest, audited reveal), isolation between committees
//! and between members, and performance-record entries fed by events.

use std::time::Duration;

use sea_orm::{ConnectionTrait, Statement};
use tonic::Code;
use xieshang_platform::db::Scope;
use xieshang_platform::ids::CommitteeId;
use xieshang_proto::common::v1::{Date, Role};
use xieshang_proto::events::v1::{AttendanceRecorded, Event, event::Payload};
use xieshang_proto::membership::v1 as pm;
use xieshang_proto::membership::v1::membership_service_client::MembershipServiceClient;
use xieshang_proto::proposals::v1 as pp;
use xieshang_proto::tenants::v1 as pb;
use xieshang_tests::*;

pub(crate) type Client = MembershipServiceClient<Authed>;

/// An ID number (居民身份证号码) with its GB 11643 check character.
pub(crate) fn id_number(first17: &str) -> String {
    const WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
    let sum: u32 = first17.bytes().zip(WEIGHTS).map(|(b, w)| u32::from(b - b'0') * w).sum();
    format!("{first17}{}", b"10X98765432"[(sum % 11) as usize] as char)
}

/// The same number with a wrong check character.
pub(crate) fn with_bad_check(id: &str) -> String {
    let wrong = if id.ends_with('0') { '1' } else { '0' };
    format!("{}{wrong}", &id[..17])
}

pub(crate) fn this_year() -> i32 {
    let now = xieshang_platform::time::now() + Duration::from_secs(8 * 3600);
    now.format("%Y").to_string().parse().unwrap()
}

/// 宁晋县政协 with its reference data, office staff and two member accounts.
pub(crate) struct Ningjin {
    pub(crate) tree: Tree,
    pub(crate) admin: Session,
    pub(crate) staff: Session,
    /// 张建国's account (ROLE_MEMBER).
    pub(crate) zhang: Session,
    /// 李秀英's account (ROLE_MEMBER).
    pub(crate) li: Session,
    pub(crate) sector_cpc: String,
    pub(crate) sector_economy: String,
    pub(crate) group_one: String,
    pub(crate) group_two: String,
    pub(crate) proposal_committee: String,
    pub(crate) station: String,
}

pub(crate) async fn ningjin(app: &TestApp) -> Ningjin {
    let tree = seed_tree(app).await;
    let admin = app.login("130528", "admin", PASSWORD).await.unwrap();
    let id = tree.ningjin.id.clone();
    create_user(&admin, &id, "liuyang", "刘洋", &[Role::Staff]).await;
    create_user(&admin, &id, "zhangjianguo", "张建国", &[Role::Member]).await;
    create_user(&admin, &id, "lixiuying", "李秀英", &[Role::Member]).await;
    let staff = app.login("130528", "liuyang", PASSWORD).await.unwrap();
    let zhang = app.login("130528", "zhangjianguo", PASSWORD).await.unwrap();
    let li = app.login("130528", "lixiuying", PASSWORD).await.unwrap();
    let mut c = staff.membership();
    use pm::ReferenceKind as K;
    let sector_cpc = reference_item(&mut c, K::Sector, "01", "中共").await;
    let sector_economy = reference_item(&mut c, K::Sector, "12", "经济界").await;
    let group_one = reference_item(&mut c, K::ActivityGroup, "", "宁晋县第一活动小组").await;
    let group_two = reference_item(&mut c, K::ActivityGroup, "", "宁晋县第二活动小组").await;
    let proposal_committee = reference_item(&mut c, K::SpecialCommittee, "", "提案委员会").await;
    let station = reference_item(&mut c, K::LiaisonStation, "", "凤凰镇委员联络站").await;
    Ningjin {
        tree,
        admin,
        staff,
        zhang,
        li,
        sector_cpc,
        sector_economy,
        group_one,
        group_two,
        proposal_committee,
        station,
    }
}

impl Ningjin {
    /// A valid serving member of 经济界, 民盟, 第一活动小组, 提案委员会.
    pub(crate) fn member(&self, name: &str, id17: &str, phone: &str) -> pm::Member {
        pm::Member {
            name: name.into(),
            gender: pm::Gender::Male as i32,
            ethnicity: "汉族".into(),
            party: pm::PartyAffiliation::Cdl as i32,
            sector_id: self.sector_economy.clone(),
            work_unit: "宁晋县晶龙实业集团".into(),
            title: "副总经理".into(),
            phone: phone.into(),
            id_number: id_number(id17),
            term_number: 10,
            role: pm::MemberRole::Member as i32,
            activity_group_id: self.group_one.clone(),
            special_committee_id: self.proposal_committee.clone(),
            liaison_station_id: self.station.clone(),
            ..Default::default()
        }
    }
}

pub(crate) async fn create(c: &mut Client, m: pm::Member) -> Result<pm::Member, tonic::Status> {
    c.create_member(pm::CreateMemberRequest { member: Some(m) }).await.map(|r| r.into_inner())
}

fn mask(paths: &[&str]) -> Option<prost_types::FieldMask> {
    Some(prost_types::FieldMask { paths: paths.iter().map(|p| (*p).to_owned()).collect() })
}

#[tokio::test]
async fn roster_crud_filters_paging_and_status_history() {
    let app = spawn_app().await;
    let n = ningjin(&app).await;
    let mut c = n.staff.membership();

    let zhang = create(&mut c, n.member("张建国", "13052819720305123", "13831912345")).await.unwrap();
    assert_eq!(zhang.birth_year, 1972, "taken from the ID number");
    assert_eq!(zhang.status, pm::MemberStatus::Serving as i32);
    assert_eq!(zhang.committee_id, n.tree.ningjin.id);
    let mut li = n.member("李秀英", "13052819800612234", "13931955678");
    li.gender = pm::Gender::Female as i32;
    li.party = pm::PartyAffiliation::Cpc as i32;
    li.sector_id = n.sector_cpc.clone();
    li.activity_group_id = n.group_two.clone();
    li.role = pm::MemberRole::StandingMember as i32;
    li.standing_committee = true;
    let li = create(&mut c, li).await.unwrap();
    let wang = create(&mut c, n.member("王建民", "13052819650101345", "13703191234")).await.unwrap();

    let got = c.get_member(pm::GetMemberRequest { id: zhang.id.clone() }).await.unwrap().into_inner();
    assert_eq!(got.name, "张建国");
    assert_eq!(got.work_unit, "宁晋县晶龙实业集团");
    assert_eq!(got.liaison_station_id, n.station);

    let list = async |c: &mut Client, r: pm::ListMembersRequest| -> Vec<String> {
        c.list_members(r).await.unwrap().into_inner().members.into_iter().map(|m| m.name).collect()
    };
    let by_sector = list(&mut c, pm::ListMembersRequest { sector_id: n.sector_economy.clone(), ..Default::default() });
    assert_eq!(by_sector.await, vec!["张建国", "王建民"]);
    let by_party =
        list(&mut c, pm::ListMembersRequest { party: pm::PartyAffiliation::Cpc as i32, ..Default::default() }).await;
    assert_eq!(by_party, vec!["李秀英"]);
    let by_group =
        list(&mut c, pm::ListMembersRequest { activity_group_id: n.group_two.clone(), ..Default::default() });
    assert_eq!(by_group.await, vec!["李秀英"]);
    let by_special = list(
        &mut c,
        pm::ListMembersRequest { special_committee_id: n.proposal_committee.clone(), ..Default::default() },
    );
    assert_eq!(by_special.await.len(), 3);
    let by_name = list(&mut c, pm::ListMembersRequest { name_contains: "建".into(), ..Default::default() }).await;
    assert_eq!(by_name, vec!["张建国", "王建民"]);

    // Paging: two pages of two and one.
    let first =
        c.list_members(pm::ListMembersRequest { page_size: 2, ..Default::default() }).await.unwrap().into_inner();
    assert_eq!(first.members.len(), 2);
    assert!(!first.next_page_token.is_empty());
    let second = c
        .list_members(pm::ListMembersRequest { page_size: 2, page_token: first.next_page_token, ..Default::default() })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(second.members.iter().map(|m| m.name.as_str()).collect::<Vec<_>>(), vec!["王建民"]);
    assert!(second.next_page_token.is_empty());
    let bad_token = c.list_members(pm::ListMembersRequest { page_token: "garbage".into(), ..Default::default() }).await;
    assert_eq!(violated_field(&assert_code(bad_token, Code::InvalidArgument)), "page_token");

    // Update with a field mask and etag; a stale etag is refused.
    let mut change = li.clone();
    change.work_unit = "宁晋县人民医院".into();
    change.title = "院长".into();
    let updated = c
        .update_member(pm::UpdateMemberRequest {
            member: Some(change.clone()),
            update_mask: mask(&["work_unit", "title"]),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!((updated.work_unit.as_str(), updated.title.as_str()), ("宁晋县人民医院", "院长"));
    assert_eq!(updated.name, "李秀英");
    assert_ne!(updated.etag, li.etag);
    let stale = c.update_member(pm::UpdateMemberRequest { member: Some(change), update_mask: mask(&["title"]) }).await;
    assert_code(stale, Code::Aborted);
    let not_allowed = c
        .update_member(pm::UpdateMemberRequest { member: Some(updated.clone()), update_mask: mask(&["status"]) })
        .await;
    assert_eq!(violated_field(&assert_code(not_allowed, Code::InvalidArgument)), "update_mask");

    // Status changes are kept in history; members are never deleted.
    let resigned = c
        .change_member_status(pm::ChangeMemberStatusRequest {
            id: wang.id.clone(),
            status: pm::MemberStatus::Resigned as i32,
            effective_date: Some(Date { year: 2025, month: 3, day: 1 }),
            reason: "工作调动，辞去委员职务".into(),
            etag: wang.etag.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(resigned.status, pm::MemberStatus::Resigned as i32);
    assert_eq!(resigned.status_date, Some(Date { year: 2025, month: 3, day: 1 }));
    let again = c
        .change_member_status(pm::ChangeMemberStatusRequest {
            id: wang.id.clone(),
            status: pm::MemberStatus::Resigned as i32,
            effective_date: Some(Date { year: 2025, month: 3, day: 2 }),
            reason: "重复".into(),
            etag: String::new(),
        })
        .await;
    assert_code(again, Code::FailedPrecondition);
    c.change_member_status(pm::ChangeMemberStatusRequest {
        id: wang.id.clone(),
        status: pm::MemberStatus::Dismissed as i32,
        effective_date: Some(Date { year: 2025, month: 6, day: 30 }),
        reason: "连续两年未履职，予以劝辞".into(),
        etag: String::new(),
    })
    .await
    .unwrap();
    let history = c
        .list_member_status_changes(pm::ListMemberStatusChangesRequest { member_id: wang.id.clone() })
        .await
        .unwrap()
        .into_inner()
        .changes;
    let steps: Vec<(i32, i32)> = history.iter().map(|h| (h.from_status, h.to_status)).collect();
    use pm::MemberStatus as S;
    assert_eq!(steps, vec![(S::Serving as i32, S::Resigned as i32), (S::Resigned as i32, S::Dismissed as i32)]);
    assert_eq!(history[1].reason, "连续两年未履职，予以劝辞");
    assert_eq!(history[1].changed_by_user_id, n.staff.user.id);
    let serving = list(&mut c, pm::ListMembersRequest { status: S::Serving as i32, ..Default::default() }).await;
    assert_eq!(serving, vec!["张建国", "李秀英"]);
    let dismissed = list(&mut c, pm::ListMembersRequest { status: S::Dismissed as i32, ..Default::default() }).await;
    assert_eq!(dismissed, vec!["王建民"]);

    // Reference data: listed by kind, renamed with a mask.
    let groups = c
        .list_reference_items(pm::ListReferenceItemsRequest {
            kind: pm::ReferenceKind::ActivityGroup as i32,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .items;
    assert_eq!(groups.len(), 2);
    let renamed = c
        .update_reference_item(pm::UpdateReferenceItemRequest {
            item: Some(pm::ReferenceItem { name: "宁晋县第一委员活动小组".into(), ..groups[0].clone() }),
            update_mask: mask(&["name"]),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(renamed.name, "宁晋县第一委员活动小组");
    let sectors = c
        .list_reference_items(pm::ListReferenceItemsRequest {
            kind: pm::ReferenceKind::Sector as i32,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .items;
    assert_eq!(
        sectors.iter().map(|s| (s.code.as_str(), s.name.as_str())).collect::<Vec<_>>(),
        vec![("01", "中共"), ("12", "经济界")]
    );
    app.stop().await;
}

#[tokio::test]
async fn roster_validation_names_the_field() {
    let app = spawn_app().await;
    let n = ningjin(&app).await;
    let mut c = n.staff.membership();
    let good = n.member("张建国", "13052819720305123", "13831912345");

    let mut bad_check = good.clone();
    bad_check.id_number = with_bad_check(&good.id_number);
    let err = assert_code(create(&mut c, bad_check).await, Code::InvalidArgument);
    assert_eq!(violated_field(&err), "member.id_number");
    assert!(err.message().contains("check digit"), "{}", err.message());

    let mut unknown_sector = good.clone();
    unknown_sector.sector_id = uuid::Uuid::now_v7().to_string();
    let err = assert_code(create(&mut c, unknown_sector).await, Code::InvalidArgument);
    assert_eq!(violated_field(&err), "member.sector_id");
    // An activity group is not a sector either.
    let mut group_as_sector = good.clone();
    group_as_sector.sector_id = n.group_one.clone();
    assert_eq!(
        violated_field(&assert_code(create(&mut c, group_as_sector).await, Code::InvalidArgument)),
        "member.sector_id"
    );

    let mut no_special = good.clone();
    no_special.special_committee_id = String::new();
    let err = assert_code(create(&mut c, no_special).await, Code::InvalidArgument);
    assert_eq!(violated_field(&err), "member.special_committee_id");

    let mut bad_phone = good.clone();
    bad_phone.phone = "0319-5551234".into();
    assert_eq!(violated_field(&assert_code(create(&mut c, bad_phone).await, Code::InvalidArgument)), "member.phone");
    let mut wrong_year = good.clone();
    wrong_year.birth_year = 1980;
    assert_eq!(
        violated_field(&assert_code(create(&mut c, wrong_year).await, Code::InvalidArgument)),
        "member.birth_year"
    );
    let mut no_party = good.clone();
    no_party.party = 0;
    assert_eq!(violated_field(&assert_code(create(&mut c, no_party).await, Code::InvalidArgument)), "member.party");
    let mut staff_as_user = good.clone();
    staff_as_user.user_id = n.staff.user.id.clone();
    assert_eq!(
        violated_field(&assert_code(create(&mut c, staff_as_user).await, Code::InvalidArgument)),
        "member.user_id"
    );

    let created = create(&mut c, good.clone()).await.unwrap();
    // The same ID number again (lower-case x or not) is refused within the committee.
    let mut twin = n.member("张建军", "13052819720305123", "13831954321");
    twin.id_number = good.id_number.to_lowercase();
    let err = assert_code(create(&mut c, twin).await, Code::AlreadyExists);
    assert_eq!(violated_field(&err), "member.id_number");
    // …and on update.
    let other = create(&mut c, n.member("王建民", "13052819650101345", "13703191234")).await.unwrap();
    let clash = c
        .update_member(pm::UpdateMemberRequest {
            member: Some(pm::Member { id_number: good.id_number.clone(), ..other.clone() }),
            update_mask: mask(&["id_number"]),
        })
        .await;
    assert_eq!(violated_field(&assert_code(clash, Code::AlreadyExists)), "member.id_number");
    // Removing the special committee of a serving member is refused.
    let cleared = c
        .update_member(pm::UpdateMemberRequest {
            member: Some(pm::Member { special_committee_id: String::new(), ..created.clone() }),
            update_mask: mask(&["special_committee_id"]),
        })
        .await;
    assert_eq!(violated_field(&assert_code(cleared, Code::InvalidArgument)), "member.special_committee_id");

    // Sector codes are required and unique; a member account cannot manage reference data.
    let no_code = c
        .create_reference_item(pm::CreateReferenceItemRequest {
            item: Some(pm::ReferenceItem {
                kind: pm::ReferenceKind::Sector as i32,
                name: "农业界".into(),
                ..Default::default()
            }),
        })
        .await;
    assert_eq!(violated_field(&assert_code(no_code, Code::InvalidArgument)), "item.code");
    let dup = c
        .create_reference_item(pm::CreateReferenceItemRequest {
            item: Some(pm::ReferenceItem {
                kind: pm::ReferenceKind::Sector as i32,
                code: "12".into(),
                name: "经济界别".into(),
                ..Default::default()
            }),
        })
        .await;
    assert_eq!(violated_field(&assert_code(dup, Code::AlreadyExists)), "item.code");
    let by_member = n
        .zhang
        .membership()
        .create_reference_item(pm::CreateReferenceItemRequest {
            item: Some(pm::ReferenceItem {
                kind: pm::ReferenceKind::ActivityGroup as i32,
                name: "第三活动小组".into(),
                ..Default::default()
            }),
        })
        .await;
    assert_code(by_member, Code::PermissionDenied);
    app.stop().await;
}

#[tokio::test]
async fn personal_information_is_masked_encrypted_at_rest_and_revealed_with_an_audit_row() {
    let app = spawn_app().await;
    let n = ningjin(&app).await;
    let mut c = n.staff.membership();
    let phone = "13831912345";
    let id = id_number("13052819720305123");
    let zhang = create(&mut c, n.member("张建国", "13052819720305123", phone)).await.unwrap();
    assert_eq!(zhang.phone, "138****2345");
    assert_eq!(zhang.id_number, format!("130528********{}", &id[14..]));
    let listed = c.list_members(pm::ListMembersRequest::default()).await.unwrap().into_inner().members;
    assert_eq!(listed[0].phone, "138****2345");
    assert_eq!(listed[0].id_number, zhang.id_number);

    // At rest: neither the phone nor the ID number is stored in clear.
    let committee = CommitteeId::parse("id", &n.tree.ningjin.id).unwrap();
    let tx = app.running.db.begin(Scope::Committee(committee)).await.unwrap();
    let rows = tx
        .query_all_raw(Statement::from_string(
            app.running.db.backend(),
            "SELECT phone_enc, id_number_enc, id_digest FROM members",
        ))
        .await
        .unwrap();
    assert_eq!(rows.len(), 1);
    let stored_phone: Vec<u8> = rows[0].try_get("", "phone_enc").unwrap();
    let stored_id: Vec<u8> = rows[0].try_get("", "id_number_enc").unwrap();
    let digest: String = rows[0].try_get("", "id_digest").unwrap();
    let contains = |hay: &[u8], needle: &str| hay.windows(needle.len()).any(|w| w == needle.as_bytes());
    assert!(!contains(&stored_phone, phone) && !contains(&stored_phone, "5678") && !contains(&stored_phone, "1383"));
    assert!(!contains(&stored_id, &id) && !contains(&stored_id, "130528"));
    assert!(stored_phone.len() >= phone.len() + 13 + 16, "nonce and tag are kept with the ciphertext");
    assert!(!digest.contains(&id) && digest.len() == 64);
    drop(tx);
    if app.backend == Backend::Postgres {
        // Row-level security: 临城县's scope sees none of 宁晋县's members.
        let lincheng = CommitteeId::parse("id", &n.tree.lincheng.id).unwrap();
        let tx = app.running.db.begin(Scope::Committee(lincheng)).await.unwrap();
        let sql = "SELECT id FROM members UNION ALL SELECT id FROM member_reference_items";
        let foreign = tx.query_all_raw(Statement::from_string(app.running.db.backend(), sql)).await.unwrap();
        assert!(foreign.is_empty());
    }

    // Reveal: staff only, audited without the values.
    let revealed =
        c.reveal_member_contact(pm::RevealMemberContactRequest { id: zhang.id.clone() }).await.unwrap().into_inner();
    assert_eq!((revealed.phone.as_str(), revealed.id_number.as_str()), (phone, id.as_str()));
    let denied =
        n.zhang.membership().reveal_member_contact(pm::RevealMemberContactRequest { id: zhang.id.clone() }).await;
    assert_code(denied, Code::PermissionDenied);

    let log = n
        .admin
        .audit()
        .list_audit_entries(pb::ListAuditEntriesRequest {
            committee_id: n.tree.ningjin.id.clone(),
            target_type: "member".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .entries;
    let reveal = log.iter().find(|e| e.method.ends_with("/RevealMemberContact")).expect("an audit row for the reveal");
    assert_eq!(reveal.method, "/xieshang.membership.v1.MembershipService/RevealMemberContact");
    assert_eq!((reveal.target_id.as_str(), reveal.actor_username.as_str()), (zhang.id.as_str(), "liuyang"));
    assert!(
        reveal.changes_json.contains("phone") && reveal.changes_json.contains("id_number"),
        "{}",
        reveal.changes_json
    );
    assert!(log.iter().any(|e| e.method.ends_with("/CreateMember")));
    let everything = n
        .admin
        .audit()
        .list_audit_entries(pb::ListAuditEntriesRequest {
            committee_id: n.tree.ningjin.id.clone(),
            page_size: 500,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .entries;
    for entry in &everything {
        assert!(!entry.changes_json.contains(phone), "phone in audit: {}", entry.changes_json);
        assert!(!entry.changes_json.contains(&id[..14]), "ID number in audit: {}", entry.changes_json);
    }
    app.stop().await;
}

#[tokio::test]
async fn other_committees_get_not_found_and_members_see_only_themselves() {
    let app = spawn_app().await;
    let n = ningjin(&app).await;
    let mut c = n.staff.membership();
    let mut zhang = n.member("张建国", "13052819720305123", "13831912345");
    zhang.user_id = n.zhang.user.id.clone();
    let zhang = create(&mut c, zhang).await.unwrap();
    let mut li = n.member("李秀英", "13052819800612234", "13931955678");
    li.user_id = n.li.user.id.clone();
    li.gender = pm::Gender::Female as i32;
    let li = create(&mut c, li).await.unwrap();
    let wang = create(&mut c, n.member("王建民", "13052819650101345", "13703191234")).await.unwrap();
    // The same account cannot be linked twice.
    let mut twice = n.member("赵志刚", "13052819770809456", "13603195678");
    twice.user_id = n.zhang.user.id.clone();
    assert_eq!(violated_field(&assert_code(create(&mut c, twice).await, Code::AlreadyExists)), "member.user_id");

    let year = this_year();
    let entry = |member: &pm::Member, kind: pm::RecordKind, points: i32, text: &str| pm::CreateRecordEntryRequest {
        entry: Some(pm::RecordEntry {
            member_id: member.id.clone(),
            kind: kind as i32,
            date: Some(Date { year, month: 1, day: 15 }),
            points,
            description: text.into(),
            evidence_ref: "宁政协办〔2026〕3号".into(),
            ..Default::default()
        }),
    };
    let staff_entry = c
        .create_record_entry(entry(&zhang, pm::RecordKind::Inspections, 0, "参加全县盐碱地治理视察"))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(staff_entry.points, 3, "the default rule for inspections");
    assert_eq!(staff_entry.source, pm::RecordSource::Staff as i32);
    assert_eq!(staff_entry.verified_by_user_id, n.staff.user.id);
    c.create_record_entry(entry(&zhang, pm::RecordKind::Speeches, 6, "县政协全会大会发言")).await.unwrap();
    c.create_record_entry(entry(&li, pm::RecordKind::Service, 12, "组织界别群众义诊")).await.unwrap();
    c.create_record_entry(entry(&wang, pm::RecordKind::Consultations, 0, "参加专题协商会")).await.unwrap();

    // 临城县's staff see nothing of 宁晋县's roster.
    let lincheng_admin = app.login("130522", "admin", PASSWORD).await.unwrap();
    create_user(&lincheng_admin, &n.tree.lincheng.id, "sunli", "孙丽", &[Role::Staff]).await;
    let lincheng = app.login("130522", "sunli", PASSWORD).await.unwrap();
    let mut other = lincheng.membership();
    assert_code(other.get_member(pm::GetMemberRequest { id: zhang.id.clone() }).await, Code::NotFound);
    assert_code(
        other.reveal_member_contact(pm::RevealMemberContactRequest { id: zhang.id.clone() }).await,
        Code::NotFound,
    );
    let foreign_update = other
        .update_member(pm::UpdateMemberRequest { member: Some(zhang.clone()), update_mask: mask(&["title"]) })
        .await;
    assert_code(foreign_update, Code::NotFound);
    let foreign_status = other
        .change_member_status(pm::ChangeMemberStatusRequest {
            id: zhang.id.clone(),
            status: pm::MemberStatus::Dismissed as i32,
            effective_date: Some(Date { year, month: 1, day: 1 }),
            reason: "x".into(),
            etag: String::new(),
        })
        .await;
    assert_code(foreign_status, Code::NotFound);
    let foreign_entries = other
        .list_record_entries(pm::ListRecordEntriesRequest { member_id: zhang.id.clone(), ..Default::default() })
        .await;
    assert_code(foreign_entries, Code::NotFound);
    assert!(other.list_members(pm::ListMembersRequest::default()).await.unwrap().into_inner().members.is_empty());
    let foreign_sector =
        pm::Member { sector_id: n.sector_economy.clone(), ..n.member("周明", "13052219800101567", "13812340000") };
    assert_eq!(
        violated_field(&assert_code(create(&mut other, foreign_sector).await, Code::InvalidArgument)),
        "member.sector_id"
    );

    // A member reads their own entry and entries, nobody else's.
    let mut mine = n.zhang.membership();
    let me = mine.get_member(pm::GetMemberRequest { id: zhang.id.clone() }).await.unwrap().into_inner();
    assert_eq!(me.phone, "138****2345");
    assert_code(mine.get_member(pm::GetMemberRequest { id: li.id.clone() }).await, Code::PermissionDenied);
    assert_code(mine.list_members(pm::ListMembersRequest::default()).await, Code::PermissionDenied);
    assert_code(
        mine.create_record_entry(entry(&zhang, pm::RecordKind::Service, 50, "自报")).await,
        Code::PermissionDenied,
    );
    assert_code(
        mine.reveal_member_contact(pm::RevealMemberContactRequest { id: zhang.id.clone() }).await,
        Code::PermissionDenied,
    );
    let own_entries = mine
        .list_record_entries(pm::ListRecordEntriesRequest { member_id: zhang.id.clone(), year, ..Default::default() })
        .await
        .unwrap()
        .into_inner()
        .entries;
    assert_eq!(own_entries.len(), 2);
    let others =
        mine.list_record_entries(pm::ListRecordEntriesRequest { member_id: li.id.clone(), ..Default::default() }).await;
    assert_code(others, Code::PermissionDenied);

    // GetMyRecord: own profile masked, own entries, rank in the group, others by name only.
    let record = mine.get_my_record(pm::GetMyRecordRequest { year }).await.unwrap().into_inner();
    let profile = record.member.unwrap();
    assert_eq!((profile.id.as_str(), profile.phone.as_str()), (zhang.id.as_str(), "138****2345"));
    assert!(profile.id_number.contains("********"));
    assert_eq!(record.entries.len(), 2);
    assert_eq!(record.total_points, 9);
    // 第一活动小组: 李秀英 12, 张建国 9, 王建民 3.
    assert_eq!((record.group_rank, record.group_size), (2, 3));
    let ranking: Vec<(i32, &str)> = record.ranking.iter().map(|r| (r.rank, r.name.as_str())).collect();
    assert_eq!(ranking, vec![(1, "李秀英"), (2, "张建国"), (3, "王建民")]);
    let li_record = n.li.membership().get_my_record(pm::GetMyRecordRequest { year }).await.unwrap().into_inner();
    assert_eq!(
        (li_record.member.unwrap().name.as_str(), li_record.total_points, li_record.group_rank),
        ("李秀英", 12, 1)
    );
    assert!(li_record.entries.iter().all(|e| e.member_id == li.id));
    // Staff without a linked member have no "my record".
    assert_code(c.get_my_record(pm::GetMyRecordRequest { year }).await, Code::NotFound);
    app.stop().await;
}

#[tokio::test]
async fn a_filed_proposal_gives_one_proposals_entry_even_when_delivered_twice() {
    let app = spawn_app().await;
    let recorder = Recorder::on(&app);
    let n = ningjin(&app).await;
    let mut c = n.staff.membership();
    let year = this_year();

    // A term and a plenary session, so that proposals can be filed.
    let mut committees = n.admin.committees();
    open_tenth_term(&mut committees, &n.tree.ningjin.id).await;

    // Proposals are worth 8 points in this committee this year.
    let rules = c
        .set_point_rules(pm::SetPointRulesRequest {
            rules: Some(pm::PointRules {
                year,
                rules: vec![pm::PointRule { kind: pm::RecordKind::Proposals as i32, points: 8 }],
                ..Default::default()
            }),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(rules.rules.len(), 7);
    let read = n.zhang.membership().get_point_rules(pm::GetPointRulesRequest { year }).await.unwrap().into_inner();
    let points_of = |r: &pm::PointRules, k: pm::RecordKind| r.rules.iter().find(|x| x.kind == k as i32).unwrap().points;
    assert_eq!((points_of(&read, pm::RecordKind::Proposals), points_of(&read, pm::RecordKind::Meetings)), (8, 2));
    let by_member = n.zhang.membership().set_point_rules(pm::SetPointRulesRequest { rules: Some(read.clone()) }).await;
    assert_code(by_member, Code::PermissionDenied);

    let mut zhang = n.member("张建国", "13052819720305123", "13831912345");
    zhang.user_id = n.zhang.user.id.clone();
    let zhang = create(&mut c, zhang).await.unwrap();

    // 张建国 files a proposal; the office files it (立案).
    let mut p_member = n.zhang.proposals();
    let draft = p_member
        .create_proposal(pp::CreateProposalRequest {
            proposal: Some(pp::Proposal {
                kind: pp::ProposalKind::Individual as i32,
                title: "关于推进宁晋县盐碱地综合治理的建议".into(),
                body: "宁晋县东部乡镇盐碱地面积较大，建议整合农田水利资金，推广暗管排盐与耐盐作物种植。".into(),
                category: pp::ProposalCategory::Economic as i32,
                ..Default::default()
            }),
        })
        .await
        .unwrap()
        .into_inner();
    p_member.submit_proposal(pp::SubmitProposalRequest { id: draft.id.clone() }).await.unwrap();
    let filed =
        n.staff.proposals().file_proposal(pp::FileProposalRequest { id: draft.id.clone() }).await.unwrap().into_inner();
    assert_eq!(filed.state, pp::ProposalState::Filed as i32);

    let mut mine = n.zhang.membership();
    let year_request = pm::GetMyRecordRequest { year };
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    let mut record = mine.get_my_record(year_request).await.unwrap().into_inner();
    while record.entries.is_empty() {
        assert!(tokio::time::Instant::now() < deadline, "timed out waiting for the PROPOSALS entry");
        tokio::time::sleep(Duration::from_millis(50)).await;
        record = mine.get_my_record(year_request).await.unwrap().into_inner();
    }
    assert_eq!(record.entries.len(), 1);
    let entry = &record.entries[0];
    assert_eq!(entry.kind, pm::RecordKind::Proposals as i32);
    assert_eq!(entry.points, 8);
    assert_eq!(entry.source, pm::RecordSource::Automatic as i32);
    assert!(entry.verified_by_user_id.is_empty());
    assert!(entry.evidence_ref.contains(&draft.id));
    assert_eq!(record.total_points, 8);

    // The same event delivered again changes nothing.
    // The recorder is one more handler: it may hear the event after membership did.
    let filed = |e: &Event| matches!(&e.payload, Some(Payload::ProposalFiled(f)) if f.proposal_id == draft.id);
    eventually("the recorder to hear ProposalFiled", async || recorder.snapshot().iter().any(filed)).await;
    let filed_event = recorder.snapshot().into_iter().find(filed).expect("the ProposalFiled event");
    assert_eq!(entry.source_event_id, filed_event.id);
    app.running.bus.publish(&filed_event).await.unwrap();
    app.running.bus.publish(&filed_event).await.unwrap();
    let record = mine.get_my_record(year_request).await.unwrap().into_inner();
    assert_eq!(record.entries.len(), 1, "one entry per event and member");
    assert_eq!(record.total_points, 8);

    // Attendance: "present" gives a MEETINGS entry, once; absence gives none.
    let attendance = |id: &str, attendance: &str| Event {
        id: id.into(),
        committee_id: n.tree.ningjin.id.clone(),
        payload: Some(Payload::AttendanceRecorded(AttendanceRecorded {
            meeting_id: uuid::Uuid::now_v7().to_string(),
            member_id: zhang.id.clone(),
            attendance: attendance.into(),
            date: Some(Date { year, month: 2, day: 20 }),
            ..Default::default()
        })),
        ..Default::default()
    };
    let present = attendance(&uuid::Uuid::now_v7().to_string(), "present");
    app.running.bus.publish(&present).await.unwrap();
    app.running.bus.publish(&present).await.unwrap();
    app.running.bus.publish(&attendance(&uuid::Uuid::now_v7().to_string(), "absent")).await.unwrap();
    let record = mine.get_my_record(year_request).await.unwrap().into_inner();
    let kinds: Vec<i32> = record.entries.iter().map(|e| e.kind).collect();
    assert_eq!(kinds.iter().filter(|k| **k == pm::RecordKind::Meetings as i32).count(), 1);
    assert_eq!(record.total_points, 10);

    // Staff verify the automatic entry; its audit row names the system actor.
    let verified = c
        .verify_record_entry(pm::VerifyRecordEntryRequest {
            id: record.entries.iter().find(|e| e.kind == 2).unwrap().id.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(verified.verified_by_user_id, n.staff.user.id);
    let log = n
        .admin
        .audit()
        .list_audit_entries(pb::ListAuditEntriesRequest {
            committee_id: n.tree.ningjin.id.clone(),
            target_type: "member_record_entry".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .entries;
    assert!(log.iter().any(|e| e.method == "event:ProposalFiled" && e.actor_username == "system"));
    assert_eq!(log.iter().filter(|e| e.method == "event:ProposalFiled").count(), 1);
    app.stop().await;
}
