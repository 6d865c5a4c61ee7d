//! Wire types of the Cloudflare v4 API as the seats service speaks it: the envelope, its
//! messages, the seat. Serde only, no business logic; shared by the server, the client and
//! the tests.
//!
//! Decoding is tolerant (unknown fields are ignored, optional fields may be missing) so the
//! same types read Cloudflare's real responses.

mod device;
mod duration;
mod envelope;
pub mod formats;
mod identity_provider;
mod operator;
mod organization;
mod seat;
mod secret;
mod timestamp;
mod token;
mod toolkit;
mod user;

pub use device::{CursorResultInfo, PhysicalDevice, Registration, RegistrationDevice, RegistrationUser};
pub use duration::parse_go_duration;
pub use envelope::{Envelope, Message, ResultInfo, Source};
pub use identity_provider::{
    AccessUser, IdentityProvider, IdentityProviderDeleted, ScimConfig, ScimEmail, ScimMeta, ZeroTrustGroup,
    IDENTITY_PROVIDER_TYPES,
};
pub use operator::{
    AccountUpdateRequest, AuditEvent, ClockAdvanceRequest, ClockReading, ExpiredSeats, LoginRequestBody,
    NewAccountRequest, NewMemberRequest, NewTokenRequest, OperatorAccount, OperatorMember, OperatorToken,
    TokenStatusRequest,
};
pub use organization::Organization;
pub use seat::{Seat, SeatEditItem};
pub use secret::SecretString;
pub use timestamp::Timestamp;
pub use token::{
    Effect, PermissionGroup, PermissionGroupRef, Policy, TokenStatus, ACCOUNT_RESOURCE_PREFIX, ALL_ACCOUNTS_RESOURCE,
};
pub use toolkit::{
    FaultAction, FaultMatch, FaultRule, JournalEntry, NewFaultRule, NewSnapshot, Snapshot, StateRestored,
};
pub use user::{ActiveSession, FailedLogin, User, UserCreateParams, UserUpdateParams};
