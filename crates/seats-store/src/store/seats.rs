//! Seats: the PATCH batch and the expiry sweep.

use async_trait::async_trait;
use seats_types::{SeatEditItem, Timestamp};

use crate::model::{Actor, SeatRecord};
use crate::StoreResult;

#[async_trait]
pub trait SeatStore: Send + Sync {
    /// Applies a batch of seat edits atomically (docs/contract.md §5) and returns the seats in request
    /// order. Fails with [`StoreError::NotFound`] naming the positions of unknown seat uids,
    /// or [`StoreError::SeatLimit`] if the batch would raise seats in use above the limit.
    /// Each seat uid may appear once (the API refuses a batch that names one twice): both
    /// backends update a batch's rows in one statement, which keeps one of a seat's repeats.
    async fn edit_seats(
        &self,
        account_id: &str,
        items: Vec<SeatEditItem>,
        actor: Actor,
        now: Timestamp,
    ) -> StoreResult<Vec<SeatRecord>>;

    /// Frees the seats of users inactive for longer than their account's
    /// `user_seat_expiration_inactive_time` (one account, or all), auditing each as `system`.
    /// Returns `(account_id, seat_uid)` of each removal.
    async fn expire_seats(&self, account_id: Option<&str>, now: Timestamp) -> StoreResult<Vec<(String, String)>>;

    /// Claims the periodic sweep due at `now` for this process: true (and the next one is
    /// then due at `next`) if no process sharing the database claimed it yet. Clocks of
    /// servers that differ by less than a period agree on whose it is; a schedule more than a
    /// period ahead of `next` (a clock moved back, e.g. after a manual clock) is claimable.
    async fn claim_sweep(&self, now: Timestamp, next: Timestamp) -> StoreResult<bool>;
}
