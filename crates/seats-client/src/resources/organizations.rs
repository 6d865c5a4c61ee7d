//! Zero Trust organization settings: `client.zero_trust().organizations()`.

use reqwest::Method;
use seats_types::Organization;
use serde_json::{Map, Value};

use super::missing_result;
use super::path_segment;
use crate::{Client, Error, RequestOptions};

/// Zero Trust organization settings.
#[derive(Debug, Clone, Copy)]
pub struct Organizations<'a> {
    client: &'a Client,
}

impl<'a> Organizations<'a> {
    pub(crate) fn new(client: &'a Client) -> Self {
        Organizations { client }
    }

    fn path(account_id: &str) -> Result<String, Error> {
        Ok(format!(
            "/accounts/{}/access/organizations",
            path_segment("account_id", account_id)?
        ))
    }

    /// The organization: `GET /accounts/{account_id}/access/organizations` (404 before one exists).
    pub async fn get(&self, account_id: &str) -> Result<Organization, Error> {
        let path = Self::path(account_id)?;
        let envelope = self
            .client
            .request::<(), Organization>(Method::GET, &path, None, RequestOptions::default())
            .await?;
        envelope.result.ok_or_else(|| missing_result(&path))
    }

    /// Creates it: `POST`, with at least `name` and `auth_domain`.
    pub async fn create(&self, account_id: &str, fields: &Map<String, Value>) -> Result<Organization, Error> {
        let path = Self::path(account_id)?;
        let envelope = self
            .client
            .request::<_, Organization>(Method::POST, &path, Some(fields), RequestOptions::default())
            .await?;
        envelope.result.ok_or_else(|| missing_result(&path))
    }

    /// Changes the fields given and keeps the others: `PUT`. Set
    /// `user_seat_expiration_inactive_time` to a Go duration (at least `730h`), or to `null`
    /// to turn seat expiry off.
    pub async fn update(&self, account_id: &str, fields: &Map<String, Value>) -> Result<Organization, Error> {
        let path = Self::path(account_id)?;
        let envelope = self
            .client
            .request::<_, Organization>(Method::PUT, &path, Some(fields), RequestOptions::default())
            .await?;
        envelope.result.ok_or_else(|| missing_result(&path))
    }

    /// Revokes a user's access: `POST …/access/organizations/revoke_user`. Ends the sessions
    /// of the user with `params.email` (and, with `devices`, its device registrations); the
    /// user keeps its seats. 404 (12130) if no user of the account has the email, or
    /// `user_uid` is not that user's id.
    pub async fn revoke_users(&self, account_id: &str, params: &RevokeUsersParams) -> Result<bool, Error> {
        let path = format!("{}/revoke_user", Self::path(account_id)?);
        let envelope = self
            .client
            .request::<_, bool>(Method::POST, &path, Some(params), RequestOptions::default())
            .await?;
        envelope.result.ok_or_else(|| missing_result(&path))
    }
}

/// What [`Organizations::revoke_users`] sends, as Cloudflare's body names it.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct RevokeUsersParams {
    /// The email of the user to revoke.
    pub email: String,
    /// Revoke the user's devices too.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub devices: Option<bool>,
    /// The user's id; the request is refused if it names another user.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_uid: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    /// Accepted by the server and without effect there (it keeps no WARP session durations).
    pub warp_session_reauth: Option<bool>,
}
