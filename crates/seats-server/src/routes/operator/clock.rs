//! Operator: the server's clock, and moving a manual clock forward.

use axum::extract::State;
use axum::Json;
use seats_types::{ClockReading, Envelope, Timestamp};

use super::Operator;
use crate::error::FailureEnvelope;
use crate::error::{ApiError, Problem};
use crate::extract::body::ObjectBody;
use crate::extract::JsonBody;
use crate::AppState;

/// The server's time
#[utoipa::path(get, path = "/_seats/v1/clock", tag = "Operator", operation_id = "seats-operator-clock-get",
    responses((status = 200, body = Envelope<ClockReading>), (status = "4XX", body = FailureEnvelope)),
    security(("operator_key" = [])))]
pub async fn get(State(state): State<AppState>, _op: Operator) -> Json<Envelope<ClockReading>> {
    Json(Envelope::ok(ClockReading { now: state.clock.now() }))
}

/// Move the manual clock forward
///
/// `{"advance": "800h"}` (a Go duration). Only with `--manual-clock`. A sweep that falls due
/// runs before the answer.
#[utoipa::path(post, path = "/_seats/v1/clock", tag = "Operator", operation_id = "seats-operator-clock-advance", request_body = seats_types::ClockAdvanceRequest,
    responses((status = 200, body = Envelope<ClockReading>), (status = "4XX", body = FailureEnvelope)),
    security(("operator_key" = [])))]
pub async fn advance(
    State(state): State<AppState>,
    _op: Operator,
    body: JsonBody,
) -> Result<Json<Envelope<ClockReading>>, ApiError> {
    let mut body = ObjectBody::new(body.read(&state.config).await?)?;
    let advance = body.string("advance", true);
    let by = advance
        .as_deref()
        .and_then(|a| match seats_types::parse_go_duration(a) {
            Ok(d) => Some(d),
            Err(e) => {
                body.problem(
                    "/advance",
                    format!("advance must be a positive Go duration such as 800h: {e}"),
                );
                None
            }
        });
    body.finish()?;
    let Some(clock) = &state.manual_clock else {
        return Err(ApiError::Invalid(vec![Problem::new(
            "",
            "the clock is the system clock; start the server with --manual-clock to move it",
        )]));
    };
    clock.advance(by.unwrap_or_default()).map_err(|_| {
        ApiError::Invalid(vec![Problem::new(
            "/advance",
            format!(
                "advance would move the clock past {}, the latest time it can show (it shows {})",
                Timestamp::from_unix_micros(crate::clock::LATEST).expect("valid"),
                state.clock.now()
            ),
        )])
    })?;
    state.sweeper.run_if_due(&state).await;
    Ok(Json(Envelope::ok(ClockReading { now: state.clock.now() })))
}
