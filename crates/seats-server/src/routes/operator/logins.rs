//! Operator: authentication events and the expiry sweep on demand.

use axum::extract::{Path, State};
use axum::Json;
use seats_store::{LoginMethod, LoginRequest, Via};
use seats_types::{Envelope, ExpiredSeats, User};

use super::{existing_account, Operator};
use crate::error::ApiError;
use crate::error::FailureEnvelope;
use crate::extract::body::ObjectBody;
use crate::extract::JsonBody;
use crate::routes::users::user_view;
use crate::AppState;

/// Record a login
///
/// Creates the user if new and takes a seat: the Access seat (opening a session) or the
/// Gateway seat (registering `device_id`). A user holding no seat at a full account is
/// refused with 409 12009; the user and a failed-login record are kept.
#[utoipa::path(post, path = "/_seats/v1/accounts/{account_id}/logins", tag = "Operator", operation_id = "seats-operator-logins-login", request_body = seats_types::LoginRequestBody,
    params(("account_id" = String, Path)),
    responses((status = 200, body = Envelope<User>), (status = "4XX", body = FailureEnvelope)),
    security(("operator_key" = [])))]
pub async fn login(
    State(state): State<AppState>,
    _op: Operator,
    Path(id): Path<String>,
    body: JsonBody,
) -> Result<Json<Envelope<User>>, ApiError> {
    // The request's span (its log line) names the account, as the `AccountId` extractor does.
    tracing::Span::current().record("account_id", id.as_str());
    let mut body = ObjectBody::new(body.read(&state.config).await?)?;
    let email = body.email("email", true);
    let name = body.text("name", false, seats_types::formats::MAX_NAME_CHARS);
    let via = match body.string("via", true).as_deref() {
        Some("access") => Some(Via::Access),
        Some("gateway") => Some(Via::Gateway),
        Some(other) => {
            body.problem("/via", format!("via must be access or gateway, got {other:?}"));
            None
        }
        None => None,
    };
    let device_id = body
        .text("device_id", false, seats_types::formats::MAX_DEVICE_ID_CHARS)
        .filter(|d| !d.is_empty());
    let method = match (via, device_id) {
        (Some(Via::Gateway), Some(device_id)) => Some(LoginMethod::Gateway { device_id }),
        (Some(Via::Gateway), None) => {
            body.problem("/device_id", "a gateway login needs a device_id");
            None
        }
        (Some(Via::Access), _) => Some(LoginMethod::Access),
        (None, _) => None,
    };
    body.finish()?;
    existing_account(&state, &id).await?;
    let (Some(email), Some(method)) = (email, method) else {
        // `finish` refused a body without them.
        return Err(ApiError::internal(
            "a login passed its checks without an email or a method",
        ));
    };
    let login = LoginRequest { email, name, method };
    let outcome = state
        .store
        .login(&id, login, seats_store::Actor::Operator, state.clock.now())
        .await?;
    match outcome.refused {
        Some((used, limit)) => Err(ApiError::SeatLimit { used, limit }),
        None => Ok(Json(Envelope::ok(user_view(outcome.user)))),
    }
}

/// Run the seat expiry sweep for an account now
#[utoipa::path(post, path = "/_seats/v1/accounts/{account_id}/expire-seats", tag = "Operator", operation_id = "seats-operator-logins-expire",
    params(("account_id" = String, Path)),
    responses((status = 200, body = Envelope<ExpiredSeats>), (status = "4XX", body = FailureEnvelope)),
    security(("operator_key" = [])))]
pub async fn expire(
    State(state): State<AppState>,
    _op: Operator,
    Path(id): Path<String>,
) -> Result<Json<Envelope<ExpiredSeats>>, ApiError> {
    existing_account(&state, &id).await?;
    let removed = state.store.expire_seats(Some(&id), state.clock.now()).await?;
    Ok(Json(Envelope::ok(ExpiredSeats {
        removed: removed.into_iter().map(|(_, uid)| uid).collect(),
    })))
}
