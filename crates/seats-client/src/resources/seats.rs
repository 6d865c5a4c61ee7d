//! Zero Trust seats: `client.zero_trust().seats()`.

use reqwest::Method;
use seats_types::Seat;

use super::path_segment;
use crate::{Client, Error, RequestOptions, SinglePage};

/// One seat to update: all three fields are always sent, `false` included.
pub type SeatEditParamsBody = seats_types::SeatEditItem;

/// The parameters of [`Seats::edit`], as `zero_trust.SeatEditParams` in the Go SDK.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeatEditParams {
    /// The account's identifier (32 hex characters).
    pub account_id: String,
    /// The seats to update, applied all together or not at all.
    pub body: Vec<SeatEditParamsBody>,
}

/// Zero Trust seats.
#[derive(Debug, Clone, Copy)]
pub struct Seats<'a> {
    client: &'a Client,
}

impl<'a> Seats<'a> {
    pub(crate) fn new(client: &'a Client) -> Self {
        Seats { client }
    }

    /// Update a user seat: `PATCH /accounts/{account_id}/access/seats`. Removes a user from
    /// a Zero Trust seat when both `access_seat` and `gateway_seat` are set to false.
    ///
    /// ```no_run
    /// use seats_client::{Client, SeatEditParams, SeatEditParamsBody};
    ///
    /// # async fn run() -> Result<(), seats_client::Error> {
    /// let client = Client::from_env()?;
    /// let page = client
    ///     .zero_trust()
    ///     .seats()
    ///     .edit(SeatEditParams {
    ///         account_id: "699d98642c564d2e855e9661899b7252".into(),
    ///         body: vec![SeatEditParamsBody {
    ///             access_seat: false,
    ///             gateway_seat: false,
    ///             seat_uid: "f174e90a-fafe-4643-bbbc-4a0ed4fc8415".into(),
    ///         }],
    ///     })
    ///     .await?;
    /// for seat in &page {
    ///     println!("{:?}: access {:?}", seat.seat_uid, seat.access_seat);
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn edit(&self, params: SeatEditParams) -> Result<SinglePage<Seat>, Error> {
        self.edit_with(params, RequestOptions::default()).await
    }

    /// [`Seats::edit`] with per-call options (timeout, retries).
    pub async fn edit_with(&self, params: SeatEditParams, options: RequestOptions) -> Result<SinglePage<Seat>, Error> {
        let account_id = path_segment("account_id", &params.account_id)?;
        let path = format!("/accounts/{account_id}/access/seats");
        let envelope = self
            .client
            .request::<_, Vec<Seat>>(Method::PATCH, &path, Some(&params.body), options)
            .await?;
        Ok(SinglePage::new(
            envelope.result.unwrap_or_default(),
            envelope.result_info,
        ))
    }
}
