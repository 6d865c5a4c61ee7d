//! Device registrations and physical devices: `client.zero_trust().devices()`.

use futures::{stream, Stream};
use reqwest::Method;
use seats_types::{PhysicalDevice, Registration};
use serde_json::Value;

use super::path_segment;
use super::users::missing_result;
use crate::{Client, Error, RequestOptions};

/// What [`Registrations::list`] asks for; `None` leaves a filter out.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RegistrationListParams {
    /// The account's identifier.
    pub account_id: String,
    /// Only these registrations.
    pub id: Vec<String>,
    /// Only registrations of this WARP device.
    pub device_id: Option<String>,
    /// Only registrations of these users.
    pub user_id: Vec<String>,
    /// `active` (the server's default), `revoked` or `all`.
    pub status: Option<String>,
    /// A substring of the user's email or name, or of the device name.
    pub search: Option<String>,
    /// `id`, `user.name`, `user.email`, `last_seen_at` or `created_at`.
    pub sort_by: Option<String>,
    /// `asc` or `desc`.
    pub sort_order: Option<String>,
    /// 1 to 1000; the server's default is 20.
    pub per_page: Option<u64>,
    /// From the previous page's [`CursorPage::cursor`].
    pub cursor: Option<String>,
}

/// One page of a cursor-paged listing.
#[derive(Debug, Clone, PartialEq)]
pub struct CursorPage<T> {
    /// The items of the page.
    pub result: Vec<T>,
    /// Where the next page starts; `None` after the last.
    pub cursor: Option<String>,
}

/// `client.zero_trust().devices()`.
#[derive(Debug, Clone, Copy)]
pub struct Devices<'a> {
    client: &'a Client,
}

impl<'a> Devices<'a> {
    pub(crate) fn new(client: &'a Client) -> Self {
        Devices { client }
    }

    /// `client.zero_trust().devices().registrations()`.
    pub fn registrations(&self) -> Registrations<'a> {
        Registrations { client: self.client }
    }

    /// One page of physical devices: `GET /accounts/{account_id}/devices/physical-devices`.
    pub async fn list_physical(
        &self,
        account_id: &str,
        per_page: Option<u64>,
        cursor: Option<&str>,
    ) -> Result<CursorPage<PhysicalDevice>, Error> {
        let mut query = url::form_urlencoded::Serializer::new(String::new());
        if let Some(n) = per_page {
            query.append_pair("per_page", &n.to_string());
        }
        if let Some(c) = cursor {
            query.append_pair("cursor", c);
        }
        let path = format!(
            "/accounts/{}/devices/physical-devices?{}",
            path_segment("account_id", account_id)?,
            query.finish()
        );
        cursor_page(self.client, &path).await
    }

    /// Revokes every registration of the physical device:
    /// `POST …/devices/physical-devices/{device_id}/revoke`.
    pub async fn revoke_physical(&self, account_id: &str, device_id: &str) -> Result<(), Error> {
        let path = format!(
            "/accounts/{}/devices/physical-devices/{}/revoke",
            path_segment("account_id", account_id)?,
            path_segment("device_id", device_id)?
        );
        change(self.client, Method::POST, &path).await
    }
}

/// `client.zero_trust().devices().registrations()`.
#[derive(Debug, Clone, Copy)]
pub struct Registrations<'a> {
    client: &'a Client,
}

impl<'a> Registrations<'a> {
    /// One page: `GET /accounts/{account_id}/devices/registrations`.
    pub async fn list(&self, params: &RegistrationListParams) -> Result<CursorPage<Registration>, Error> {
        let mut query = url::form_urlencoded::Serializer::new(String::new());
        for id in &params.id {
            query.append_pair("id", id);
        }
        for id in &params.user_id {
            query.append_pair("user.id", id);
        }
        for (name, value) in [
            ("device.id", &params.device_id),
            ("status", &params.status),
            ("search", &params.search),
            ("sort_by", &params.sort_by),
            ("sort_order", &params.sort_order),
            ("cursor", &params.cursor),
        ] {
            if let Some(v) = value {
                query.append_pair(name, v);
            }
        }
        if let Some(n) = params.per_page {
            query.append_pair("per_page", &n.to_string());
        }
        let path = format!(
            "/accounts/{}/devices/registrations?{}",
            path_segment("account_id", &params.account_id)?,
            query.finish()
        );
        cursor_page(self.client, &path).await
    }

    /// Every registration, page after page, as a stream.
    pub fn list_auto_paging(
        &self,
        params: RegistrationListParams,
    ) -> impl Stream<Item = Result<Registration, Error>> + 'a {
        let registrations = *self;
        let pages = stream::try_unfold(Some(params.cursor.clone()), move |next| {
            let params = params.clone();
            async move {
                let Some(cursor) = next else { return Ok(None) };
                let page = registrations.list(&RegistrationListParams { cursor, ..params }).await?;
                let next = page.cursor.map(Some);
                Ok(Some((stream::iter(page.result.into_iter().map(Ok)), next)))
            }
        });
        futures::TryStreamExt::try_flatten(pages)
    }

    /// One registration: `GET …/devices/registrations/{registration_id}`.
    pub async fn get(&self, account_id: &str, id: &str) -> Result<Registration, Error> {
        let path = format!(
            "/accounts/{}/devices/registrations/{}",
            path_segment("account_id", account_id)?,
            path_segment("registration_id", id)?
        );
        let envelope = self
            .client
            .request::<(), Registration>(Method::GET, &path, None, RequestOptions::default())
            .await?;
        envelope.result.ok_or_else(|| missing_result(&path))
    }

    /// Revokes the registrations: `POST …/devices/registrations/revoke?id=…`.
    pub async fn revoke(&self, account_id: &str, ids: &[String]) -> Result<(), Error> {
        change(self.client, Method::POST, &ids_path(account_id, "/revoke", ids)?).await
    }

    /// Unrevokes the registrations: `POST …/devices/registrations/unrevoke?id=…`.
    pub async fn unrevoke(&self, account_id: &str, ids: &[String]) -> Result<(), Error> {
        change(self.client, Method::POST, &ids_path(account_id, "/unrevoke", ids)?).await
    }

    /// Deletes the registrations: `DELETE …/devices/registrations?id=…`.
    pub async fn bulk_delete(&self, account_id: &str, ids: &[String]) -> Result<(), Error> {
        change(self.client, Method::DELETE, &ids_path(account_id, "", ids)?).await
    }
}

fn ids_path(account_id: &str, suffix: &str, ids: &[String]) -> Result<String, Error> {
    if ids.is_empty() {
        return Err(Error::InvalidParams("name at least one registration id".into()));
    }
    let mut query = url::form_urlencoded::Serializer::new(String::new());
    for id in ids {
        query.append_pair("id", id);
    }
    Ok(format!(
        "/accounts/{}/devices/registrations{suffix}?{}",
        path_segment("account_id", account_id)?,
        query.finish()
    ))
}

async fn cursor_page<T: serde::de::DeserializeOwned>(client: &Client, path: &str) -> Result<CursorPage<T>, Error> {
    let envelope = client
        .request::<(), Vec<T>>(Method::GET, path, None, RequestOptions::default())
        .await?;
    Ok(CursorPage {
        result: envelope.result.unwrap_or_default(),
        cursor: envelope.result_info.and_then(|i| i.cursor).filter(|c| !c.is_empty()),
    })
}

async fn change(client: &Client, method: Method, path: &str) -> Result<(), Error> {
    client
        .request::<(), Value>(method, path, None, RequestOptions::default())
        .await?;
    Ok(())
}
