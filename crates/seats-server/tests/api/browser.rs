//! The dashboard in a real browser: headless Chromium driven over WebDriver (see
//! [`crate::webdriver`]). Signing in by keyboard alone, searching and filtering users, removing
//! a seat after the confirmation, usage dropping and the audit entry appearing, a read-only
//! token offered nothing and refused a forged form; every control labelled. A screenshot of
//! each page goes to `target/dashboard-screenshots/`.

use std::path::PathBuf;

use serde_json::{json, Value};

use crate::helpers::*;
use crate::webdriver::{Driver, Session, ENTER, TAB};

fn screenshots() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target"));
    let dir = target.join("dashboard-screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The controls of the page that have no accessible name: inputs and selects without a
/// label, buttons and links without text.
async fn unlabelled(s: &Session) -> Vec<String> {
    let found = s
        .script(
            "const bad = [];
             for (const el of document.querySelectorAll('input:not([type=hidden]), select, textarea')) {
               const label = (el.labels && el.labels.length) ? el.labels[0].innerText.trim() : (el.getAttribute('aria-label') || '');
               if (!label) bad.push(el.outerHTML.slice(0, 100));
             }
             for (const el of document.querySelectorAll('button, a')) {
               if (!el.innerText.trim() && !el.getAttribute('aria-label')) bad.push(el.outerHTML.slice(0, 100));
             }
             return bad;",
        )
        .await;
    serde_json::from_value(found).unwrap()
}

/// Screenshots the page as `name` and checks its controls are labelled.
async fn look(s: &Session, name: &str) {
    s.screenshot(&screenshots().join(format!("{name}.png"))).await;
    assert_eq!(
        unlabelled(s).await,
        Vec::<String>::new(),
        "unlabelled controls on {name}"
    );
}

fn seed() -> Value {
    let mut seed = test_seed();
    let users = seed["accounts"][0]["users"].as_array_mut().unwrap();
    for i in 0..40 {
        users.push(
            json!({"email": format!("member{i:02}@example.com"), "name": format!("Member {i:02}"),
            "seat_uid": format!("m{i}"), "access_seat": i < 5}),
        );
    }
    seed
}

#[tokio::test]
async fn a_person_signs_in_finds_a_user_and_removes_the_seat() {
    let Some(driver) = Driver::start().await else { return };
    let app = spawn_app(&seed()).await;
    let s = driver.session().await;
    let url = |path: &str| app.url(path);

    // A wrong token: the page says why, with Cloudflare's code.
    s.goto(&url("/dashboard")).await;
    s.wait_for_url("/dashboard/sign-in").await;
    look(&s, "01-sign-in").await;
    s.type_into(&s.find("#token").await, "wrong-token-value").await;
    s.click(&s.find("form:first-of-type button").await).await;
    s.wait_for_url("/dashboard/sign-in").await;
    assert_eq!(s.texts(".error li").await, ["Error 9109: Invalid access token"]);
    look(&s, "02-sign-in-refused").await;

    // By keyboard alone: the skip link, then the token field, then its button.
    s.goto(&url("/dashboard/sign-in")).await;
    s.wait_for_url("/dashboard/sign-in").await;
    s.press(TAB).await;
    assert_eq!(s.focused().await, "a Skip to content");
    s.press(ENTER).await;
    assert_eq!(s.focused().await.split(' ').next(), Some("main#main"));
    s.press(TAB).await;
    assert_eq!(s.focused().await, "input#token ");
    s.press(TOKEN).await;
    s.press(TAB).await;
    assert_eq!(s.focused().await, "button Sign in with token");
    s.press(ENTER).await;
    // The demo token reaches one account: its overview opens.
    s.wait_for_url(&format!("/dashboard/accounts/{ACCOUNT}")).await;
    assert_eq!(s.texts("h1").await, ["Overview"]);
    assert_eq!(s.texts(".figures").await, ["7 of 50 seats in use"]);
    assert_eq!(
        s.script("return document.cookie").await,
        json!(""),
        "scripts cannot read the session cookie"
    );
    look(&s, "03-overview").await;

    // Users: a search, then a seat filter that applies on change (the script).
    s.click(&s.find("nav.tabs a:nth-child(2)").await).await;
    s.wait_for_url("/users").await;
    assert_eq!(s.find_all("table.users tbody tr").await.len(), 43);
    look(&s, "04-users").await;
    s.press("/").await;
    assert_eq!(s.focused().await, "input#search ", "/ focuses the search");
    s.press(&format!("alice{ENTER}")).await;
    s.wait_for_url("search=alice").await;
    assert_eq!(
        s.texts("table.users tbody td:nth-child(2)").await,
        ["alice@example.com"]
    );
    look(&s, "05-users-search").await;
    s.goto(&url(&format!("/dashboard/accounts/{ACCOUNT}/users"))).await;
    s.click(&s.find("select#seat").await).await;
    s.click(&s.find("select#seat option[value=gateway]").await).await;
    s.wait_for_url("seat=gateway").await;
    assert_eq!(
        s.texts("table.users tbody td:nth-child(2)").await,
        ["alice@example.com"]
    );

    // Alice's page, the confirmation, and the removal by keyboard.
    s.click(&s.find("table.users tbody a").await).await;
    s.wait_for_url("/users/").await;
    assert_eq!(s.texts("#devices-heading").await, ["Devices (2)"]);
    look(&s, "06-user").await;
    s.click(&s.find("a.danger").await).await;
    s.wait_for_url("/remove-seat").await;
    look(&s, "07-confirm-removal").await;
    assert!(
        app.user(ALICE_SEAT).await.access_seat,
        "nothing happens before the confirmation"
    );
    assert_eq!(
        s.focused().await,
        "button Remove seat",
        "the confirmation has the focus"
    );
    s.press(ENTER).await;
    s.wait_for_url("removed=1").await;
    assert_eq!(s.texts(".notice").await, ["Seat removed."]);
    let alice = app.user(ALICE_SEAT).await;
    assert!(!alice.access_seat && !alice.gateway_seat);

    // Usage dropped, the chart shows it, the audit log names who did it.
    s.click(&s.find("nav.tabs a:nth-child(1)").await).await;
    s.wait_for_url(&format!("/dashboard/accounts/{ACCOUNT}")).await;
    assert_eq!(s.texts(".figures").await, ["6 of 50 seats in use"]);
    assert_eq!(s.find_all("svg.chart").await.len(), 1);
    look(&s, "08-overview-after-removal").await;
    s.click(&s.find("nav.tabs a:nth-child(3)").await).await;
    s.wait_for_url("/audit").await;
    let row = s.texts("table.audit tbody tr:first-child td").await;
    assert_eq!(
        row[1..],
        [
            "token:demo",
            "seat.remove",
            ALICE_SEAT,
            "Access and Gateway seats",
            "no seat"
        ]
    );
    look(&s, "09-audit").await;
    s.click(&s.find("nav.tabs a:nth-child(4)").await).await;
    s.wait_for_url("/identity-providers").await;
    // The demo token lacks the organization permissions this page needs, and is told so.
    assert_eq!(s.texts(".error li").await, ["Error 10000: Authentication error"]);
    look(&s, "10-identity-providers-refused").await;
    s.close().await;
}

#[tokio::test]
async fn a_read_only_token_sees_no_action_and_a_forged_one_is_refused() {
    let Some(driver) = Driver::start().await else { return };
    let app = spawn_app(&seed()).await;
    let s = driver.session().await;
    s.goto(&app.url("/dashboard/sign-in")).await;
    s.type_into(&s.find("#token").await, "read-token").await;
    s.click(&s.find("form:first-of-type button").await).await;
    // It reaches every account: the list of them opens.
    s.wait_for_url("/dashboard/accounts").await;
    assert_eq!(s.texts("tbody tr td:first-child a").await, ["Other", "Example account"]);
    look(&s, "11-accounts").await;

    let carol = app.user("carol").await;
    s.goto(&app.url(&format!("/dashboard/accounts/{ACCOUNT}/users/{}", carol.id)))
        .await;
    s.wait_for_url(&carol.id).await;
    assert!(s.find_all("a.danger").await.is_empty(), "no remove link");
    assert!(s.find_all("input#access").await.is_empty(), "no seat boxes");
    look(&s, "12-read-only-user").await;

    // A form built by hand, with the session's own form token: the server still refuses.
    s.script(
        "const f = document.createElement('form');
         f.method = 'post'; f.action = location.pathname + '/remove-seat';
         const c = document.createElement('input');
         c.type = 'hidden'; c.name = 'csrf'; c.value = document.querySelector('input[name=csrf]').value;
         f.appendChild(c); document.body.appendChild(f); f.submit(); return true;",
    )
    .await;
    s.wait_for_url("/remove-seat").await;
    assert_eq!(s.texts(".error li").await, ["Error 10000: Authentication error"]);
    look(&s, "13-read-only-refused").await;
    assert!(app.user("carol").await.access_seat, "the seat is still held");
    s.close().await;
}
