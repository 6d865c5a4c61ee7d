//! The dashboard over plain HTTP, as a browser without JavaScript sees it: sign-in and the
//! session cookie, every page's content, the seat actions and their permission checks, errors
//! with Cloudflare's codes, and key-set paging. The browser tests (`tests/browser.rs`) drive
//! the same pages in Chromium.

use reqwest::header::{COOKIE, LOCATION, SET_COOKIE};
use reqwest::{Method, StatusCode};
use scraper::{Html, Selector};
use serde_json::{json, Value};

use crate::helpers::*;

/// A browser session without JavaScript: follows no redirect by itself, keeps its cookies.
struct Browser<'a> {
    app: &'a TestApp,
    client: reqwest::Client,
    cookies: std::collections::BTreeMap<String, String>,
}

/// A page as received.
struct Page {
    status: StatusCode,
    location: Option<String>,
    /// The `Set-Cookie` of the session cookie, if the page set or dropped it.
    set_cookie: Option<String>,
    html: Html,
}

impl Page {
    fn all(&self, selector: &str) -> Vec<String> {
        let s = Selector::parse(selector).unwrap();
        self.html
            .select(&s)
            .map(|e| {
                e.text()
                    .collect::<String>()
                    .split_whitespace()
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .collect()
    }

    fn one(&self, selector: &str) -> String {
        let all = self.all(selector);
        assert_eq!(all.len(), 1, "one {selector} in {}", self.html.html());
        all[0].clone()
    }

    fn count(&self, selector: &str) -> usize {
        self.html.select(&Selector::parse(selector).unwrap()).count()
    }

    fn attr(&self, selector: &str, name: &str) -> Option<String> {
        let s = Selector::parse(selector).unwrap();
        self.html.select(&s).next()?.value().attr(name).map(str::to_owned)
    }

    /// The page's errors as `(code, message)`, as the error box lists them.
    fn errors(&self) -> Vec<String> {
        self.all(".error > ul > li")
    }
}

impl<'a> Browser<'a> {
    fn new(app: &'a TestApp) -> Self {
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        Browser {
            app,
            client,
            cookies: Default::default(),
        }
    }

    /// The session cookie (`name=value`), while signed in.
    fn session(&self) -> Option<String> {
        self.cookies
            .get("seats_dashboard")
            .map(|v| format!("seats_dashboard={v}"))
    }

    async fn send(&mut self, method: Method, path: &str, form: Option<&[(&str, &str)]>) -> Page {
        let mut req = self.client.request(method, self.app.url(path));
        if !self.cookies.is_empty() {
            let all: Vec<String> = self.cookies.iter().map(|(k, v)| format!("{k}={v}")).collect();
            req = req.header(COOKIE, all.join("; "));
        }
        if let Some(form) = form {
            req = req.form(form);
        }
        let resp = req.send().await.unwrap();
        let status = resp.status();
        let location = resp.headers().get(LOCATION).map(|v| v.to_str().unwrap().to_owned());
        let mut set_cookie = None;
        for set in resp.headers().get_all(SET_COOKIE) {
            let set = set.to_str().unwrap().to_owned();
            let (name, value) = set.split(';').next().unwrap().split_once('=').unwrap();
            if set.contains("Max-Age=0") {
                self.cookies.remove(name);
            } else {
                self.cookies.insert(name.to_owned(), value.to_owned());
            }
            if name == "seats_dashboard" {
                set_cookie = Some(set.clone());
            }
        }
        let text = resp.text().await.unwrap();
        Page {
            status,
            location,
            set_cookie,
            html: Html::parse_document(&text),
        }
    }

    async fn get(&mut self, path: &str) -> Page {
        self.send(Method::GET, path, None).await
    }

    async fn post(&mut self, path: &str, form: &[(&str, &str)]) -> Page {
        self.send(Method::POST, path, Some(form)).await
    }

    /// Signs in as a person does: the form first, then posting it.
    async fn sign_in(&mut self, form: &[(&str, &str)]) -> Page {
        let page = self.get("/dashboard/sign-in").await;
        let nonce = page.attr("input[name=nonce]", "value").expect("the form's nonce");
        let mut form = form.to_vec();
        form.push(("nonce", &nonce));
        self.post("/dashboard/sign-in", &form).await
    }

    async fn sign_in_with_token(&mut self, token: &str) -> Page {
        let page = self.sign_in(&[("kind", "token"), ("token", token)]).await;
        assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.html.html());
        page
    }

    /// The session's form token, read off a page that has a form.
    async fn csrf(&mut self) -> String {
        let page = self.get("/dashboard/accounts").await;
        page.attr("input[name=csrf]", "value").expect("a form token")
    }
}

fn account_path(rest: &str) -> String {
    format!("/dashboard/accounts/{ACCOUNT}{rest}")
}

async fn user_path(app: &TestApp, seat_uid: &str) -> String {
    account_path(&format!("/users/{}", app.user(seat_uid).await.id))
}

#[tokio::test]
async fn the_credential_lives_in_a_session_cookie_only() {
    on_each_backend(|| async {
        let app = spawn_app(&test_seed()).await;
        let mut browser = Browser::new(&app);
        let page = browser.get("/dashboard").await;
        assert_eq!(page.status, StatusCode::SEE_OTHER);
        assert_eq!(page.location.as_deref(), Some("/dashboard/sign-in"));

        let page = browser.sign_in_with_token(TOKEN).await;
        assert_eq!(page.location.as_deref(), Some("/dashboard"), "the token is in no URL");
        let cookie = page.set_cookie.unwrap();
        for part in ["HttpOnly", "SameSite=Strict", "Path=/dashboard"] {
            assert!(cookie.contains(part), "{part} in {cookie}");
        }
        assert!(
            !cookie.contains("Expires") && !cookie.contains("Max-Age"),
            "a session cookie: {cookie}"
        );
        // The demo token reaches one account: straight into it.
        let page = browser.get("/dashboard").await;
        assert_eq!(page.location, Some(account_path("")));
        let page = browser.get(&account_path("")).await;
        assert_eq!(page.status, StatusCode::OK);
        assert_eq!(page.one(".who"), "Signed in as token “demo”");
        for header in ["cache-control"] {
            let resp = reqwest::Client::new()
                .get(app.url(&account_path("")))
                .header(COOKIE, browser.session().unwrap())
                .send()
                .await
                .unwrap();
            assert_eq!(resp.headers()[header], "no-store");
        }

        // Signing out drops the cookie; the next page asks to sign in.
        let csrf = browser.csrf().await;
        let page = browser.post("/dashboard/sign-out", &[("csrf", &csrf)]).await;
        assert!(page.set_cookie.unwrap().contains("Max-Age=0"));
        assert_eq!(
            browser.get(&account_path("")).await.location.as_deref(),
            Some("/dashboard/sign-in")
        );

        // A global key with its email signs in too, and names the member.
        let page = browser
            .sign_in(&[("kind", "key"), ("email", EMAIL), ("key", KEY)])
            .await;
        assert_eq!(page.status, StatusCode::SEE_OTHER);
        assert_eq!(
            browser.get(&account_path("")).await.one(".who"),
            format!("Signed in as {EMAIL}")
        );
    })
    .await;
}

#[tokio::test]
async fn a_sign_in_not_posted_from_our_form_is_refused() {
    on_each_backend(|| async {
        let app = spawn_app(&test_seed()).await;
        let mut browser = Browser::new(&app);
        // Straight at the endpoint, as another site's form would: no form cookie, no nonce.
        let page = browser
            .post("/dashboard/sign-in", &[("kind", "token"), ("token", TOKEN)])
            .await;
        assert_eq!(page.status, StatusCode::FORBIDDEN);
        assert_eq!(page.errors(), ["Error 10000: Authentication error"]);
        assert!(browser.session().is_none());
        // With this browser's form cookie but another value.
        browser.get("/dashboard/sign-in").await;
        let page = browser
            .post(
                "/dashboard/sign-in",
                &[("kind", "token"), ("token", TOKEN), ("nonce", "0011")],
            )
            .await;
        assert_eq!(page.status, StatusCode::FORBIDDEN);
        assert!(browser.session().is_none());
        // The form it was given signs in, and its cookie goes once used.
        let page = browser.sign_in(&[("kind", "token"), ("token", TOKEN)]).await;
        assert_eq!(page.status, StatusCode::SEE_OTHER);
        assert!(browser.session().is_some());
        assert!(!browser.cookies.contains_key("seats_dashboard_sign_in"));
    })
    .await;
}

#[tokio::test]
async fn a_refused_sign_in_says_why_with_cloudflare_codes() {
    on_each_backend(|| async {
        let app = spawn_app(&test_seed()).await;
        let mut browser = Browser::new(&app);
        type Case<'a> = (&'a [(&'a str, &'a str)], u16, &'a [&'a str]);
        let cases: [Case; 6] = [
            (
                &[("kind", "token"), ("token", "Sn3lZJTBX6kkg7OdcBUAxOO963GEIyGQqnFTOFYZ")],
                403,
                &["Error 9109: Invalid access token"],
            ),
            (
                &[("kind", "token"), ("token", "disabled-token")],
                403,
                &["Error 9109: Invalid access token"],
            ),
            (
                &[("kind", "token"), ("token", "")],
                400,
                &["Error 6003: Invalid request headers Error 6111: Invalid format for Authorization header"],
            ),
            (
                &[
                    ("kind", "key"),
                    ("email", EMAIL),
                    ("key", "0000000000000000000000000000000000000000"),
                ],
                403,
                &["Error 9103: Unknown X-Auth-Key or X-Auth-Email"],
            ),
            (
                &[("kind", "key"), ("email", "not-an-email"), ("key", KEY)],
                400,
                &["Error 6003: Invalid request headers Error 6102: Invalid format for X-Auth-Email header"],
            ),
            // No operator key configured: there is no operator to be.
            (
                &[("kind", "operator"), ("key", "anything")],
                404,
                &["Error 7000: No route for that URI"],
            ),
        ];
        for (form, status, errors) in cases {
            let page = browser.sign_in(form).await;
            assert_eq!(page.status.as_u16(), status, "{form:?}");
            assert_eq!(page.errors(), errors, "{form:?}");
            assert!(page.set_cookie.is_none(), "no session for {form:?}");
            assert_eq!(page.count("input[name=token]"), 1, "the form is shown again");
        }
        assert!(browser.session().is_none());

        // A token revoked after sign-in ends the session at the next page, saying why.
        browser.sign_in_with_token("wildcard-token").await;
        app.store
            .set_token_status(
                "wildcard",
                seats_types::TokenStatus::Disabled,
                seats_store::Actor::Operator,
                now(),
            )
            .await
            .unwrap();
        let page = browser.get("/dashboard/accounts").await;
        assert_eq!(page.status, StatusCode::FORBIDDEN);
        assert_eq!(page.errors(), ["Error 9109: Invalid access token"]);
        assert!(page.set_cookie.unwrap().contains("Max-Age=0"));
    })
    .await;
}

fn now() -> seats_types::Timestamp {
    seats_server::Clock::now(&seats_server::SystemClock)
}

#[tokio::test]
async fn pages_show_accounts_users_and_one_user() {
    on_each_backend(|| async {
        let app = TestApp::builder().seed(&test_seed()).operator().start().await;
        let mut browser = Browser::new(&app);
        let page = browser.sign_in(&[("kind", "operator"), ("key", OPERATOR_KEY)]).await;
        assert_eq!(page.status, StatusCode::SEE_OTHER);
        assert_eq!(
            browser.get("/dashboard").await.location.as_deref(),
            Some("/dashboard/accounts")
        );

        // Accounts: both, each with its usage meter.
        let page = browser.get("/dashboard/accounts").await;
        // Creation order, then id: both were seeded at once.
        assert_eq!(page.all("tbody tr td:first-child a"), ["Other", "Example account"]);
        let meter = format!("meter#usage-{ACCOUNT}");
        assert_eq!(page.attr(&meter, "value").as_deref(), Some("2"));
        assert_eq!(page.attr(&meter, "max").as_deref(), Some("50"));
        assert_eq!(
            page.attr(&format!("meter#usage-{OTHER_ACCOUNT}"), "value").as_deref(),
            Some("1")
        );

        // Users: all, filtered by seat, searched.
        let users = |query: &str| account_path(&format!("/users{query}"));
        let page = browser.get(&users("")).await;
        assert_eq!(
            page.all("table.users tbody td:nth-child(2)"),
            ["alice@example.com", "bob@example.com", "carol@example.com"]
        );
        assert_eq!(page.one(".figures"), "2 of 50 seats in use");
        let page = browser.get(&users("?seat=none")).await;
        assert_eq!(page.all("table.users tbody td:nth-child(2)"), ["bob@example.com"]);
        assert_eq!(page.attr("option[selected]", "value").as_deref(), Some("none"));
        let page = browser.get(&users("?seat=gateway")).await;
        assert_eq!(page.all("table.users tbody td:nth-child(2)"), ["alice@example.com"]);
        let page = browser.get(&users("?search=CAR")).await;
        assert_eq!(page.all("table.users tbody td:nth-child(2)"), ["carol@example.com"]);
        assert_eq!(page.attr("input#search", "value").as_deref(), Some("CAR"));
        let page = browser.get(&users("?search=nobody&seat=holding")).await;
        assert_eq!(page.one("p.empty"), "No users match.");

        // A user: seats, devices, sessions and logins.
        let (status, body) = app
            .operator(
                Method::POST,
                &format!("/accounts/{ACCOUNT}/logins"),
                Some(json!({"email": "bob@example.com", "via": "gateway", "device_id": "bobs-laptop"})),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let page = browser.get(&user_path(&app, "bob").await).await;
        assert_eq!(page.one("h1"), "Bob");
        assert_eq!(
            page.attr("input#gateway", "checked").as_deref(),
            Some(""),
            "the login took the Gateway seat"
        );
        assert_eq!(page.attr("input#access", "checked"), None);
        assert_eq!(page.all("#devices-heading"), ["Devices (1)"]);
        assert_eq!(
            page.all("section[aria-labelledby=devices-heading] tbody td:first-child"),
            ["bobs-laptop"]
        );
        assert!(page.all("section[aria-labelledby=logins-heading] p")[0].ends_with("through gateway"));
    })
    .await;
}

#[tokio::test]
async fn removing_a_seat_asks_first_then_frees_it_and_is_audited() {
    on_each_backend(|| async {
        let app = spawn_app(&test_seed()).await;
        let mut browser = Browser::new(&app);
        browser.sign_in_with_token(TOKEN).await;
        let alice = user_path(&app, ALICE_SEAT).await;
        let page = browser.get(&alice).await;
        assert_eq!(page.one("a.danger"), "Remove seat");
        let confirm = page.attr("a.danger", "href").unwrap();

        // The link asks; nothing has changed yet.
        let page = browser.get(&confirm).await;
        assert_eq!(page.one("h1"), "Remove seat?");
        assert!(page.one("main > p:not(.account-name)").contains("alice@example.com"));
        let audited = app.audit_count(ACCOUNT).await;
        assert!(app.user(ALICE_SEAT).await.access_seat);

        let csrf = page.attr("input[name=csrf]", "value").unwrap();
        let page = browser.post(&confirm, &[("csrf", &csrf)]).await;
        assert_eq!(page.status, StatusCode::SEE_OTHER);
        assert_eq!(page.location, Some(format!("{alice}?removed=1")));
        let user = app.user(ALICE_SEAT).await;
        assert!(!user.access_seat && !user.gateway_seat);
        assert_eq!(user.active_device_count, 0, "devices end with the Gateway seat");
        assert_eq!(app.audit_count(ACCOUNT).await, audited + 1);

        let page = browser.get(&format!("{alice}?removed=1")).await;
        assert_eq!(page.one(".notice"), "Seat removed.");
        assert_eq!(page.count("a.danger"), 0, "nothing left to remove");
        let page = browser.get(&account_path("")).await;
        assert_eq!(page.one(".figures"), "1 of 50 seats in use");
        assert_eq!(page.count("svg.chart"), 1, "the change is drawn");
        assert!(page.one("svg.chart desc").starts_with("From 2 to 1 seats in use"));

        let page = browser.get(&account_path("/audit")).await;
        let first: Vec<String> = page
            .all("table.audit tbody tr:first-child td")
            .into_iter()
            .skip(1)
            .collect();
        assert_eq!(
            first,
            [
                "token:demo",
                "seat.remove",
                ALICE_SEAT,
                "Access and Gateway seats",
                "no seat"
            ]
        );

        // Seats back through the boxes: Access only.
        let page = browser
            .post(&format!("{alice}/seats"), &[("csrf", &csrf), ("access", "on")])
            .await;
        assert_eq!(page.location, Some(format!("{alice}?saved=1")));
        let user = app.user(ALICE_SEAT).await;
        assert!(user.access_seat && !user.gateway_seat);
    })
    .await;
}

#[tokio::test]
async fn a_read_only_token_is_offered_no_action_and_refused_one() {
    on_each_backend(|| async {
        let app = spawn_app(&test_seed()).await;
        let mut browser = Browser::new(&app);
        browser.sign_in_with_token("read-token").await;
        let alice = user_path(&app, ALICE_SEAT).await;
        let page = browser.get(&alice).await;
        assert_eq!(page.status, StatusCode::OK);
        assert_eq!(page.count("a.danger"), 0, "no remove link");
        assert_eq!(page.count("form[action$='/seats']"), 0, "no seat form");
        assert!(page
            .one("section[aria-labelledby=seats-heading] p.none")
            .contains("Zero Trust: Seats Write"));

        let audited = app.audit_count(ACCOUNT).await;
        let csrf = browser.csrf().await;
        for (path, form) in [
            (format!("{alice}/remove-seat"), vec![("csrf", csrf.as_str())]),
            (format!("{alice}/seats"), vec![("csrf", csrf.as_str())]),
        ] {
            let page = browser.post(&path, &form).await;
            assert_eq!(page.status, StatusCode::FORBIDDEN, "{path}");
            assert_eq!(page.errors(), ["Error 10000: Authentication error"]);
        }
        assert_eq!(
            browser.get(&format!("{alice}/remove-seat")).await.status,
            StatusCode::FORBIDDEN
        );
        let user = app.user(ALICE_SEAT).await;
        assert!(user.access_seat && user.gateway_seat, "nothing changed");
        assert_eq!(app.audit_count(ACCOUNT).await, audited);

        // Nor another account's pages, even by URL.
        let mut demo = Browser::new(&app);
        demo.sign_in_with_token(TOKEN).await;
        let page = demo.get(&format!("/dashboard/accounts/{OTHER_ACCOUNT}/users")).await;
        assert_eq!(page.status, StatusCode::FORBIDDEN);
        assert_eq!(page.errors(), ["Error 10000: Authentication error"]);
    })
    .await;
}

#[tokio::test]
async fn a_form_without_the_session_token_changes_nothing() {
    on_each_backend(|| async {
        let app = spawn_app(&test_seed()).await;
        let mut browser = Browser::new(&app);
        browser.sign_in_with_token(TOKEN).await;
        let alice = user_path(&app, ALICE_SEAT).await;
        for csrf in ["", "0123456789abcdef0123456789abcdef"] {
            let page = browser.post(&format!("{alice}/remove-seat"), &[("csrf", csrf)]).await;
            assert_eq!(page.status, StatusCode::FORBIDDEN);
            assert_eq!(page.errors(), ["Error 10000: Authentication error"]);
        }
        // Another session's token is not this one's.
        let mut other = Browser::new(&app);
        other.sign_in(&[("kind", "key"), ("email", EMAIL), ("key", KEY)]).await;
        let theirs = other.csrf().await;
        assert_ne!(theirs, browser.csrf().await);
        let page = browser
            .post(&format!("{alice}/remove-seat"), &[("csrf", &theirs)])
            .await;
        assert_eq!(page.status, StatusCode::FORBIDDEN);
        assert!(app.user(ALICE_SEAT).await.access_seat);
    })
    .await;
}

#[tokio::test]
async fn errors_show_the_cloudflare_code_and_message() {
    on_each_backend(|| async {
        let app = TestApp::builder().seed(&test_seed()).operator().start().await;
        let mut browser = Browser::new(&app);
        browser.sign_in(&[("kind", "operator"), ("key", OPERATOR_KEY)]).await;
        let csrf = browser.csrf().await;
        // The Other account is full: a seat for Erin is refused by the limit.
        let erin = app.user_in(OTHER_ACCOUNT, "erin").await;
        let path = format!("/dashboard/accounts/{OTHER_ACCOUNT}/users/{}/seats", erin.id);
        let page = browser.post(&path, &[("csrf", &csrf), ("access", "on")]).await;
        assert_eq!(page.status, StatusCode::CONFLICT);
        assert_eq!(
            page.errors(),
            ["Error 12009: access.api.error.seat_limit_reached: 1/1 seats in use"]
        );
        assert!(!app.user_in(OTHER_ACCOUNT, "erin").await.access_seat);

        let page = browser.get(&account_path("/users/00000000-0000-0000-0000-000000000000")).await;
        assert_eq!(page.status, StatusCode::NOT_FOUND);
        assert_eq!(
            page.errors(),
            ["Error 12130: access.api.error.not_found: no user with id \"00000000-0000-0000-0000-000000000000\" in this account"]
        );
        let page = browser.get("/dashboard/accounts/not-an-account/users").await;
        assert_eq!(page.status, StatusCode::BAD_REQUEST);
        assert_eq!(page.errors()[0], "Error 7003: Could not route to /dashboard/accounts/not-an-account/users, perhaps your object identifier is invalid?");
        let page = browser.get(&account_path("/users?seat=both")).await;
        assert_eq!(page.status, StatusCode::BAD_REQUEST);
        assert_eq!(
            page.errors(),
            ["Error 12006: access.api.error.invalid_request: seat must be one of any, holding, access, gateway, none (at /seat)"]
        );
        let page = browser.get("/dashboard/nowhere").await;
        assert_eq!(page.status, StatusCode::NOT_FOUND);
        assert_eq!(page.errors(), ["Error 7000: No route for that URI"]);
    })
    .await;
}

#[tokio::test]
async fn the_expiry_setting_is_shown_and_changed_with_the_organization_permissions() {
    on_each_backend(|| async {
        let app = spawn_app(&test_seed()).await;
        // The demo token cannot read organizations: the page says so.
        let mut demo = Browser::new(&app);
        demo.sign_in_with_token(TOKEN).await;
        assert!(demo
            .get(&account_path(""))
            .await
            .one("section[aria-labelledby=org-heading] p")
            .contains("cannot read"));

        let mut member = Browser::new(&app);
        member.sign_in(&[("kind", "key"), ("email", EMAIL), ("key", KEY)]).await;
        let page = member.get(&account_path("")).await;
        assert_eq!(
            page.one("section[aria-labelledby=org-heading] p"),
            "This account has no Zero Trust organization yet."
        );
        let (status, _) = app
            .call(
                Method::POST,
                &format!("/accounts/{ACCOUNT}/access/organizations"),
                Auth::Key(EMAIL, KEY),
                Some(json!({"name": "Example", "auth_domain": "example.cloudflareaccess.com"})),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED);
        let page = member.get(&account_path("")).await;
        assert!(page
            .one("section[aria-labelledby=org-heading] dl")
            .contains("Off: seats are never freed"));
        let csrf = page.attr("input[name=csrf]", "value").unwrap();

        let organization = account_path("/organization");
        let page = member.post(&organization, &[("csrf", &csrf), ("expiry", "10m")]).await;
        assert_eq!(page.status, StatusCode::BAD_REQUEST);
        assert_eq!(page.errors().len(), 1);
        assert!(
            page.errors()[0].starts_with("Error 12006: access.api.error.invalid_request: "),
            "{:?}",
            page.errors()
        );
        assert!(page.errors()[0].ends_with("(at /user_seat_expiration_inactive_time)"));

        let page = member.post(&organization, &[("csrf", &csrf), ("expiry", "730h")]).await;
        assert_eq!(page.location, Some(account_path("?saved=1")));
        let page = member.get(&account_path("")).await;
        assert!(page
            .one("section[aria-labelledby=org-heading] dl")
            .contains("freed after 730h"));
        let (_, body) = app
            .call(
                Method::GET,
                &format!("/accounts/{ACCOUNT}/access/organizations"),
                Auth::Key(EMAIL, KEY),
                None,
            )
            .await;
        assert_eq!(body["result"]["user_seat_expiration_inactive_time"], json!("730h"));
        // The demo token may not change it, whatever it posts.
        let csrf = demo.csrf().await;
        let page = demo.post(&organization, &[("csrf", &csrf), ("expiry", "")]).await;
        assert_eq!(page.status, StatusCode::FORBIDDEN);
    })
    .await;
}

#[tokio::test]
async fn users_pages_walk_a_large_account_by_key() {
    on_each_backend(|| async {
        let mut seed = test_seed();
        let users: Vec<Value> = (0..130)
            .map(|i| json!({"email": format!("user{i:03}@example.com"), "seat_uid": format!("s{i}"), "access_seat": i % 7 == 0}))
            .collect();
        seed["accounts"][1]["users"] = json!(users);
        seed["accounts"][1]["seat_limit"] = json!(130);
        let app = TestApp::builder().seed(&seed).operator().start().await;
        let mut browser = Browser::new(&app);
        browser.sign_in(&[("kind", "operator"), ("key", OPERATOR_KEY)]).await;
        let emails = |page: &Page| page.all("table.users tbody td:nth-child(2)");
        let start = format!("/dashboard/accounts/{OTHER_ACCOUNT}/users");

        let mut seen = Vec::new();
        let mut pages = Vec::new();
        let mut next = Some(start.clone());
        while let Some(path) = next {
            let page = browser.get(&path).await;
            assert_eq!(page.status, StatusCode::OK);
            seen.extend(emails(&page));
            pages.push(emails(&page));
            next = page.attr("a[rel=next]", "href");
        }
        let expected: Vec<String> = (0..130).map(|i| format!("user{i:03}@example.com")).collect();
        assert_eq!(seen, expected, "every user once, in creation order");
        assert_eq!(pages.iter().map(Vec::len).collect::<Vec<_>>(), [50, 50, 30]);

        // Back from the second page to the first; the last page from the end.
        let second = browser.get(&start).await.attr("a[rel=next]", "href").unwrap();
        let previous = browser.get(&second).await.attr("a[rel=prev]", "href").unwrap();
        assert_eq!(emails(&browser.get(&previous).await), pages[0]);
        let last = browser.get(&format!("{start}?before=")).await;
        assert_eq!(emails(&last), expected[80..]);
        assert_eq!(last.attr("a[rel=next]", "href"), None, "nothing after the last page");
        let previous = last.attr("a[rel=prev]", "href").unwrap();
        assert_eq!(emails(&browser.get(&previous).await), expected[30..80]);
        let page = browser.get(&format!("{start}?before=12_x")).await;
        assert_eq!(page.status, StatusCode::BAD_REQUEST);
        assert_eq!(
            page.errors(),
            ["Error 12006: access.api.error.invalid_request: not a place in the list (at /before)"]
        );

        // A seat filter pages the same way and keeps itself in the links.
        let page = browser.get(&format!("{start}?seat=access")).await;
        let holders: Vec<String> = (0..130).filter(|i| i % 7 == 0).map(|i| format!("user{i:03}@example.com")).collect();
        assert_eq!(emails(&page), holders);
        assert_eq!(page.attr("a[rel=next]", "href"), None, "all of them on one page");
    })
    .await;
}

#[tokio::test]
async fn identity_providers_show_their_scim_status() {
    on_each_backend(|| async {
        let app = spawn_app(&test_seed()).await;
        let mut member = Browser::new(&app);
        member.sign_in(&[("kind", "key"), ("email", EMAIL), ("key", KEY)]).await;
        let path = account_path("/identity-providers");
        assert_eq!(member.get(&path).await.count("tbody tr"), 0);
        let (status, body) = app
            .call(
                Method::POST,
                &format!("/accounts/{ACCOUNT}/access/identity_providers"),
                Auth::Key(EMAIL, KEY),
                Some(json!({"name": "Okta", "type": "okta", "config": {},
                    "scim_config": {"enabled": true, "user_deprovision": true, "seat_deprovision": false}})),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        let page = member.get(&path).await;
        let cells: Vec<String> = page.all("tbody tr td").into_iter().skip(1).take(5).collect();
        assert_eq!(cells, ["okta", "On", "0", "Yes", "No"]);
        assert!(page.one("tbody tr td:first-child").starts_with("Okta"));
        // The demo token lacks the organization permissions the API asks for.
        let mut demo = Browser::new(&app);
        demo.sign_in_with_token(TOKEN).await;
        assert_eq!(demo.get(&path).await.status, StatusCode::FORBIDDEN);
    })
    .await;
}

#[tokio::test]
async fn the_dashboard_is_kept_out_of_the_journal() {
    on_each_backend(|| async {
        let app = TestApp::builder()
            .seed(&test_seed())
            .operator()
            .resettable()
            .config(seats_server::ServerConfig {
                journal_bodies: true,
                ..Default::default()
            })
            .start()
            .await;
        let mut browser = Browser::new(&app);
        browser.sign_in_with_token(TOKEN).await;
        browser.get(&account_path("/users")).await;
        let (status, body) = app.operator(Method::GET, "/journal", None).await;
        assert_eq!(status, StatusCode::OK);
        let text = body.to_string();
        assert!(!text.contains("/dashboard"), "{text}");
        assert!(!text.contains(TOKEN));
    })
    .await;
}

#[tokio::test]
async fn a_spent_rate_limit_shows_its_error_and_keeps_the_session() {
    on_each_backend(|| async {
        let config = seats_server::ServerConfig {
            rate_limit: Some(seats_server::rate_limit::RateLimit {
                requests: 3,
                window: std::time::Duration::from_secs(300),
            }),
            ..Default::default()
        };
        let app = TestApp::builder().seed(&test_seed()).config(config).start().await;
        let mut browser = Browser::new(&app);
        // The sign-in and each page spend the token's budget, as API requests do.
        browser.sign_in_with_token(TOKEN).await;
        for _ in 0..2 {
            assert_eq!(browser.get(&account_path("")).await.status, StatusCode::OK);
        }
        let page = browser.get(&account_path("")).await;
        assert_eq!(page.status, StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(
            page.errors(),
            ["Error 971: Please wait and consider throttling your request speed"]
        );
        assert!(page.set_cookie.is_none(), "still signed in");
        assert!(browser.session().is_some());
    })
    .await;
}

/// How many dashboard sessions of `kind` the server's database holds.
async fn session_count_of(app: &TestApp, kind: &str) -> i64 {
    app.db
        .count("SELECT COUNT(*) FROM dashboard_sessions WHERE kind = $1", kind)
        .await
}

async fn session_count(app: &TestApp) -> i64 {
    session_count_of(app, "token").await
}

#[tokio::test]
async fn the_cookie_holds_a_random_id_and_the_server_no_credential() {
    on_each_backend(|| async {
        let app = spawn_app(&test_seed()).await;
        let mut first = Browser::new(&app);
        first.sign_in_with_token(TOKEN).await;
        let cookie = first.cookies["seats_dashboard"].clone();
        assert_eq!(cookie.len(), 64, "{cookie}");
        assert!(cookie.bytes().all(|b| b.is_ascii_hexdigit()), "{cookie}");
        let token_hex = hex::encode(TOKEN);
        assert!(!cookie.contains(&token_hex) && !cookie.contains(TOKEN));
        // The database keeps the id's hash and the credential's hash, never either.
        assert_eq!(session_count(&app).await, 1);
        let hash = |s: &str| seats_store::secret::Secret::new(s).hash();
        let kept = app.store.dashboard_session(hash(&cookie)).await.unwrap().unwrap();
        assert_eq!(
            kept.credential,
            seats_store::dashboard_session::SessionCredential::Token(hash(TOKEN))
        );

        // Another sign-in with the same token: another id, and another form token.
        let mut second = Browser::new(&app);
        second.sign_in_with_token(TOKEN).await;
        assert_ne!(second.cookies["seats_dashboard"], cookie);
        assert_ne!(first.csrf().await, second.csrf().await);
        assert_eq!(session_count(&app).await, 2);
    })
    .await;
}

#[tokio::test]
async fn signing_out_ends_the_session_on_the_server() {
    on_each_backend(|| async {
        let app = spawn_app(&test_seed()).await;
        let mut browser = Browser::new(&app);
        browser.sign_in_with_token(TOKEN).await;
        let old_cookie = browser.session().unwrap();
        let csrf = browser.csrf().await;
        let page = browser.post("/dashboard/sign-out", &[("csrf", &csrf)]).await;
        assert_eq!(page.status, StatusCode::SEE_OTHER);
        assert_eq!(session_count(&app).await, 0, "the row is gone");
        // The old cookie, replayed, opens nothing.
        let resp = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap()
            .get(app.url(&account_path("")))
            .header(COOKIE, old_cookie)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::SEE_OTHER);
        assert_eq!(resp.headers()[LOCATION], "/dashboard/sign-in");
    })
    .await;
}

#[tokio::test]
async fn sessions_end_when_idle_and_at_their_lifetime() {
    let clock = std::sync::Arc::new(seats_server::ManualClock::new());
    let config = seats_server::ServerConfig {
        dashboard_idle_timeout: std::time::Duration::from_secs(30 * 60),
        dashboard_session_lifetime: std::time::Duration::from_secs(3 * 3600),
        ..Default::default()
    };
    let app = TestApp::builder()
        .seed(&test_seed())
        .config(config)
        .clock(clock.clone())
        .start()
        .await;
    let minutes = |m: u64| std::time::Duration::from_secs(m * 60);
    // Idle: 29 minutes between pages keep it; 30 end it.
    let mut browser = Browser::new(&app);
    browser.sign_in_with_token(TOKEN).await;
    for _ in 0..3 {
        clock.advance(minutes(29)).unwrap();
        assert_eq!(browser.get(&account_path("")).await.status, StatusCode::OK);
    }
    clock.advance(minutes(30)).unwrap();
    let page = browser.get(&account_path("")).await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "idle for 30 minutes");
    assert_eq!(page.location.as_deref(), Some("/dashboard/sign-in"));
    assert_eq!(session_count(&app).await, 0, "an ended session is deleted");

    // Lifetime: in use every 20 minutes, it still ends 3 hours after sign-in.
    let mut browser = Browser::new(&app);
    browser.sign_in_with_token(TOKEN).await;
    for _ in 0..8 {
        clock.advance(minutes(20)).unwrap();
        assert_eq!(browser.get(&account_path("")).await.status, StatusCode::OK);
    }
    clock.advance(minutes(20)).unwrap();
    let page = browser.get(&account_path("")).await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "3 hours after sign-in");
}

#[tokio::test]
async fn cookies_are_secure_behind_https() {
    // A proxy that terminates TLS says so.
    let app = spawn_app(&test_seed()).await;
    let mut browser = Browser::new(&app);
    let page = browser.sign_in_with_token(TOKEN).await;
    assert!(!page.set_cookie.unwrap().contains("Secure"), "plain HTTP");
    let resp = browser
        .client
        .get(app.url("/dashboard/sign-in"))
        .header("x-forwarded-proto", "https")
        .send()
        .await
        .unwrap();
    let set = resp.headers()[SET_COOKIE].to_str().unwrap().to_owned();
    assert!(
        set.starts_with("seats_dashboard_sign_in=") && set.ends_with("; Secure"),
        "{set}"
    );

    // Or the operator does.
    let config = seats_server::ServerConfig {
        public_url: Some("https://seats.example.com".parse().unwrap()),
        ..Default::default()
    };
    let app = TestApp::builder().seed(&test_seed()).config(config).start().await;
    let mut browser = Browser::new(&app);
    let page = browser.sign_in_with_token(TOKEN).await;
    let cookie = page.set_cookie.unwrap();
    for part in ["HttpOnly", "SameSite=Strict", "Secure"] {
        assert!(cookie.contains(part), "{part} in {cookie}");
    }
}

#[tokio::test]
async fn a_sign_in_form_the_server_did_not_sign_is_refused() {
    let app = spawn_app(&test_seed()).await;
    let mut browser = Browser::new(&app);
    // An equal cookie and form value of the right shape, made up by someone else.
    let made_up = "ab".repeat(40);
    browser
        .cookies
        .insert("seats_dashboard_sign_in".into(), made_up.clone());
    let page = browser
        .post(
            "/dashboard/sign-in",
            &[("kind", "token"), ("token", TOKEN), ("nonce", &made_up)],
        )
        .await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);
    assert_eq!(page.errors(), ["Error 10000: Authentication error"]);
    assert!(browser.session().is_none());
    // Another server's form (another database: another key) is refused too.
    let other = spawn_app(&test_seed()).await;
    let mut elsewhere = Browser::new(&other);
    let form = elsewhere.get("/dashboard/sign-in").await;
    let nonce = form.attr("input[name=nonce]", "value").unwrap();
    browser.cookies.insert("seats_dashboard_sign_in".into(), nonce.clone());
    let page = browser
        .post(
            "/dashboard/sign-in",
            &[("kind", "token"), ("token", TOKEN), ("nonce", &nonce)],
        )
        .await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);
    assert!(browser.session().is_none());
}

#[tokio::test]
async fn an_old_sign_in_form_is_refused() {
    let clock = std::sync::Arc::new(seats_server::ManualClock::new());
    let app = TestApp::builder()
        .seed(&test_seed())
        .config(Default::default())
        .clock(clock.clone())
        .start()
        .await;
    let mut browser = Browser::new(&app);
    let form = browser.get("/dashboard/sign-in").await;
    let nonce = form.attr("input[name=nonce]", "value").unwrap();
    clock.advance(std::time::Duration::from_secs(3600)).unwrap();
    let page = browser
        .post(
            "/dashboard/sign-in",
            &[("kind", "token"), ("token", TOKEN), ("nonce", &nonce)],
        )
        .await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);
    assert!(browser.session().is_none());
    // The page it answers with carries a fresh form, which works.
    let page = browser.sign_in(&[("kind", "token"), ("token", TOKEN)]).await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn a_form_body_is_read_under_the_body_bounds() {
    let config = seats_server::ServerConfig {
        max_body_bytes: 64 * 1024,
        ..Default::default()
    };
    let app = TestApp::builder().seed(&test_seed()).config(config).start().await;
    let mut browser = Browser::new(&app);
    browser.get("/dashboard/sign-in").await;
    let big = "a".repeat(100 * 1024);
    let page = browser
        .post("/dashboard/sign-in", &[("kind", "token"), ("token", &big)])
        .await;
    assert_eq!(page.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(page.errors().len(), 1);
    assert!(page.errors()[0].starts_with("Error 12007:"), "{:?}", page.errors());
    assert!(browser.session().is_none());
}

#[tokio::test]
async fn a_session_opened_on_one_node_ends_on_every_node_at_sign_out() {
    on_each_backend(|| async {
        let first = spawn_app(&test_seed()).await;
        // A second server on the same database, as a second node is.
        let second = TestApp::builder().database(first.db.clone()).start().await;
        let mut browser = Browser::new(&first);
        browser.sign_in_with_token(TOKEN).await;
        let cookie = browser.session().unwrap();
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        let page = |app: &TestApp| {
            client
                .get(app.url(&account_path("")))
                .header(COOKIE, cookie.clone())
                .send()
        };
        assert_eq!(
            page(&second).await.unwrap().status(),
            StatusCode::OK,
            "the other node serves it"
        );
        let csrf = browser.csrf().await;
        browser.post("/dashboard/sign-out", &[("csrf", &csrf)]).await;
        for app in [&first, &second] {
            let resp = page(app).await.unwrap();
            assert_eq!(resp.status(), StatusCode::SEE_OTHER);
            assert_eq!(resp.headers()[LOCATION], "/dashboard/sign-in");
        }
    })
    .await;
}
