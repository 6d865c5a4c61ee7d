//! `seats serve` as a process: demo data, seed files, configuration, graceful shutdown.

mod common;

use std::path::Path;

use common::*;
use serde_json::json;

#[test]
fn demo_serves_the_seed_documents_example_and_stops_cleanly_on_sigterm() {
    let server = start(&["--demo", "--listen", "127.0.0.1:0"], &[]);
    let (status, body) = server.patch(&json!([{"access_seat": false, "gateway_seat": false, "seat_uid": SEAT}]));
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["result"][0]["seat_uid"], SEAT);
    assert_eq!(body["result"][0]["access_seat"], false);
    let (code, log) = server.terminate();
    assert_eq!(code, Some(0), "{log}");
    assert!(log.contains("shutting down"), "{log}");
    assert!(!log.contains(TOKEN), "secrets never logged: {log}");
    // The temporary demo database is removed at exit.
    let path = log
        .split("path=")
        .nth(1)
        .and_then(|s| s.split_whitespace().next())
        .expect("database path logged");
    assert!(!Path::new(path).exists(), "{path} should be gone");
}

/// Out of file descriptors, the server logs the accept failures at most once a second
/// rather than in a storm, and serves again once descriptors free up.
#[test]
fn out_of_file_descriptors_the_server_neither_spins_nor_floods_its_log() {
    let server = start(&["--demo", "--listen", "127.0.0.1:0"], &[]);
    let limited = std::process::Command::new("prlimit")
        .args(["--pid", &server.pid().to_string(), "--nofile=48:48"])
        .status()
        .expect("prlimit (util-linux)");
    assert!(limited.success());
    let addr = server.base.trim_start_matches("http://").to_owned();
    // More connections than descriptors left: the rest wait in the kernel's queue.
    let held: Vec<_> = (0..80)
        .map(|_| std::net::TcpStream::connect(&addr).expect("connect"))
        .collect();
    std::thread::sleep(std::time::Duration::from_millis(2500));
    drop(held);
    // Descriptors come back as the server sees those connections close.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while server.health() != Some(200) {
        assert!(std::time::Instant::now() < deadline, "never served again");
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let (code, log) = server.terminate();
    assert_eq!(code, Some(0), "{log}");
    let warnings = log.matches("cannot accept connections").count();
    assert!(warnings >= 1, "the descriptor table was never exhausted: {log}");
    assert!(warnings <= 5, "{warnings} accept warnings in ~3 s: {log}");
}

/// Started with a low soft limit on open files, the server raises it to what the connection
/// cap needs (within the hard limit), and warns when the hard limit is too low.
#[test]
fn the_open_file_limit_is_raised_to_fit_the_connection_cap() {
    let soft_limit = |pid: u32| -> u64 {
        let limits = std::fs::read_to_string(format!("/proc/{pid}/limits")).unwrap();
        let line = limits.lines().find(|l| l.starts_with("Max open files")).unwrap();
        line.split_whitespace().nth(3).unwrap().parse().unwrap()
    };
    let server = start_under_prlimit("--nofile=100:4096", &["--demo", "--listen", "127.0.0.1:0"]);
    assert_eq!(soft_limit(server.pid()), 1024 + 64);
    let (code, log) = server.terminate();
    assert_eq!(code, Some(0), "{log}");
    assert!(!log.contains("open-file limit is below"), "{log}");

    let server = start_under_prlimit("--nofile=100:500", &["--demo", "--listen", "127.0.0.1:0"]);
    assert_eq!(soft_limit(server.pid()), 500);
    let (_, log) = server.terminate();
    assert!(
        log.contains("the open-file limit is below --max-connections plus 64"),
        "{log}"
    );
}

#[test]
fn configuration_from_seats_environment_variables() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("env.db");
    let server = start(
        &[],
        &[
            ("SEATS_DEMO", "true"),
            ("SEATS_LISTEN", "127.0.0.1:0"),
            ("SEATS_DATABASE", db.to_str().unwrap()),
        ],
    );
    assert_eq!(server.patch(&json!([])).0, 200);
    let (code, _) = server.terminate();
    assert_eq!(code, Some(0));
    assert!(db.exists(), "--demo with SEATS_DATABASE keeps the database");
}

#[test]
fn a_seed_loads_only_into_an_empty_database() {
    let dir = tempfile::tempdir().unwrap();
    let args = demo_seed_args(dir.path());
    let args: Vec<&str> = args.iter().map(String::as_str).collect();

    let server = start(&args, &[]);
    assert_eq!(
        server
            .patch(&json!([{"access_seat": false, "gateway_seat": true, "seat_uid": SEAT}]))
            .0,
        200
    );
    let (code, log) = server.terminate();
    assert_eq!(code, Some(0));
    assert!(log.contains("seed loaded"), "{log}");

    // Restarting with the same seed keeps what changed since.
    let server = start(&args, &[]);
    let (_, body) = server.patch(&json!([{"access_seat": false, "gateway_seat": true, "seat_uid": SEAT}]));
    assert_ne!(
        body["result"][0]["created_at"], body["result"][0]["updated_at"],
        "the change survived: {body}"
    );
    let (_, log) = server.terminate();
    assert!(log.contains("the seed was not loaded"), "{log}");
}

#[test]
fn an_invalid_seed_stops_start_up_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let seed = dir.path().join("bad.json");
    std::fs::write(
        &seed,
        r#"{"accounts": [{"id": "699d98642c564d2e855e9661899b7252", "name": "x", "seat_limit": 1, "users": [
            {"email": "a@x.com", "access_seat": true}, {"email": "b@x.com", "gateway_seat": true}]}],
           "tokens": [{"name": "t", "value": "v", "policies": [{"effect": "allow",
            "resources": {"com.cloudflare.api.account.*": "*"}, "permission_groups": [{"name": "Nope"}]}]}]}"#,
    )
    .unwrap();
    let db = dir.path().join("seats.db");
    let (code, stderr) = run(&[
        "serve",
        "--seed",
        seed.to_str().unwrap(),
        "--database",
        db.to_str().unwrap(),
        "--listen",
        "127.0.0.1:0",
    ]);
    assert_eq!(code, Some(1), "{stderr}");
    let file = seed.display().to_string();
    assert!(
        stderr.contains(&format!(
            "{file}: /accounts/0/seat_limit: account over its limit: 2 users hold a seat, seat_limit is 1"
        )),
        "{stderr}"
    );
    assert!(
        stderr.contains(&format!(
            "{file}: /tokens/0/policies/0/permission_groups/0/name: unknown permission group \"Nope\""
        )),
        "{stderr}"
    );
    assert!(!db.exists(), "nothing was written");
    let mut left: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    left.sort();
    assert_eq!(left, ["bad.json"], "nothing of the database's making is left beside it");

    std::fs::write(&seed, "{\"accounts\": [").unwrap();
    let (code, stderr) = run(&[
        "serve",
        "--seed",
        seed.to_str().unwrap(),
        "--database",
        db.to_str().unwrap(),
    ]);
    assert_eq!(code, Some(1));
    assert!(stderr.contains("invalid JSON"), "{stderr}");
}

#[test]
fn refused_configurations() {
    let (code, stderr) = run(&["serve", "--demo", "--seed", "x.json"]);
    assert_eq!(code, Some(2), "a usage error: {stderr}");
    assert!(stderr.contains("--seed"), "{stderr}");

    let (code, stderr) = run(&[
        "serve",
        "--database",
        // Nothing listens on the discard port.
        "postgres://postgres@127.0.0.1:9/test",
        "--listen",
        "127.0.0.1:0",
    ]);
    assert_eq!(code, Some(1), "an unreachable PostgreSQL stops start-up: {stderr}");
    assert_eq!(
        stderr.trim(),
        "error: storage failure: cannot connect to PostgreSQL: error connecting to server: Connection refused (os error 111)"
    );

    let (code, stderr) = run(&["serve", "--database", "mysql://x", "--listen", "127.0.0.1:0"]);
    assert_eq!(code, Some(1));
    assert!(stderr.contains("unsupported database URL scheme `mysql`"), "{stderr}");

    // A guessable operator key is refused outside --demo, before anything is opened.
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("seats.db").display());
    let out = run_with(
        &["serve", "--database", &db, "--listen", "127.0.0.1:0"],
        &[("SEATS_OPERATOR_KEY", "change-me")],
        None,
    );
    assert_eq!(out.code, Some(1));
    assert_eq!(
        out.stderr.trim(),
        "error: the operator key is 9 characters; it must have at least 32 (make one with \
         `openssl rand -hex 32`), or run with --demo"
    );
    assert!(!dir.path().join("seats.db").exists(), "no database was created");
    let out = run_with(
        &["serve", "--database", "mysql://x", "--listen", "127.0.0.1:0"],
        &[("SEATS_OPERATOR_KEY", "0123456789abcdef0123456789abcdef")],
        None,
    );
    assert!(
        out.stderr.contains("unsupported database URL scheme"),
        "a 32-character key passes: {}",
        out.stderr
    );
}

#[test]
fn the_expiry_sweep_runs_at_start_up() {
    let dir = tempfile::tempdir().unwrap();
    let seed = dir.path().join("seed.json");
    std::fs::write(
        &seed,
        json!({"accounts": [{"id": ACCOUNT, "name": "x",
            "organization": {"name": "x", "auth_domain": "x.example", "user_seat_expiration_inactive_time": "730h"},
            "users": [
                {"email": "stale@x.com", "seat_uid": "stale", "access_seat": true, "last_successful_login": "2020-01-01T00:00:00Z"},
                {"email": "fresh@x.com", "seat_uid": "fresh", "access_seat": true}]}],
            "tokens": [{"name": "t", "value": TOKEN, "policies": [{"effect": "allow",
                "resources": {"com.cloudflare.api.account.*": "*"}, "permission_groups": [{"name": "Zero Trust: Seats Write"}]}]}]})
        .to_string(),
    )
    .unwrap();
    let server = start(
        &[
            "--seed",
            seed.to_str().unwrap(),
            "--database",
            dir.path().join("s.db").to_str().unwrap(),
            "--listen",
            "127.0.0.1:0",
        ],
        &[],
    );
    // Freeing the stale seat again changes nothing: it was freed before the port opened.
    let (_, body) = server.patch(
        &json!([{"access_seat": false, "gateway_seat": false, "seat_uid": "stale"},
                                          {"access_seat": true, "gateway_seat": false, "seat_uid": "fresh"}]),
    );
    assert_eq!(
        body["result"][1]["created_at"], body["result"][1]["updated_at"],
        "fresh was untouched: {body}"
    );
    let (code, log) = server.terminate();
    assert_eq!(code, Some(0));
    let sweep = log
        .find("seat expiry sweep freed seats removed=1")
        .unwrap_or_else(|| panic!("{log}"));
    let listening = log.find("listening").unwrap();
    assert!(sweep < listening, "the sweep ran before the port opened: {log}");
}

/// `--demo` prints the dashboard's address and the token to sign in with; the sign-in page
/// there has the demo token filled in, and signing in with it opens the demo account. The
/// server keeps serving after its reader has closed stdout.
#[test]
fn demo_prints_the_dashboard_which_opens_into_the_demo_account() {
    use std::io::BufRead;
    use std::process::Stdio;

    let mut child = seats()
        .args(["serve", "--demo", "--listen", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn seats");
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let lines: Vec<String> = std::io::BufReader::new(stdout)
            .lines()
            .take(3)
            .map_while(Result::ok)
            .collect();
        let _ = tx.send(lines);
    });
    let lines = rx.recv_timeout(PATIENCE).expect("three lines from seats serve --demo");
    let base = lines[0]
        .strip_prefix("seats listening on ")
        .expect("the listening line")
        .to_owned();
    assert_eq!(lines[1], format!("dashboard: {base}/dashboard"));
    assert_eq!(lines[2], format!("sign in with the demo token {TOKEN}"));

    let result = std::panic::catch_unwind(|| {
        block_on(async {
            let client = reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .timeout(PATIENCE)
                .build()
                .unwrap();
            let resp = http().get(format!("{base}/dashboard")).send().await.unwrap();
            assert_eq!(resp.url().path(), "/dashboard/sign-in");
            // The form's own cookie holds the value its forms echo.
            let form_cookie = resp.headers()["set-cookie"]
                .to_str()
                .unwrap()
                .split(';')
                .next()
                .unwrap()
                .to_owned();
            let page = resp.text().await.unwrap();
            assert!(
                page.contains(&format!("value=\"{TOKEN}\"")),
                "the demo token is filled in: {page}"
            );
            let nonce = form_cookie.split_once('=').unwrap().1.to_owned();
            assert!(page.contains(&format!("name=\"nonce\" value=\"{nonce}\"")));
            let resp = client
                .post(format!("{base}/dashboard/sign-in"))
                .header("cookie", &form_cookie)
                .form(&[("kind", "token"), ("token", TOKEN), ("nonce", &nonce)])
                .send()
                .await
                .unwrap();
            assert_eq!(resp.status().as_u16(), 303);
            let cookie = resp.headers()["set-cookie"]
                .to_str()
                .unwrap()
                .split(';')
                .next()
                .unwrap()
                .to_owned();
            let resp = client
                .get(format!("{base}/dashboard"))
                .header("cookie", cookie)
                .send()
                .await
                .unwrap();
            assert_eq!(
                resp.headers()["location"].to_str().unwrap(),
                format!("/dashboard/accounts/{ACCOUNT}")
            );
        })
    });
    let _ = child.kill();
    let _ = child.wait();
    if let Err(panic) = result {
        std::panic::resume_unwind(panic);
    }
}

#[test]
fn healthcheck_exits_0_for_a_ready_server_and_1_otherwise() {
    let server = start(&["--demo", "--listen", "127.0.0.1:0"], &[]);
    let listen = server.base.strip_prefix("http://").unwrap().to_owned();
    let out = run_with(&["healthcheck", "--listen", &listen], &[], None);
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    // Through SEATS_LISTEN, as a container's HEALTHCHECK reads it; 0.0.0.0 is asked on loopback.
    let port = listen.rsplit(':').next().unwrap();
    let out = run_with(&["healthcheck"], &[("SEATS_LISTEN", &format!("0.0.0.0:{port}"))], None);
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    drop(server);

    // Nothing listens there any more.
    let out = run_with(&["healthcheck", "--listen", &listen, "--timeout", "500ms"], &[], None);
    assert_eq!(out.code, Some(1));
    assert!(
        out.stderr.starts_with(&format!("unhealthy: {listen}: ")),
        "{}",
        out.stderr
    );
}
