//! The client against the real server on a free port, over a fresh database: SQLite, then
//! PostgreSQL when `SEATS_TEST_POSTGRES_URL` is set.

use std::sync::Arc;

use seats_client::{Client, Error, SeatEditParams, SeatEditParamsBody};
use seats_server::{build_router, AppState, ServerConfig, SystemClock};
use seats_store::seed;
use seats_store::testing::{on_each_backend, TestDb};
use serde_json::json;

const ACCOUNT: &str = "699d98642c564d2e855e9661899b7252";
const TOKEN: &str = "Sn3lZJTBX6kkg7OdcBUAxOO963GEIyGQqnFTOFYY";
const SEAT: &str = "f174e90a-fafe-4643-bbbc-4a0ed4fc8415";

struct App {
    base_url: String,
    db: TestDb,
}

async fn spawn_app() -> App {
    spawn_app_with(ServerConfig::default()).await
}

async fn spawn_app_with(config: ServerConfig) -> App {
    let db = TestDb::create().await;
    let store = db.open().await;
    let mut doc: serde_json::Value = serde_json::from_str(seed::DEMO_SEED).unwrap();
    // A second user and a read-only token, to reach the seat limit and a 403.
    doc["accounts"][0]["seat_limit"] = json!(1);
    doc["accounts"][0]["users"]
        .as_array_mut()
        .unwrap()
        .push(json!({"email": "bob@example.com", "seat_uid": "bob"}));
    doc["tokens"].as_array_mut().unwrap().push(json!({"name": "ro", "value": "read-only", "policies": [{"effect": "allow",
        "resources": {"com.cloudflare.api.account.*": "*"}, "permission_groups": [{"name": "Access: Audit Logs Read"}]}]}));
    let seed = seed::parse(doc.to_string().as_bytes()).unwrap();
    store
        .load_seed(seed, seats_server::Clock::now(&SystemClock))
        .await
        .unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base_url = format!("http://{}/client/v4", listener.local_addr().unwrap());
    let app = build_router(AppState::new(store, Arc::new(SystemClock), config));
    tokio::spawn(seats_server::serve(listener, app, std::future::pending()));
    App { base_url, db }
}

fn edit(seat_uid: &str, access: bool, gateway: bool) -> SeatEditParams {
    SeatEditParams {
        account_id: ACCOUNT.into(),
        body: vec![SeatEditParamsBody {
            access_seat: access,
            gateway_seat: gateway,
            seat_uid: seat_uid.into(),
        }],
    }
}

#[tokio::test]
async fn edits_with_a_token_and_with_email_and_key() {
    on_each_backend(|| async {
        let app = spawn_app().await;
        let client = Client::builder()
            .api_token(TOKEN)
            .base_url(&app.base_url)
            .build()
            .unwrap();
        let page = client
            .zero_trust()
            .seats()
            .edit(edit(SEAT, false, false))
            .await
            .unwrap();
        let seat = page.iter().next().unwrap();
        assert_eq!(
            (seat.seat_uid.as_deref(), seat.access_seat, seat.gateway_seat),
            (Some(SEAT), Some(false), Some(false))
        );
        assert!(seat.updated_at > seat.created_at);
        assert_eq!(page.result_info().unwrap().count, 1);

        let client = Client::builder()
            .api_email("user@example.com")
            .api_key("144c9defac04969c7bfad8efaa8ea194")
            .base_url(&app.base_url)
            .build()
            .unwrap();
        let page = client.zero_trust().seats().edit(edit(SEAT, true, false)).await.unwrap();
        assert_eq!(page.result[0].access_seat, Some(true));
    })
    .await;
}

/// Against `--rate-limit 2/1s` four edits all succeed: the client waits out each 429 as its
/// `Retry-After` says, within its retry budget.
#[tokio::test]
async fn waits_out_the_rate_limit() {
    let app = spawn_app_with(ServerConfig {
        rate_limit: Some("2/1s".parse().unwrap()),
        ..ServerConfig::default()
    })
    .await;
    let client = Client::builder()
        .api_token(TOKEN)
        .base_url(&app.base_url)
        .build()
        .unwrap();
    let started = std::time::Instant::now();
    for access in [false, true, false, true] {
        let page = client
            .zero_trust()
            .seats()
            .edit(edit(SEAT, access, false))
            .await
            .unwrap();
        assert_eq!(page.result[0].access_seat, Some(access));
    }
    assert!(
        started.elapsed() >= std::time::Duration::from_millis(500),
        "no wait: {:?}",
        started.elapsed()
    );
    // With retries off, the 429 reaches the caller as its own variant.
    let no_retries = Client::builder()
        .api_token(TOKEN)
        .base_url(&app.base_url)
        .max_retries(0)
        .build()
        .unwrap();
    let refused = loop {
        match no_retries.zero_trust().seats().edit(edit(SEAT, true, false)).await {
            Ok(_) => continue,
            Err(e) => break e,
        }
    };
    let Error::RateLimited(api) = &refused else {
        panic!("{refused:?}")
    };
    assert_eq!(api.errors[0].code, 971);
}

#[tokio::test]
async fn each_error_class_maps_to_its_variant_with_the_envelope_codes() {
    on_each_backend(|| async {
        let app = spawn_app().await;
        let client = |token: &str| {
            Client::builder()
                .api_token(token)
                .base_url(&app.base_url)
                .max_retries(0)
                .build()
                .unwrap()
        };
        let seats = |c: &Client, p| {
            let c = c.clone();
            async move { c.zero_trust().seats().edit(p).await.unwrap_err() }
        };
        let ok = client(TOKEN);

        let err = seats(&ok, edit(&"x".repeat(37), true, true)).await;
        let Error::BadRequest(api) = &err else {
            panic!("{err:?}")
        };
        assert_eq!(api.code(), Some(12006));
        assert_eq!(api.errors[0].pointer(), Some("/0/seat_uid"));

        let err = seats(&client("bad token with spaces"), edit(SEAT, true, true)).await;
        let Error::BadRequest(api) = &err else {
            panic!("{err:?}")
        };
        assert_eq!(api.errors[0].error_chain.as_ref().unwrap()[0].code, 6111);

        let err = seats(&client("no-such-token"), edit(SEAT, true, true)).await;
        let Error::PermissionDenied(api) = &err else {
            panic!("{err:?}")
        };
        assert_eq!(api.code(), Some(9109));

        let err = seats(&client("read-only"), edit(SEAT, true, true)).await;
        assert_eq!(
            err.to_string(),
            format!("PATCH /accounts/{ACCOUNT}/access/seats: 403 Forbidden: 10000 Authentication error")
        );

        let err = seats(&ok, edit("nobody", true, true)).await;
        let Error::NotFound(api) = &err else { panic!("{err:?}") };
        assert_eq!(
            (api.code(), api.errors[0].pointer()),
            (Some(12130), Some("/0/seat_uid"))
        );

        // Alice holds the one seat; Bob cannot take another. Not retried: x-should-retry: false.
        let retrying = Client::builder()
            .api_token(TOKEN)
            .base_url(&app.base_url)
            .build()
            .unwrap();
        let err = seats(&retrying, edit("bob", true, false)).await;
        let Error::Conflict(api) = &err else { panic!("{err:?}") };
        assert_eq!(api.code(), Some(12009));

        // A real fault in the database: 500 10002.
        app.db.break_users().await;
        let err = seats(&ok, edit(SEAT, false, true)).await;
        let Error::InternalServer(api) = &err else {
            panic!("{err:?}")
        };
        assert_eq!((api.status.as_u16(), api.code()), (500, Some(10002)));
    })
    .await;
}

/// Identity providers through the client: the SCIM secret comes once, SCIM users provisioned
/// with it are listed, and a refused body is a typed error with its pointer.
#[tokio::test]
async fn manages_identity_providers_and_lists_their_scim_users() {
    use seats_client::resources::{IdentityProviderListParams, ScimUserListParams};
    use seats_types::{IdentityProvider, ScimConfig};

    on_each_backend(|| async {
        let app = spawn_app().await;
        let client = Client::builder()
            .api_email("user@example.com")
            .api_key("144c9defac04969c7bfad8efaa8ea194")
            .base_url(&app.base_url)
            .build()
            .unwrap();
        let idps = client.zero_trust().identity_providers();
        let mut okta = IdentityProvider {
            name: "Okta".into(),
            kind: "okta".into(),
            scim_config: Some(ScimConfig {
                enabled: Some(true),
                user_deprovision: Some(true),
                seat_deprovision: Some(true),
                ..Default::default()
            }),
            ..Default::default()
        };
        let created = idps.create(ACCOUNT, &okta).await.unwrap();
        let id = created.id.clone().unwrap();
        let scim = created.scim_config.unwrap();
        let secret = scim.secret.unwrap().expose().to_owned();
        assert_eq!(secret.len(), 64);
        let base = scim.scim_base_url.unwrap();
        assert_eq!(base, format!("{}/populations/{id}/scim/v2", app.base_url.trim_end_matches("/client/v4")));
        let redacted = idps.get(ACCOUNT, &id).await.unwrap().scim_config.unwrap().secret;
        assert_eq!(redacted.as_ref().map(|s| s.expose()), Some("**********"));

        let resp = reqwest::Client::new()
            .post(format!("{base}/Users"))
            .bearer_auth(&secret)
            .json(&json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "alice@example.com", "externalId": "00u1"}))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 201);
        let params = ScimUserListParams {
            account_id: ACCOUNT.into(),
            identity_provider_id: id.clone(),
            idp_resource_id: vec!["00u1".into()],
            ..Default::default()
        };
        let users = idps.scim().users(&params).await.unwrap();
        assert_eq!(users.result.len(), 1);
        assert_eq!(users.result[0].external_id.as_deref(), Some("00u1"));
        assert_eq!(users.result[0].active, Some(true));

        let fresh = idps.refresh_scim_secret(ACCOUNT, &id).await.unwrap();
        assert_ne!(fresh.scim_config.unwrap().secret.unwrap().expose(), secret);

        okta.scim_config = Some(ScimConfig {
            user_deprovision: Some(false),
            ..Default::default()
        });
        match idps.update(ACCOUNT, &id, &okta).await {
            Err(Error::BadRequest(e)) => {
                assert_eq!(e.errors[0].code, 12006);
                assert_eq!(
                    e.errors[0].source.as_ref().and_then(|s| s.pointer.as_deref()),
                    Some("/scim_config/seat_deprovision")
                );
            }
            other => panic!("expected a 400, got {other:?}"),
        }
        let list = IdentityProviderListParams {
            account_id: ACCOUNT.into(),
            scim_enabled: true,
            ..Default::default()
        };
        assert_eq!(idps.list(&list).await.unwrap().result.len(), 1);
        assert_eq!(idps.delete(ACCOUNT, &id).await.unwrap().id, id);
        assert!(idps.list(&list).await.unwrap().result.is_empty());
    })
    .await;
}

/// Waits that take no time, counted.
#[derive(Default)]
struct InstantTimer(std::sync::Mutex<u32>);

impl seats_client::retry::Timer for InstantTimer {
    fn now(&self) -> std::time::SystemTime {
        std::time::SystemTime::now()
    }

    fn sleep(&self, _: std::time::Duration) -> std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>> {
        *self.0.lock().unwrap() += 1;
        Box::pin(std::future::ready(()))
    }
}

/// Against the server's fault rules, set through the operator client: the client retries
/// through a one-shot 429 and succeeds, and gives up on a persistent 503 after its retries;
/// the journal shows each attempt.
#[tokio::test]
async fn retries_through_injected_faults_and_gives_up_on_persistent_ones() {
    use seats_client::operator::{JournalQuery, OperatorClient};
    use seats_types::{FaultAction, FaultMatch, NewFaultRule};

    let app = spawn_app_with(ServerConfig {
        operator_key: Some(seats_store::secret::Secret::new("op-key").hash()),
        ..ServerConfig::default()
    })
    .await;
    let server = app.base_url.trim_end_matches("/client/v4").to_owned();
    let operator = OperatorClient::new(&server, "op-key").unwrap();
    let timer = Arc::new(InstantTimer::default());
    let client = Client::builder()
        .api_token(TOKEN)
        .base_url(&app.base_url)
        .timer(timer.clone())
        .build()
        .unwrap();
    let on_seats = |status: u16, times: Option<u64>| NewFaultRule {
        matches: FaultMatch {
            operation_id: Some("zero-trust-seats-update-a-user-seat".into()),
            ..Default::default()
        },
        action: FaultAction {
            status: Some(status),
            ..Default::default()
        },
        times,
        ..Default::default()
    };
    let statuses = |entries: Vec<seats_types::JournalEntry>| entries.iter().map(|e| e.status).collect::<Vec<_>>();

    let rule = operator.add_fault(&on_seats(429, Some(1))).await.unwrap();
    let page = client
        .zero_trust()
        .seats()
        .edit(edit(SEAT, false, false))
        .await
        .unwrap();
    assert_eq!(page.result[0].access_seat, Some(false));
    assert_eq!(*timer.0.lock().unwrap(), 1, "one wait, as Retry-After asked");
    assert_eq!(
        statuses(operator.journal(&JournalQuery::default()).await.unwrap()),
        [429, 200]
    );
    assert_eq!(operator.faults().await.unwrap()[0].fired, 1);
    operator.delete_fault(&rule.id).await.unwrap();

    assert_eq!(operator.clear_journal().await.unwrap(), 2);
    operator.add_fault(&on_seats(503, None)).await.unwrap();
    let err = client
        .zero_trust()
        .seats()
        .edit(edit(SEAT, true, false))
        .await
        .unwrap_err();
    let Error::InternalServer(api) = &err else {
        panic!("{err:?}")
    };
    assert_eq!((api.status.as_u16(), api.errors[0].code), (503, 10003));
    let query = JournalQuery {
        status: Some(503),
        ..Default::default()
    };
    assert_eq!(
        operator.journal(&query).await.unwrap().len(),
        3,
        "a try and two retries"
    );
    assert_eq!(operator.clear_faults().await.unwrap(), 1);
    assert!(client.zero_trust().seats().edit(edit(SEAT, true, false)).await.is_ok());
}
