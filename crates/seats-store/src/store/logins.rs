//! Logins: a user's authentication through Access or Gateway, and the activity it leaves.

use async_trait::async_trait;
use seats_types::Timestamp;

use crate::model::{Actor, LoginOutcome, LoginRequest, Revocation, RevokeRequest, UserActivity};
use crate::StoreResult;

#[async_trait]
pub trait LoginStore: Send + Sync {
    /// Records an authentication (docs/contract.md §8): creates the user if new, takes a seat unless the
    /// account is full (then the user and a refused login are committed, nothing else).
    async fn login(
        &self,
        account_id: &str,
        login: LoginRequest,
        actor: Actor,
        now: Timestamp,
    ) -> StoreResult<LoginOutcome>;

    /// Ends every session of the account's user with the request's email and, with
    /// `devices`, its device registrations; the seats stay (docs/api.md, "Revoking a user").
    /// [`crate::StoreError::NotFound`] if no user has the email, or `user_uid` is not its id.
    async fn revoke_user(
        &self,
        account_id: &str,
        revoke: RevokeRequest,
        actor: Actor,
        now: Timestamp,
    ) -> StoreResult<Revocation>;

    /// Sessions live at `now`, refused logins and the last accepted login of a user.
    async fn user_activity(&self, account_id: &str, user_id: &str, now: Timestamp)
        -> StoreResult<Option<UserActivity>>;
}
