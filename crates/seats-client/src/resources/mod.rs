//! The API's resources, grouped as in the official SDKs: `client.zero_trust().seats()`.

mod seats;

pub use seats::{SeatEditParams, SeatEditParamsBody, Seats};

use crate::Client;

/// `client.zero_trust()`: the Zero Trust resources.
#[derive(Debug, Clone, Copy)]
pub struct ZeroTrust<'a> {
    client: &'a Client,
}

impl<'a> ZeroTrust<'a> {
    pub(crate) fn new(client: &'a Client) -> Self {
        ZeroTrust { client }
    }

    /// `client.zero_trust().seats()`: Zero Trust seats.
    pub fn seats(&self) -> Seats<'a> {
        Seats::new(self.client)
    }
}
