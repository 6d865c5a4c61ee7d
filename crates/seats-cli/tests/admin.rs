//! `seats admin` and `seats users` end to end against a spawned server: the lifecycle from the
//! command line, output and exit codes.

mod common;

use common::*;
use serde_json::Value;

const KEY: &str = "cli-operator-key-0123456789abcdef";
const ACME: &str = "acce55acce55acce55acce55acce55ac";

struct Cli<'a> {
    server: &'a Server,
    token: String,
}

impl Cli<'_> {
    fn admin(&self, args: &[&str]) -> Output {
        let mut all = vec!["admin", "--url", &self.server.base];
        all.extend_from_slice(args);
        run_with(&all, &[("SEATS_OPERATOR_KEY", KEY)], None)
    }

    fn admin_json(&self, args: &[&str]) -> Value {
        let mut all = args.to_vec();
        all.push("--json");
        let out = self.admin(&all);
        assert_eq!(out.code, Some(0), "{args:?}: {}", out.stderr);
        serde_json::from_str(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", out.stdout))
    }

    fn users(&self, args: &[&str]) -> Output {
        self.api("users", args)
    }

    /// Creates the account ACME (5 seats) and a token on it with `permissions`, which later
    /// API calls use.
    fn account_with_token(&mut self, permissions: &[&str]) {
        self.admin_json(&[
            "accounts",
            "create",
            "--id",
            ACME,
            "--name",
            "Acme",
            "--seat-limit",
            "5",
        ]);
        let mut args = vec!["tokens", "create", "--name", "acme", "--account", ACME];
        for p in permissions {
            args.extend_from_slice(&["--permission", p]);
        }
        let token = self.admin_json(&args);
        self.token = token["value"].as_str().unwrap().to_owned();
    }

    /// `seats COMMAND --account-id ACME ARGS` with the Cloudflare API token.
    fn api(&self, command: &str, args: &[&str]) -> Output {
        let base = format!("{}/client/v4", self.server.base);
        let mut all = vec![command, "--account-id", ACME];
        all.extend_from_slice(args);
        run_with(
            &all,
            &[("CLOUDFLARE_API_TOKEN", &self.token), ("CLOUDFLARE_BASE_URL", &base)],
            None,
        )
    }
}

/// `seats serve` on a database file of its own, with the operator key and a manual clock.
fn serve_with_operator_key(db: &std::path::Path) -> Server {
    start(
        &[
            "--listen",
            "127.0.0.1:0",
            "--manual-clock",
            "--database",
            db.to_str().unwrap(),
        ],
        &[("SEATS_OPERATOR_KEY", KEY)],
    )
}

#[test]
fn admin_flow_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let server = serve_with_operator_key(&dir.path().join("admin.db"));
    let mut cli = Cli {
        server: &server,
        token: String::new(),
    };

    let account = cli.admin_json(&[
        "accounts",
        "create",
        "--id",
        ACME,
        "--name",
        "Acme",
        "--seat-limit",
        "1",
    ]);
    assert_eq!(
        (account["id"].as_str(), account["seat_limit"].as_u64()),
        (Some(ACME), Some(1))
    );

    let token = cli.admin_json(&[
        "tokens",
        "create",
        "--name",
        "acme",
        "--account",
        ACME,
        "--permission",
        "Zero Trust: Seats Write",
        "--permission",
        "Access: Audit Logs Read",
    ]);
    cli.token = token["value"].as_str().unwrap().to_owned();
    let token_id = token["id"].as_str().unwrap().to_owned();

    // Logins: the first takes the only seat, the second is refused with exit 3.
    let out = cli.admin(&[
        "login",
        "--account-id",
        ACME,
        "--email",
        "ann@acme.test",
        "--via",
        "access",
    ]);
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert!(
        out.stdout.lines().next().unwrap().starts_with("ID") && out.stdout.contains("ann@acme.test"),
        "{}",
        out.stdout
    );
    let out = cli.admin(&[
        "login",
        "--account-id",
        ACME,
        "--email",
        "bob@acme.test",
        "--via",
        "gateway",
        "--device-id",
        "d1",
    ]);
    assert_eq!(out.code, Some(3));
    assert_eq!(
        out.stderr.trim(),
        format!("error: POST /accounts/{ACME}/logins: 409 Conflict: 12009 access.api.error.seat_limit_reached: 1/1 seats in use")
    );

    // The users API shows both, and frees Ann's seat through `seats edit`.
    let out = cli.users(&["list", "--json"]);
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    let users: Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(users.as_array().unwrap().len(), 2);
    let ann = users
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["email"] == "ann@acme.test")
        .unwrap()
        .clone();
    let out = cli.users(&["list", "--search", "BOB"]);
    let rows: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(rows.len(), 2, "{}", out.stdout);
    assert!(
        rows[1].contains("bob@acme.test") && rows[1].contains("false"),
        "{}",
        rows[1]
    );
    let base = format!("{}/client/v4", server.base);
    let out = run_with(
        &[
            "edit",
            "--account-id",
            ACME,
            "--seat-uid",
            ann["seat_uid"].as_str().unwrap(),
            "--access",
            "false",
            "--gateway",
            "false",
        ],
        &[("CLOUDFLARE_API_TOKEN", &cli.token), ("CLOUDFLARE_BASE_URL", &base)],
        None,
    );
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    let out = cli.admin(&[
        "login",
        "--account-id",
        ACME,
        "--email",
        "bob@acme.test",
        "--via",
        "gateway",
        "--device-id",
        "d1",
    ]);
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    let account = cli.admin_json(&["accounts", "get", ACME]);
    assert_eq!(account["seats_in_use"], 1);

    // The clock moves; the audit log has every step with its actor.
    let before = cli.admin_json(&["clock"]);
    let after = cli.admin_json(&["clock", "--advance", "800h"]);
    assert_ne!(before["now"], after["now"]);
    let audit = cli.admin_json(&["audit", "--account-id", ACME]);
    let actions: Vec<String> = audit
        .as_array()
        .unwrap()
        .iter()
        .rev()
        .map(|e| format!("{} by {}", e["action"].as_str().unwrap(), e["actor"].as_str().unwrap()))
        .collect();
    assert_eq!(
        actions,
        [
            "account.create by operator",
            "user.create by operator",
            "seat.grant by operator",
            "user.create by operator",
            "login.refused by operator",
            &format!("seat.remove by {token_id}"),
            "seat.grant by operator",
        ]
        .map(|s| s.to_string())
    );
    let out = cli.admin(&["audit", "--account-id", ACME]);
    assert!(
        out.stdout.lines().next().unwrap().starts_with("AT") && out.stdout.contains(&format!("token:{token_id}")),
        "{}",
        out.stdout
    );

    // Disabling the token locks the users API out at once (exit 3, 9109).
    let out = cli.admin(&["tokens", "disable", &token_id]);
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert!(out.stdout.contains("disabled"));
    let out = cli.users(&["list"]);
    assert_eq!(out.code, Some(3));
    assert!(
        out.stderr.contains("403 Forbidden: 9109 Invalid access token"),
        "{}",
        out.stderr
    );
    // Tokens are listed without values.
    let tokens = cli.admin_json(&["tokens", "list"]);
    assert!(tokens.as_array().unwrap().iter().all(|t| t.get("value").is_none()));

    // Members: the key is printed once and works for the users API.
    let member = cli.admin_json(&["members", "create", "--email", "ops@acme.test", "--account", ACME]);
    let key = member["api_key"].as_str().unwrap().to_owned();
    let out = run_with(
        &[
            "users",
            "--account-id",
            ACME,
            "get",
            ann["id"].as_str().unwrap(),
            "--json",
        ],
        &[
            ("CLOUDFLARE_EMAIL", "ops@acme.test"),
            ("CLOUDFLARE_API_KEY", &key),
            ("CLOUDFLARE_BASE_URL", &base),
        ],
        None,
    );
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert_eq!(
        serde_json::from_str::<Value>(&out.stdout).unwrap()[0]["email"],
        "ann@acme.test"
    );
    server.terminate();
}

#[test]
fn admin_usage_and_key_errors() {
    let out = run_with(&["admin", "accounts", "list"], &[], None);
    assert_eq!(out.code, Some(2));
    assert!(out.stderr.contains("no operator key"), "{}", out.stderr);

    let server = start(&["--demo", "--listen", "127.0.0.1:0"], &[("SEATS_OPERATOR_KEY", KEY)]);
    let out = run_with(
        &["admin", "--url", &server.base, "accounts", "list"],
        &[("SEATS_OPERATOR_KEY", "wrong")],
        None,
    );
    assert_eq!(out.code, Some(3));
    assert!(
        out.stderr.contains("403 Forbidden: 10000 Authentication error"),
        "{}",
        out.stderr
    );
    let out = run_with(
        &["admin", "--url", &server.base, "clock", "--advance", "1h"],
        &[("SEATS_OPERATOR_KEY", KEY)],
        None,
    );
    assert_eq!(out.code, Some(3), "no --manual-clock: {}", out.stderr);
    let out = run_with(
        &[
            "admin",
            "--url",
            &server.base,
            "tokens",
            "create",
            "--name",
            "x",
            "--all-accounts",
        ],
        &[("SEATS_OPERATOR_KEY", KEY)],
        None,
    );
    assert_eq!(out.code, Some(2));
    assert!(out.stderr.contains("--permission"), "{}", out.stderr);
    let out = run_with(&["users", "list"], &[("CLOUDFLARE_API_TOKEN", "t")], None);
    assert_eq!(out.code, Some(2));
    assert!(out.stderr.contains("--account-id"), "{}", out.stderr);

    // A server without the operator API: the 404 says why and how to turn it on.
    let plain = start(&["--demo", "--listen", "127.0.0.1:0"], &[]);
    let out = run_with(
        &["admin", "--url", &plain.base, "accounts", "list"],
        &[("SEATS_OPERATOR_KEY", KEY)],
        None,
    );
    assert_eq!(out.code, Some(3), "{}", out.stderr);
    assert!(
        out.stderr
            .contains("GET /accounts: 404 Not Found: 7000 No route for that URI\nhint: "),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains(
            "hint: this server runs without its operator API: start `seats serve` with \
             SEATS_OPERATOR_KEY set (or --operator-key) and give `seats admin` the same key"
        ),
        "{}",
        out.stderr
    );
    server.terminate();
}

#[test]
fn users_revoke_ends_sessions_and_devices() {
    let dir = tempfile::tempdir().unwrap();
    let server = serve_with_operator_key(&dir.path().join("revoke.db"));
    let mut cli = Cli {
        server: &server,
        token: String::new(),
    };
    cli.account_with_token(&[
        "Zero Trust: Seats Write",
        "Access: Audit Logs Read",
        "Access: Organizations, Identity Providers, and Groups Write",
    ]);
    for via in [&["--via", "access"][..], &["--via", "gateway", "--device-id", "d1"]] {
        let mut args = vec!["login", "--account-id", ACME, "--email", "ann@acme.test"];
        args.extend_from_slice(via);
        assert_eq!(cli.admin(&args).code, Some(0));
    }
    let out = cli.users(&["list", "--email", "ann@acme.test", "--json"]);
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    let ann = serde_json::from_str::<Value>(&out.stdout).unwrap()[0].clone();
    assert_eq!(ann["active_device_count"], 1);

    let out = cli.users(&["revoke", "--email", "ann@acme.test", "--devices"]);
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert_eq!(out.stdout.trim(), "revoked the sessions and devices of ann@acme.test");
    let out = cli.users(&["get", ann["id"].as_str().unwrap(), "--json"]);
    let after: Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(after[0]["active_device_count"], 0, "{after}");
    assert_eq!(
        (&after[0]["access_seat"], &after[0]["gateway_seat"]),
        (&Value::Bool(true), &Value::Bool(true))
    );

    let out = cli.users(&["revoke", "--email", "nobody@acme.test"]);
    assert_eq!(
        (out.code, out.stderr.trim()),
        (
            Some(3),
            format!(
                "error: POST /accounts/{ACME}/access/organizations/revoke_user: 404 Not Found: 12130 \
                 access.api.error.not_found: no user with email \"nobody@acme.test\" in this account (at \"/email\")"
            )
            .as_str()
        )
    );
}

#[test]
fn devices_list_revoke_and_delete_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let server = serve_with_operator_key(&dir.path().join("devices.db"));
    let mut cli = Cli {
        server: &server,
        token: String::new(),
    };
    cli.account_with_token(&["Zero Trust Write"]);
    for device in ["d1", "d2"] {
        let args = [
            "login",
            "--account-id",
            ACME,
            "--email",
            "ann@acme.test",
            "--via",
            "gateway",
            "--device-id",
            device,
        ];
        assert_eq!(cli.admin(&args).code, Some(0));
    }
    let list = |args: &[&str]| {
        let mut all = vec!["list", "--json"];
        all.extend_from_slice(args);
        let out = cli.api("devices", &all);
        assert_eq!(out.code, Some(0), "{}", out.stderr);
        serde_json::from_str::<Value>(&out.stdout).unwrap()
    };
    let registrations = list(&[]);
    let devices: Vec<&str> = registrations
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["device"]["id"].as_str().unwrap())
        .collect();
    assert_eq!(devices, ["d1", "d2"]);
    let first = registrations[0]["id"].as_str().unwrap().to_owned();

    let out = cli.api("devices", &["revoke", &first]);
    assert_eq!(
        (out.code, out.stdout.trim()),
        (Some(0), format!("revoked 1 registration(s): {first}").as_str()),
        "{}",
        out.stderr
    );
    assert_eq!(list(&["--status", "revoked"]).as_array().unwrap().len(), 1);
    let out = cli.api("devices", &["get", &first]);
    assert!(
        out.stdout.lines().next().unwrap().starts_with("ID") && out.stdout.contains("d1"),
        "{}",
        out.stdout
    );
    let out = cli.api("devices", &["delete", &first]);
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert_eq!(list(&["--status", "all"]).as_array().unwrap().len(), 1);
    let out = cli.api("devices", &["unrevoke", &first]);
    assert_eq!(
        (out.code, out.stderr.trim()),
        (
            Some(3),
            format!(
                "error: POST /accounts/{ACME}/devices/registrations/unrevoke?id={first}: 404 Not Found: 12130 \
                 access.api.error.not_found: no registration with id \"{first}\" in this account (at \"/id\")"
            )
            .as_str()
        )
    );
}
