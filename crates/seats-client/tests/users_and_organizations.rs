//! Users, organizations and the operator client against the real server, on each backend.

mod support;

use std::sync::Arc;

use futures::TryStreamExt;
use seats_client::operator::{NewToken, OperatorClient};
use seats_client::{
    Client, Error, RegistrationListParams, RevokeUsersParams, UserListParams, UserNewParams, UserUpdateParams,
};
use seats_server::{build_router, AppState, ManualClock, ServerConfig, SystemClock};
use seats_store::seed;
use seats_store::testing::{on_each_backend, TestDb};
use serde_json::json;
use support::{FaultServer, RecordingTimer, Step};

const ACCOUNT: &str = "699d98642c564d2e855e9661899b7252";
const OPERATOR_KEY: &str = "operator-key";

struct App {
    root: String,
    _db: TestDb,
}

impl App {
    fn api(&self) -> String {
        format!("{}/client/v4", self.root)
    }

    fn client(&self) -> Client {
        Client::builder()
            .api_token("admin-token")
            .base_url(self.api())
            .build()
            .unwrap()
    }
}

async fn spawn_app(users: usize) -> App {
    let db = TestDb::create().await;
    let store = db.open().await;
    let users: Vec<_> = (0..users)
        .map(|i| json!({"email": format!("u{i:03}@example.com"), "name": format!("U{i}")}))
        .collect();
    let doc = json!({"accounts": [{"id": ACCOUNT, "name": "A", "seat_limit": 2, "users": users}],
        "tokens": [{"name": "admin", "value": "admin-token", "policies": [{"effect": "allow", "resources": {"com.cloudflare.api.account.*": "*"},
            "permission_groups": [{"name": "Zero Trust: Seats Write"}, {"name": "Access: Audit Logs Read"},
                                  {"name": "Access: Organizations, Identity Providers, and Groups Write"},
                                  {"name": "Zero Trust Write"}]}]}]});
    store
        .load_seed(
            seed::parse(doc.to_string().as_bytes()).unwrap(),
            seats_server::Clock::now(&SystemClock),
        )
        .await
        .unwrap();
    let config = ServerConfig {
        operator_key: Some(seats_store::secret::Secret::new(OPERATOR_KEY).hash()),
        ..Default::default()
    };
    let state = AppState::with_manual_clock(store, Arc::new(ManualClock::new()), config);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let root = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(seats_server::serve(
        listener,
        build_router(state),
        std::future::pending(),
    ));
    App { root, _db: db }
}

#[tokio::test]
async fn list_auto_paging_streams_every_user_once() {
    on_each_backend(|| async {
        let app = spawn_app(250).await;
        let client = app.client();
        let users = client.zero_trust().access().users();
        let params = UserListParams {
            account_id: ACCOUNT.into(),
            per_page: Some(100),
            ..Default::default()
        };
        let first = users.list(&params).await.unwrap();
        assert_eq!(first.result.len(), 100);
        assert_eq!(first.result_info.unwrap().total_pages, 3);
        let all: Vec<_> = users.list_auto_paging(params).try_collect().await.unwrap();
        assert_eq!(all.len(), 250);
        let ids: std::collections::HashSet<_> = all.iter().map(|u| u.id.clone().unwrap()).collect();
        assert_eq!(ids.len(), 250);
        let found = users
            .list(&UserListParams {
                account_id: ACCOUNT.into(),
                search: Some("u24".into()),
                ..Default::default()
            })
            .await
            .unwrap();
        assert_eq!(
            found.result.len(),
            11,
            "emails u240..u249, and the name U24 (case-insensitive)"
        );
    })
    .await;
}

#[tokio::test]
async fn create_get_update_delete_users() {
    on_each_backend(|| async {
        let app = spawn_app(0).await;
        let client = app.client();
        let users = client.zero_trust().access().users();
        let created = users
            .create(&UserNewParams {
                account_id: ACCOUNT.into(),
                email: "jane@example.com".into(),
                name: Some("Jane".into()),
            })
            .await
            .unwrap();
        let id = created.id.clone().unwrap();
        assert_eq!(created.access_seat, Some(false));
        assert_eq!(users.get(ACCOUNT, &id).await.unwrap(), created);
        let renamed = users
            .update(&UserUpdateParams {
                account_id: ACCOUNT.into(),
                user_id: id.clone(),
                email: "jane@example.com".into(),
                name: "Jane D".into(),
            })
            .await
            .unwrap();
        assert_eq!(renamed.name.as_deref(), Some("Jane D"));
        let err = users
            .create(&UserNewParams {
                account_id: ACCOUNT.into(),
                email: "JANE@example.com".into(),
                name: None,
            })
            .await
            .unwrap_err();
        let Error::Conflict(api) = &err else { panic!("{err:?}") };
        assert_eq!(api.code(), Some(12010));
        users.delete(ACCOUNT, &id).await.unwrap();
        let err = users.get(ACCOUNT, &id).await.unwrap_err();
        let Error::NotFound(api) = &err else { panic!("{err:?}") };
        assert_eq!(api.code(), Some(12130));
        assert!(matches!(users.get(ACCOUNT, "").await, Err(Error::InvalidParams(_))));
    })
    .await;
}

#[tokio::test]
async fn organizations_get_create_update() {
    on_each_backend(|| async {
        let app = spawn_app(0).await;
        let client = app.client();
        let orgs = client.zero_trust().organizations();
        assert!(matches!(orgs.get(ACCOUNT).await, Err(Error::NotFound(_))));
        let fields = json!({"name": "Acme", "auth_domain": "acme.cloudflareaccess.com"});
        let org = orgs.create(ACCOUNT, fields.as_object().unwrap()).await.unwrap();
        assert_eq!(org.name.as_deref(), Some("Acme"));
        assert_eq!(org.user_seat_expiration_inactive_time, None);
        let org = orgs
            .update(
                ACCOUNT,
                json!({"user_seat_expiration_inactive_time": "730h"})
                    .as_object()
                    .unwrap(),
            )
            .await
            .unwrap();
        assert_eq!(org.user_seat_expiration_inactive_time.as_deref(), Some("730h"));
        assert_eq!(org.auth_domain.as_deref(), Some("acme.cloudflareaccess.com"));
        let err = orgs
            .update(
                ACCOUNT,
                json!({"user_seat_expiration_inactive_time": "1h"}).as_object().unwrap(),
            )
            .await
            .unwrap_err();
        let Error::BadRequest(api) = &err else {
            panic!("{err:?}")
        };
        assert_eq!(api.errors[0].pointer(), Some("/user_seat_expiration_inactive_time"));
        assert_eq!(
            orgs.get(ACCOUNT)
                .await
                .unwrap()
                .user_seat_expiration_inactive_time
                .as_deref(),
            Some("730h")
        );
    })
    .await;
}

#[tokio::test]
async fn revoke_users_ends_sessions_and_devices() {
    on_each_backend(|| async {
        let app = spawn_app(0).await;
        let op = OperatorClient::new(&app.root, OPERATOR_KEY).unwrap();
        op.login(ACCOUNT, "a@x.com", None, "access", None).await.unwrap();
        let user = op
            .login(ACCOUNT, "a@x.com", None, "gateway", Some("laptop"))
            .await
            .unwrap();
        assert_eq!(user.active_device_count, Some(1));
        let id = user.id.clone().unwrap();
        let sessions = || async {
            let body: serde_json::Value = reqwest::Client::new()
                .get(format!(
                    "{}/accounts/{ACCOUNT}/access/users/{id}/active_sessions",
                    app.api()
                ))
                .bearer_auth("admin-token")
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            body["result"].as_array().unwrap().len()
        };
        assert_eq!(sessions().await, 1);
        let client = app.client();
        let orgs = client.zero_trust().organizations();
        let params = RevokeUsersParams {
            email: "a@x.com".into(),
            devices: Some(true),
            user_uid: user.id.clone(),
            ..Default::default()
        };
        assert!(orgs.revoke_users(ACCOUNT, &params).await.unwrap());
        let users = client.zero_trust().access().users();
        let after = users.get(ACCOUNT, &id).await.unwrap();
        assert_eq!(after.active_device_count, Some(0));
        assert_eq!(sessions().await, 0);
        assert_eq!((after.access_seat, after.gateway_seat), (Some(true), Some(true)));

        let unknown = RevokeUsersParams {
            email: "nobody@x.com".into(),
            ..Default::default()
        };
        let err = orgs.revoke_users(ACCOUNT, &unknown).await.unwrap_err();
        let Error::NotFound(api) = &err else { panic!("{err:?}") };
        assert_eq!((api.code(), api.errors[0].pointer()), (Some(12130), Some("/email")));
    })
    .await;
}

#[tokio::test]
async fn device_registrations_page_and_change() {
    on_each_backend(|| async {
        let app = spawn_app(0).await;
        let op = OperatorClient::new(&app.root, OPERATOR_KEY).unwrap();
        for device in ["d1", "d2", "d3", "d4", "d5"] {
            op.login(ACCOUNT, "a@x.com", None, "gateway", Some(device))
                .await
                .unwrap();
        }
        let client = app.client();
        let registrations = client.zero_trust().devices().registrations();
        let params = RegistrationListParams {
            account_id: ACCOUNT.into(),
            per_page: Some(2),
            ..Default::default()
        };
        let first = registrations.list(&params).await.unwrap();
        assert_eq!(first.result.len(), 2);
        assert!(first.cursor.is_some());
        let all: Vec<_> = registrations
            .list_auto_paging(params.clone())
            .try_collect()
            .await
            .unwrap();
        let devices: Vec<&str> = all.iter().map(|r| r.device.id.as_str()).collect();
        assert_eq!(devices, ["d1", "d2", "d3", "d4", "d5"]);
        let ids: Vec<String> = all.iter().map(|r| r.id.clone()).collect();

        registrations.revoke(ACCOUNT, &ids[..2]).await.unwrap();
        let revoked = RegistrationListParams {
            status: Some("revoked".into()),
            ..params.clone()
        };
        let revoked: Vec<_> = registrations.list_auto_paging(revoked).try_collect().await.unwrap();
        assert_eq!(revoked.len(), 2);
        assert!(registrations.get(ACCOUNT, &ids[0]).await.unwrap().revoked_at.is_some());
        registrations.unrevoke(ACCOUNT, &ids[..1]).await.unwrap();
        assert!(registrations.get(ACCOUNT, &ids[0]).await.unwrap().revoked_at.is_none());
        registrations.bulk_delete(ACCOUNT, &ids[4..]).await.unwrap();
        let err = registrations.get(ACCOUNT, &ids[4]).await.unwrap_err();
        let Error::NotFound(api) = &err else { panic!("{err:?}") };
        assert_eq!(api.code(), Some(12130));
        assert!(matches!(
            registrations.revoke(ACCOUNT, &[]).await,
            Err(Error::InvalidParams(_))
        ));

        let devices = client.zero_trust().devices();
        let physical = devices.list_physical(ACCOUNT, Some(10), None).await.unwrap();
        assert_eq!((physical.result.len(), physical.cursor), (4, None));
        devices.revoke_physical(ACCOUNT, "d3").await.unwrap();
        let user = client
            .zero_trust()
            .access()
            .users()
            .get(ACCOUNT, &all[0].user.id.clone().unwrap())
            .await
            .unwrap();
        assert_eq!(user.active_device_count, Some(2), "d2 and d3 revoked, d5 deleted");
    })
    .await;
}

#[tokio::test]
async fn users_retry_like_seats() {
    let ok = r#"{"success":true,"errors":[],"messages":[],"result":[],"result_info":{"count":0,"page":1,"per_page":1000,"total_count":0,"total_pages":0}}"#;
    let down = r#"{"success":false,"errors":[{"code":10002,"message":"Internal error"}],"messages":[],"result":null}"#;
    let server = FaultServer::start(vec![Step::json(503, down), Step::json(200, ok)]).await;
    let timer = RecordingTimer::new();
    let client = Client::builder()
        .api_token("t")
        .base_url(server.base_url.clone())
        .timer(timer.clone())
        .build()
        .unwrap();
    let page = client
        .zero_trust()
        .access()
        .users()
        .list(&UserListParams {
            account_id: ACCOUNT.into(),
            ..Default::default()
        })
        .await
        .unwrap();
    assert!(page.result.is_empty() && !page.has_next());
    assert_eq!(server.attempts(), 2);
    assert_eq!(timer.waits().len(), 1);
    assert_eq!(
        server.received()[1].path,
        format!("/client/v4/accounts/{ACCOUNT}/access/users")
    );
}

#[tokio::test]
async fn operator_client_runs_the_lifecycle() {
    on_each_backend(|| async {
        let app = spawn_app(0).await;
        let op = OperatorClient::new(&app.root, OPERATOR_KEY).unwrap();
        let token = op
            .create_token(&NewToken {
                name: "ci".into(),
                policies: serde_json::from_value(
                    json!([{"effect": "allow", "resources": {"com.cloudflare.api.account.*": "*"},
                    "permission_groups": [{"name": "Zero Trust: Seats Write"}]}]),
                )
                .unwrap(),
                value: None,
                not_before: None,
                expires_on: None,
            })
            .await
            .unwrap();
        assert!(token.value.is_some());
        assert!(op.list_tokens().await.unwrap().iter().all(|t| t.value.is_none()));
        op.login(ACCOUNT, "a@x.com", None, "access", None).await.unwrap();
        op.login(ACCOUNT, "b@x.com", None, "gateway", Some("d")).await.unwrap();
        let err = op.login(ACCOUNT, "c@x.com", None, "access", None).await.unwrap_err();
        let Error::Conflict(api) = &err else { panic!("{err:?}") };
        assert_eq!(api.code(), Some(12009));
        assert_eq!(op.get_account(ACCOUNT).await.unwrap().seats_in_use, 2);
        op.update_account(ACCOUNT, None, Some(3)).await.unwrap();
        op.login(ACCOUNT, "c@x.com", None, "access", None).await.unwrap();
        let before = op.clock().await.unwrap().now;
        let after = op.advance_clock("2h").await.unwrap().now;
        assert!(after.unix_micros() - before.unix_micros() >= 2 * 3_600_000_000);
        assert!(
            op.expire_seats(ACCOUNT).await.unwrap().removed.is_empty(),
            "no expiry configured"
        );
        let audit = op.audit(ACCOUNT, None, Some(2)).await.unwrap();
        assert_eq!(audit.result.len(), 2);
        assert_eq!(audit.result[0].action, "seat.grant");
        assert!(matches!(
            OperatorClient::new(&app.root, "wrong").unwrap().list_members().await,
            Err(Error::PermissionDenied(_))
        ));
        assert!(matches!(OperatorClient::new(&app.root, ""), Err(Error::Config(_))));
    })
    .await;
}
