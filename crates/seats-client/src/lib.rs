//! A typed async client for Cloudflare's Zero Trust seats API, shaped like the official SDKs:
//! `client.zero_trust().seats().edit(params)` mirrors the Go SDK's
//! `client.ZeroTrust.Seats.Edit(ctx, params)`.
//!
//! It works against Cloudflare's API and, unchanged but for the base URL, against a `seats`
//! server:
//!
//! ```no_run
//! use seats_client::{Client, SeatEditParams, SeatEditParamsBody};
//!
//! # async fn run() -> Result<(), seats_client::Error> {
//! let client = Client::builder()
//!     .api_token("Sn3lZJTBX6kkg7OdcBUAxOO963GEIyGQqnFTOFYY")
//!     .base_url("http://127.0.0.1:8788/client/v4")
//!     .build()?;
//! let page = client
//!     .zero_trust()
//!     .seats()
//!     .edit(SeatEditParams {
//!         account_id: "699d98642c564d2e855e9661899b7252".into(),
//!         body: vec![SeatEditParamsBody {
//!             access_seat: false,
//!             gateway_seat: false,
//!             seat_uid: "f174e90a-fafe-4643-bbbc-4a0ed4fc8415".into(),
//!         }],
//!     })
//!     .await?;
//! println!("{} seats, {:?}", page.len(), page.result_info());
//! # Ok(()) }
//! ```
//!
//! Requests are retried like the official SDKs do: twice by default, on connection errors,
//! timeouts, 408, 409, 429 and 5xx unless the server says `x-should-retry: false`, waiting what
//! `Retry-After-Ms` / `Retry-After` ask (up to 60 s) or else backing off exponentially with jitter.
//! Secrets never appear in `Debug` output or logs.

#![warn(missing_docs)]

mod client;
mod error;
pub mod operator;
mod pagination;
pub mod resources;
pub mod retry;

pub use client::{
    Client, ClientBuilder, Credentials, RequestOptions, DEFAULT_BASE_URL, DEFAULT_MAX_RETRIES, DEFAULT_TIMEOUT,
};
pub use error::{ApiError, Error};
pub use pagination::SinglePage;
pub use resources::{
    CursorPage, Page, RegistrationListParams, RevokeUsersParams, SeatEditParams, SeatEditParamsBody, UserListParams,
    UserNewParams, UserUpdateParams,
};
pub use seats_types::{
    AuditEvent, ClockReading, ExpiredSeats, Message, OperatorAccount, OperatorMember, OperatorToken, Organization,
    PhysicalDevice, Policy, Registration, ResultInfo, Seat, Source, Timestamp, User,
};
