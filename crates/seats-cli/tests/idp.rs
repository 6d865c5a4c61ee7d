//! `seats idp` end to end, as docs/scim.md's offboarding example runs it: create a provider with
//! SCIM, provision and deactivate a user over SCIM with the printed URL and secret, and see the
//! seat freed in `seats users list`.

mod common;

use common::*;
use serde_json::{json, Value};

const EMAIL: &str = "user@example.com";
const KEY: &str = "144c9defac04969c7bfad8efaa8ea194";

fn cli(server: &Server, args: &[&str]) -> Output {
    let base = format!("{}/client/v4", server.base);
    let mut all = vec![args[0], "--account-id", ACCOUNT];
    all.extend_from_slice(&args[1..]);
    run_with(
        &all,
        &[
            ("CLOUDFLARE_EMAIL", EMAIL),
            ("CLOUDFLARE_API_KEY", KEY),
            ("CLOUDFLARE_BASE_URL", &base),
        ],
        None,
    )
}

fn line_after<'a>(text: &'a str, label: &str) -> &'a str {
    text.lines()
        .find_map(|l| l.strip_prefix(label))
        .map(|rest| rest.split_whitespace().next().unwrap_or_default())
        .unwrap_or_else(|| panic!("no {label:?} in:\n{text}"))
}

#[test]
fn offboarding_in_the_identity_provider_frees_the_seat() {
    let server = start(&["--demo", "--listen", "127.0.0.1:0"], &[]);
    let out = cli(
        &server,
        &[
            "idp",
            "create",
            "--name",
            "Okta",
            "--scim",
            "--user-deprovision",
            "--seat-deprovision",
        ],
    );
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    let url = line_after(&out.stdout, "SCIM base URL: ").to_owned();
    let secret = line_after(&out.stdout, "SCIM secret:   ").to_owned();
    assert!(url.starts_with(&format!("{}/populations/", server.base)), "{url}");
    assert_eq!(secret.len(), 64);

    let (alice_id, status) = block_on(async {
        let http = http();
        let alice: Value = http
            .post(format!("{url}/Users"))
            .bearer_auth(&secret)
            .json(&json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "alice@example.com"}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let id = alice["id"].as_str().unwrap().to_owned();
        let resp = http
            .patch(format!("{url}/Users/{id}"))
            .bearer_auth(&secret)
            .json(&json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                "Operations": [{"op": "replace", "path": "active", "value": false}]}))
            .send()
            .await
            .unwrap();
        (id, resp.status().as_u16())
    });
    assert_eq!(status, 200);

    let out = cli(&server, &["users", "list", "--email", "alice@example.com", "--json"]);
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    let users: Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(users[0]["access_seat"], false, "{users}");
    assert_eq!(users[0]["gateway_seat"], false, "{users}");

    let provider_id = url.trim_end_matches("/scim/v2").rsplit('/').next().unwrap().to_owned();
    let out = cli(&server, &["idp", "scim-users", &provider_id]);
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    let row = out
        .stdout
        .lines()
        .find(|l| l.starts_with(&alice_id))
        .unwrap_or_else(|| panic!("{}", out.stdout));
    assert!(row.trim_end().ends_with("false"), "inactive: {row}");

    let out = cli(&server, &["idp", "get", &provider_id, "--json"]);
    let shown: Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(shown["scim_config"]["secret"], "**********", "never shown again");

    // --seat-deprovision needs --user-deprovision: refused before any request.
    let out = cli(
        &server,
        &["idp", "create", "--name", "x", "--scim", "--seat-deprovision"],
    );
    assert_eq!(out.code, Some(2), "{}", out.stderr);
    assert!(out.stderr.contains("--user-deprovision"), "{}", out.stderr);
}
