//! `PATCH /client/v4/accounts/{account_id}/access/seats`: update user seats (docs/contract.md §5).

use std::collections::HashMap;

use axum::extract::State;
use axum::Json;
use seats_store::{SeatRecord, StoreError};
use seats_types::{formats, Envelope, ResultInfo, Seat, SeatEditItem};
use serde_json::Value;

use crate::auth::{Auth, Permission};
use crate::error::FailureEnvelope;
use crate::error::{ApiError, Problem};
use crate::extract::{AccountId, JsonBody};
use crate::AppState;

/// Update a user seat
///
/// Removes a user from a Zero Trust seat when both `access_seat` and `gateway_seat` are set to false.
#[utoipa::path(
    patch,
    path = "/client/v4/accounts/{account_id}/access/seats",
    operation_id = "zero-trust-seats-update-a-user-seat",
    tag = "Zero Trust seats",
    params(("account_id" = String, Path, description = "Identifier.", max_length = 32)),
    request_body(content = Vec<SeatEditItem>, content_type = "application/json"),
    responses(
        (status = 200, description = "Update a user seat response", body = Envelope<Vec<Seat>>),
        (status = "4XX", description = "Update a user seat response failure", body = FailureEnvelope),
    ),
    security(("api_token" = []), ("api_email" = [], "api_key" = [])),
    extensions(("x-api-token-group" = json!(["Zero Trust: Seats Write"]))),
)]
pub async fn edit(
    State(state): State<AppState>,
    account: AccountId,
    auth: Auth,
    body: JsonBody,
) -> Result<Json<Envelope<Vec<Seat>>>, ApiError> {
    let access = auth.require(Permission::SeatsWrite, &account).await?;
    let body = body.read(&state.config).await?;
    let items = parse_items(body, state.config.max_batch)?;
    let uids: Vec<String> = items.iter().map(|i| i.seat_uid.clone()).collect();
    let seats = state
        .store
        .edit_seats(access.account_id(), items, auth.actor(), state.clock.now())
        .await
        .map_err(|e| match e {
            StoreError::NotFound { positions } => ApiError::NotFound(
                positions
                    .into_iter()
                    .map(|i| {
                        Problem::new(
                            format!("/{i}/seat_uid"),
                            format!("no seat with seat_uid {:?} in this account", uids[i]),
                        )
                    })
                    .collect(),
            ),
            other => other.into(),
        })?;
    let info = ResultInfo::single_page(seats.len() as u64);
    Ok(Json(Envelope::page(seats.into_iter().map(seat_view).collect(), info)))
}

fn seat_view(s: SeatRecord) -> Seat {
    Seat {
        access_seat: Some(s.access_seat),
        created_at: Some(s.created_at),
        gateway_seat: Some(s.gateway_seat),
        seat_uid: Some(s.seat_uid),
        updated_at: Some(s.updated_at),
    }
}

/// Checks the body against the schema, collecting every problem (12006), including a
/// `seat_uid` named twice. Unknown fields are ignored.
pub fn parse_items(body: Value, max_batch: usize) -> Result<Vec<SeatEditItem>, ApiError> {
    let Value::Array(raw) = body else {
        return Err(ApiError::Invalid(vec![Problem::new(
            "",
            "the body must be an array of seats",
        )]));
    };
    if raw.len() > max_batch {
        return Err(ApiError::Invalid(vec![Problem::new(
            "",
            format!("at most {max_batch} seats per request, got {}", raw.len()),
        )]));
    }
    let mut problems = Vec::new();
    let mut items = Vec::with_capacity(raw.len());
    let mut first_seen: HashMap<String, usize> = HashMap::new();
    for (i, value) in raw.into_iter().enumerate() {
        let Value::Object(mut obj) = value else {
            problems.push(Problem::new(
                format!("/{i}"),
                "each seat must be an object with access_seat, gateway_seat and seat_uid",
            ));
            continue;
        };
        let mut flag = |name: &str| match obj.get(name) {
            Some(Value::Bool(b)) => Some(*b),
            Some(_) => {
                problems.push(Problem::new(
                    format!("/{i}/{name}"),
                    format!("{name} must be a boolean"),
                ));
                None
            }
            None => {
                problems.push(Problem::new(format!("/{i}/{name}"), format!("{name} is required")));
                None
            }
        };
        let access = flag("access_seat");
        let gateway = flag("gateway_seat");
        let pointer = format!("/{i}/seat_uid");
        let uid = match obj.remove("seat_uid") {
            Some(Value::String(uid)) => match formats::seat_uid_problem(&uid) {
                Some(problem) => {
                    problems.push(Problem::new(pointer, problem));
                    None
                }
                None => match first_seen.get(&uid) {
                    Some(first) => {
                        problems.push(Problem::new(
                            pointer,
                            format!("seat_uid {uid:?} appears more than once (first at /{first}/seat_uid)"),
                        ));
                        None
                    }
                    None => {
                        first_seen.insert(uid.clone(), i);
                        Some(uid)
                    }
                },
            },
            Some(_) => {
                problems.push(Problem::new(pointer, "seat_uid must be a string"));
                None
            }
            None => {
                problems.push(Problem::new(pointer, "seat_uid is required"));
                None
            }
        };
        if let (Some(access_seat), Some(gateway_seat), Some(seat_uid)) = (access, gateway, uid) {
            items.push(SeatEditItem {
                access_seat,
                gateway_seat,
                seat_uid,
            });
        }
    }
    if problems.is_empty() {
        Ok(items)
    } else {
        Err(ApiError::Invalid(problems))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn problems(body: Value, max: usize) -> Vec<(String, String)> {
        match parse_items(body, max) {
            Err(ApiError::Invalid(p)) => p.into_iter().map(|p| (p.pointer, p.message)).collect(),
            other => panic!("expected 12006, got {other:?}"),
        }
    }

    #[test]
    fn accepts_valid_items_and_ignores_unknown_fields() {
        let items = parse_items(
            json!([{"access_seat": false, "gateway_seat": true, "seat_uid": "a", "extra": 1}]),
            10,
        )
        .unwrap();
        assert_eq!(
            items,
            vec![SeatEditItem {
                access_seat: false,
                gateway_seat: true,
                seat_uid: "a".into()
            }]
        );
        assert!(parse_items(json!([]), 10).unwrap().is_empty());
    }

    #[test]
    fn collects_every_problem_in_order() {
        let p = problems(
            json!([
                {"access_seat": "no", "seat_uid": 5},
                7,
                {"access_seat": true, "gateway_seat": true, "seat_uid": "dup"},
                {"access_seat": true, "gateway_seat": true, "seat_uid": "dup"},
                {"access_seat": true, "gateway_seat": true, "seat_uid": ""}
            ]),
            10,
        );
        assert_eq!(
            p,
            vec![
                ("/0/access_seat".into(), "access_seat must be a boolean".into()),
                ("/0/gateway_seat".into(), "gateway_seat is required".into()),
                ("/0/seat_uid".into(), "seat_uid must be a string".into()),
                (
                    "/1".into(),
                    "each seat must be an object with access_seat, gateway_seat and seat_uid".into()
                ),
                (
                    "/3/seat_uid".into(),
                    "seat_uid \"dup\" appears more than once (first at /2/seat_uid)".into()
                ),
                ("/4/seat_uid".into(), "seat_uid must not be empty".into()),
            ]
        );
    }

    #[test]
    fn batch_size_and_shape() {
        let item = json!({"access_seat": true, "gateway_seat": true, "seat_uid": "x"});
        assert_eq!(
            problems(json!([item, item, item]), 2),
            vec![("".into(), "at most 2 seats per request, got 3".into())]
        );
        assert_eq!(
            problems(json!({"seat_uid": "x"}), 2),
            vec![("".into(), "the body must be an array of seats".into())]
        );
    }
}
