//! The command-line client against a real server: sign in, load the demo,
//! print the Hebei tree — the README's walkthrough.

use clap::Parser;
use xieshang::cli::{Cli, Command};
use xieshang_tests::*;

async fn xieshang(args: &[&str]) -> anyhow::Result<String> {
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

    let mut bad = vec!["committees", "get", "999999"];
    bad.extend(common);
    let err = xieshang(&bad).await.expect_err("an unknown code fails");
    assert!(format!("{err:#}").contains("not found"), "{err:#}");
    app.stop().await;
}
