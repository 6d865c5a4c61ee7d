//! The seat: the view of a user's Access and Gateway seat flags.

use serde::{Deserialize, Serialize};

use crate::Timestamp;

/// A Zero Trust seat as returned by the API. Every field is optional on the wire, as in
/// Cloudflare's schema; our server always fills them all.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Seat {
    /// True if the seat is part of Access.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(nullable = false))]
    pub access_seat: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime, nullable = false))]
    pub created_at: Option<Timestamp>,
    /// True if the seat is part of Gateway.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(nullable = false))]
    pub gateway_seat: Option<bool>,
    /// The unique API identifier for the Zero Trust seat.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(max_length = 36, nullable = false))]
    pub seat_uid: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime, nullable = false))]
    pub updated_at: Option<Timestamp>,
}

/// One item of the `PATCH .../access/seats` body. All three fields are always sent,
/// `false` included.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SeatEditItem {
    /// True if the seat is part of Access.
    pub access_seat: bool,
    /// True if the seat is part of Gateway.
    pub gateway_seat: bool,
    /// The unique API identifier for the Zero Trust seat.
    #[cfg_attr(feature = "openapi", schema(max_length = 36))]
    pub seat_uid: String,
}
