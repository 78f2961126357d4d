//! The command-line client against a real server: sign in, load the demo,
//! print the Hebei tree — the README's walkthrough.

use clap::Parser;
use xieshang::cli::{Cli, Command};
use xieshang_tests::*;

/// Runs one client command in process, as `xieshang ARGS…` would; returns what it printed.
pub(crate) async fn xieshang(args: &[&str]) -> anyhow::Result<String> {
    let cli = Cli::try_parse_from(std::iter::once("xieshang").chain(args.iter().copied()))?;
    let Command::Client(command) = cli.command else {
        panic!("not a client command: {args:?}");
    };
    let mut out = Vec::new();
    xieshang::client::run(command, &mut out).await?;
    Ok(String::from_utf8(out)?)
}

#[tokio::test]
async fn demo_then_tree_prints_the_hebei_committees() {
    let app = spawn_app().await;
    let dir = TempDir(std::env::temp_dir().join(format!("xieshang-cli-{}", uuid::Uuid::new_v4().simple())));
    std::fs::create_dir_all(&dir.0).unwrap();
    let session = dir.0.join("session.json");
    let session = session.to_str().unwrap();
    let server = format!("http://{}", app.addr);
    let common = ["--server", server.as_str(), "--session-file", session];

    let mut login = vec!["login", "--username", "operator", "--password", OPERATOR_PASSWORD];
    login.extend(common);
    xieshang(&login).await.expect("operator signs in");

    let mut demo = vec!["demo"];
    demo.extend(common);
    let loaded = xieshang(&demo).await.expect("demo loads");
    assert!(loaded.contains("130528"), "{loaded}");
    assert!(loaded.contains("45 members on the roster, 11 proposals"), "{loaded}");
    // A second run changes nothing and does not fail.
    xieshang(&demo).await.expect("demo is idempotent");

    let mut tree = vec!["committees", "tree", "130000"];
    tree.extend(common);
    let printed = xieshang(&tree).await.expect("tree prints");
    let lines: Vec<&str> = printed.lines().collect();
    assert!(lines.iter().any(|l| l.trim() == "河北省政协 (130000)"), "{printed}");
    let city = lines.iter().position(|l| l.trim() == "邢台市政协 (130500)").expect("邢台市 in the tree");
    let county = lines.iter().position(|l| l.trim() == "宁晋县政协 (130528)").expect("宁晋县 in the tree");
    assert!(county > city, "{printed}");
    let indent = |l: &str| l.len() - l.trim_start().len();
    assert!(indent(lines[county]) > indent(lines[city]), "{printed}");
    assert!(!printed.contains("330481"), "only Hebei: {printed}");

    // The demo's county admin signs in with the printed password and sees only its branch.
    let mut county_login =
        vec!["login", "--committee", "130528", "--username", "admin", "--password", "Xieshang-130528-admin"];
    county_login.extend(common);
    xieshang(&county_login).await.expect("the demo's county admin signs in");
    let mut list = vec!["committees", "list", "--json"];
    list.extend(common);
    let visible = xieshang(&list).await.unwrap();
    assert!(visible.contains("130528") && visible.contains("130000") && !visible.contains("130522"), "{visible}");

    // The office's everyday commands on the demo data, as 宁晋县's staff.
    let staff = CliUser::new(&app);
    staff
        .run(&["login", "--committee", "130528", "--username", "liting", "--password", "Xieshang-130528-liting"])
        .await
        .unwrap();
    let roster = staff.run(&["members", "list"]).await.unwrap();
    assert!(roster.contains("张建国") && roster.contains("45 members."), "{roster}");
    assert!(!roster.contains("3910528"), "phones are masked: {roster}");
    let export = staff.file("roster.xlsx");
    staff.run(&["members", "export", &export, "--reveal"]).await.unwrap();
    assert!(std::fs::read(&export).unwrap().starts_with(b"PK"));
    // Importing the same people again is refused row by row, and a dry run writes nothing.
    let dry = staff.run(&["members", "import", &export, "--dry-run"]).await.unwrap();
    assert!(dry.contains("第2行") && dry.contains("nothing was written"), "{dry}");
    let year = chrono::Utc::now().format("%Y").to_string();
    let stats = staff.run(&["proposals", "stats", "--year", &year]).await.unwrap();
    assert!(stats.contains("收到提案 received") && stats.contains("A / B / C"), "{stats}");
    let reporting = staff.run(&["reporting", "stats", "--year", &year]).await.unwrap();
    assert!(reporting.contains("members due"), "{reporting}");

    let mut bad = vec!["committees", "get", "999999"];
    bad.extend(common);
    let err = xieshang(&bad).await.expect_err("an unknown code fails");
    assert!(format!("{err:#}").contains("not found"), "{err:#}");
    app.stop().await;
}

/// One CLI user: a session file and a directory of its own.
pub(crate) struct CliUser {
    common: Vec<String>,
    dir: TempDir,
}

impl CliUser {
    pub(crate) fn new(app: &TestApp) -> Self {
        let dir = TempDir(std::env::temp_dir().join(format!("xieshang-cli-{}", uuid::Uuid::new_v4().simple())));
        std::fs::create_dir_all(&dir.0).unwrap();
        let session = dir.0.join("session.json").display().to_string();
        Self { common: vec!["--server".into(), format!("http://{}", app.addr), "--session-file".into(), session], dir }
    }

    /// `username` of the committee `code`, signed in with the fixtures' [`PASSWORD`].
    pub(crate) async fn signed_in(app: &TestApp, code: &str, username: &str) -> Self {
        let user = Self::new(app);
        user.run(&["login", "--committee", code, "--username", username, "--password", PASSWORD])
            .await
            .unwrap_or_else(|e| panic!("{username} of {code} signs in: {e:#}"));
        user
    }

    /// A path in this user's own directory.
    pub(crate) fn file(&self, name: &str) -> String {
        self.dir.0.join(name).display().to_string()
    }

    pub(crate) async fn run(&self, args: &[&str]) -> anyhow::Result<String> {
        let mut all: Vec<&str> = args.to_vec();
        all.extend(self.common.iter().map(String::as_str));
        xieshang(&all).await
    }

    pub(crate) async fn ok(&self, args: &[&str]) -> String {
        self.run(args).await.unwrap_or_else(|e| panic!("{args:?}: {e:#}"))
    }

    pub(crate) async fn json(&self, args: &[&str]) -> serde_json::Value {
        let mut all = args.to_vec();
        all.push("--json");
        let text = self.ok(&all).await;
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{args:?} prints JSON: {e}\n{text}"))
    }

    /// The error sentence of a command that must fail.
    pub(crate) async fn fails(&self, args: &[&str]) -> String {
        match self.run(args).await {
            Ok(out) => panic!("{args:?} should fail, printed:\n{out}"),
            Err(e) => format!("{e:#}"),
        }
    }
}

#[tokio::test]
async fn a_proposal_goes_through_the_office_by_cli() {
    use xieshang_proto::common::v1::{Date, Role};
    use xieshang_proto::tenants::v1 as pb;

    let app = spawn_app().await;
    let tree = seed_tree(&app).await;
    let admin = app.login("130528", "admin", PASSWORD).await.unwrap();
    admin
        .committees()
        .create_term(pb::CreateTermRequest {
            committee_id: tree.ningjin.id.clone(),
            term: Some(pb::Term {
                number: 10,
                start_date: Some(Date { year: 2021, month: 12, day: 15 }),
                ..Default::default()
            }),
        })
        .await
        .unwrap();
    admin
        .committees()
        .create_plenary_session(pb::CreatePlenarySessionRequest {
            committee_id: tree.ningjin.id.clone(),
            session: Some(pb::PlenarySession {
                start_date: Some(Date { year: 2025, month: 1, day: 8 }),
                ..Default::default()
            }),
        })
        .await
        .unwrap();
    create_user(&admin, &tree.ningjin.id, "zhangjianguo", "张建国", &[Role::Member]).await;
    create_user(&admin, &tree.ningjin.id, "liting", "李婷", &[Role::Staff]).await;
    create_user(&admin, &tree.ningjin.id, "nongyeju", "宁晋县农业农村局", &[Role::HandlingUnit]).await;

    let mut users = Vec::new();
    for user in ["zhangjianguo", "liting", "nongyeju"] {
        let cli = CliUser::new(&app);
        cli.run(&["login", "--committee", "130528", "--username", user, "--password", PASSWORD]).await.unwrap();
        users.push(cli);
    }
    let [member, staff, unit] = <[CliUser; 3]>::try_from(users).ok().unwrap();

    let drafted = member
        .run(&[
            "proposals",
            "create",
            "--json",
            "--title",
            "关于加快宁晋县盐碱地改良的建议",
            "--body",
            "我县东部乡镇盐碱地面积较大，建议统筹资金开展改良试点。",
            "--category",
            "生态",
        ])
        .await
        .unwrap();
    let id = serde_json::from_str::<serde_json::Value>(&drafted).unwrap()["id"].as_str().unwrap().to_owned();
    member.run(&["proposals", "submit", &id]).await.unwrap();
    let filed = staff.run(&["proposals", "file", &id]).await.unwrap();
    assert!(filed.contains("第1号"), "{filed}");
    staff.run(&["proposals", "assign", &id, "--lead", "nongyeju"]).await.unwrap();
    let listed = unit.run(&["proposals", "list"]).await.unwrap();
    assert!(listed.contains("盐碱地") && listed.contains("assigned"), "{listed}");
    unit.run(&["proposals", "contact", &id, "--note", "电话沟通，实地查看了苏家庄镇盐碱地"]).await.unwrap();
    unit.run(&["proposals", "reply", &id, "--class", "B", "--text", "已列入明年高标准农田建设计划。"]).await.unwrap();
    let rated =
        member.run(&["proposals", "rate", &id, "--process", "满意", "--result", "basically-satisfied"]).await.unwrap();
    assert!(rated.contains("closed"), "{rated}");

    // The unit cannot file; the error is a sentence.
    let err = unit.run(&["proposals", "file", &id]).await.expect_err("units do not file");
    assert!(format!("{err:#}").contains("permission denied") || format!("{err:#}").contains("not found"), "{err:#}");
    app.stop().await;
}
