//! The API's resources, grouped as in the official SDKs: `client.zero_trust().seats()`.

mod devices;
mod identity_providers;
mod organizations;
mod seats;
mod users;

pub use devices::{CursorPage, Devices, RegistrationListParams, Registrations};
pub use identity_providers::{IdentityProviderListParams, IdentityProviders, Scim, ScimUserListParams};
pub use organizations::{Organizations, RevokeUsersParams};
pub use seats::{SeatEditParams, SeatEditParamsBody, Seats};
pub use users::{Page, UserListParams, UserNewParams, UserUpdateParams, Users};

use crate::Error;

pub(crate) use users::missing_result;

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

    /// `client.zero_trust().access()`: Access resources (users).
    pub fn access(&self) -> Access<'a> {
        Access { client: self.client }
    }

    /// `client.zero_trust().identity_providers()`: Access identity providers and their SCIM
    /// resources.
    pub fn identity_providers(&self) -> IdentityProviders<'a> {
        IdentityProviders::new(self.client)
    }

    /// `client.zero_trust().devices()`: device registrations and physical devices.
    pub fn devices(&self) -> Devices<'a> {
        Devices::new(self.client)
    }

    /// `client.zero_trust().organizations()`: organization settings.
    pub fn organizations(&self) -> Organizations<'a> {
        Organizations::new(self.client)
    }
}

/// `client.zero_trust().access()`.
#[derive(Debug, Clone, Copy)]
pub struct Access<'a> {
    client: &'a Client,
}

impl<'a> Access<'a> {
    /// `client.zero_trust().access().users()`: Zero Trust users.
    pub fn users(&self) -> Users<'a> {
        Users::new(self.client)
    }
}

/// A path parameter: not empty, and nothing that would change the path.
pub(crate) fn path_segment<'s>(name: &str, value: &'s str) -> Result<&'s str, Error> {
    if value.is_empty() {
        return Err(Error::InvalidParams(format!("{name} must not be empty")));
    }
    if value.contains(['/', '?', '#', '%']) || value.chars().any(char::is_whitespace) {
        return Err(Error::InvalidParams(format!(
            "{name} {value:?} cannot be part of a URL path"
        )));
    }
    Ok(value)
}
