//! Zero Trust users: `client.zero_trust().access().users()`.

use futures::stream::{self, Stream};
use reqwest::Method;
use seats_types::{ResultInfo, User};
use serde_json::json;

use super::path_segment;
use crate::{Client, Error, RequestOptions};

/// A page of a paginated list, with its `result_info`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page<T> {
    /// The items of this page.
    pub result: Vec<T>,
    /// Which page this is and how many there are.
    pub result_info: Option<ResultInfo>,
}

impl<T> Page<T> {
    /// Whether a page follows this one: this one is full and the total says there is more.
    pub fn has_next(&self) -> bool {
        match &self.result_info {
            Some(info) => !self.result.is_empty() && info.page.saturating_mul(info.per_page) < info.total_count,
            None => !self.result.is_empty(),
        }
    }
}

/// The parameters of [`Users::list`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UserListParams {
    /// The account's identifier.
    pub account_id: String,
    /// Only the user with this email (case-insensitive).
    pub email: Option<String>,
    /// Only users with exactly this name.
    pub name: Option<String>,
    /// Users whose email or name contains this.
    pub search: Option<String>,
    /// The page, from 1.
    pub page: Option<u64>,
    /// Users per page, 1 to 1000 (the server's default is 1000).
    pub per_page: Option<u64>,
}

/// The parameters of [`Users::create`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserNewParams {
    /// The account's identifier.
    pub account_id: String,
    /// The email of the user.
    pub email: String,
    /// The name of the user.
    pub name: Option<String>,
}

/// The parameters of [`Users::update`]: the email must stay the same.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserUpdateParams {
    /// The account's identifier.
    pub account_id: String,
    /// The user's UUID.
    pub user_id: String,
    /// The user's current email.
    pub email: String,
    /// The new name.
    pub name: String,
}

/// Zero Trust users.
#[derive(Debug, Clone, Copy)]
pub struct Users<'a> {
    client: &'a Client,
}

impl<'a> Users<'a> {
    pub(crate) fn new(client: &'a Client) -> Self {
        Users { client }
    }

    /// One page of users: `GET /accounts/{account_id}/access/users`.
    pub async fn list(&self, params: &UserListParams) -> Result<Page<User>, Error> {
        let account_id = path_segment("account_id", &params.account_id)?;
        let mut query = url::form_urlencoded::Serializer::new(String::new());
        for (name, value) in [
            ("email", &params.email),
            ("name", &params.name),
            ("search", &params.search),
        ] {
            if let Some(v) = value {
                query.append_pair(name, v);
            }
        }
        for (name, value) in [("page", params.page), ("per_page", params.per_page)] {
            if let Some(v) = value {
                query.append_pair(name, &v.to_string());
            }
        }
        let query = query.finish();
        let path = if query.is_empty() {
            format!("/accounts/{account_id}/access/users")
        } else {
            format!("/accounts/{account_id}/access/users?{query}")
        };
        let envelope = self
            .client
            .request::<(), Vec<User>>(Method::GET, &path, None, RequestOptions::default())
            .await?;
        Ok(Page {
            result: envelope.result.unwrap_or_default(),
            result_info: envelope.result_info,
        })
    }

    /// Every user, page after page, as a stream (like the SDKs' `ListAutoPaging`).
    ///
    /// ```no_run
    /// use futures::TryStreamExt;
    /// use seats_client::resources::UserListParams;
    ///
    /// # async fn run(client: seats_client::Client) -> Result<(), seats_client::Error> {
    /// let params = UserListParams { account_id: "699d98642c564d2e855e9661899b7252".into(), ..Default::default() };
    /// let users: Vec<_> = client.zero_trust().access().users().list_auto_paging(params).try_collect().await?;
    /// # let _ = users; Ok(()) }
    /// ```
    pub fn list_auto_paging(&self, params: UserListParams) -> impl Stream<Item = Result<User, Error>> + 'a {
        let users = *self;
        let first = params.page.unwrap_or(1);
        let pages = stream::try_unfold(Some(first), move |next| {
            let params = params.clone();
            async move {
                let Some(page) = next else { return Ok(None) };
                let got = users
                    .list(&UserListParams {
                        page: Some(page),
                        ..params
                    })
                    .await?;
                let next = got.has_next().then_some(page + 1);
                Ok(Some((stream::iter(got.result.into_iter().map(Ok)), next)))
            }
        });
        futures::TryStreamExt::try_flatten(pages)
    }

    /// One user: `GET /accounts/{account_id}/access/users/{user_id}`.
    pub async fn get(&self, account_id: &str, user_id: &str) -> Result<User, Error> {
        let path = user_path(account_id, user_id)?;
        let envelope = self
            .client
            .request::<(), User>(Method::GET, &path, None, RequestOptions::default())
            .await?;
        envelope.result.ok_or_else(|| missing_result(&path))
    }

    /// Creates a user holding no seat: `POST /accounts/{account_id}/access/users`.
    pub async fn create(&self, params: &UserNewParams) -> Result<User, Error> {
        let account_id = path_segment("account_id", &params.account_id)?;
        let path = format!("/accounts/{account_id}/access/users");
        let mut body = json!({"email": params.email});
        if let Some(name) = &params.name {
            body["name"] = json!(name);
        }
        let envelope = self
            .client
            .request::<_, User>(Method::POST, &path, Some(&body), RequestOptions::default())
            .await?;
        envelope.result.ok_or_else(|| missing_result(&path))
    }

    /// Renames a user: `PUT /accounts/{account_id}/access/users/{user_id}`.
    pub async fn update(&self, params: &UserUpdateParams) -> Result<User, Error> {
        let path = user_path(&params.account_id, &params.user_id)?;
        let body = json!({"email": params.email, "name": params.name});
        let envelope = self
            .client
            .request::<_, User>(Method::PUT, &path, Some(&body), RequestOptions::default())
            .await?;
        envelope.result.ok_or_else(|| missing_result(&path))
    }

    /// Removes a user, freeing their seat: `DELETE /accounts/{account_id}/access/users/{user_id}`.
    pub async fn delete(&self, account_id: &str, user_id: &str) -> Result<(), Error> {
        let path = user_path(account_id, user_id)?;
        self.client
            .request::<(), serde_json::Value>(Method::DELETE, &path, None, RequestOptions::default())
            .await?;
        Ok(())
    }
}

fn user_path(account_id: &str, user_id: &str) -> Result<String, Error> {
    let account_id = path_segment("account_id", account_id)?;
    let user_id = path_segment("user_id", user_id)?;
    Ok(format!("/accounts/{account_id}/access/users/{user_id}"))
}

pub(crate) fn missing_result(path: &str) -> Error {
    Error::Decode {
        request: path.to_owned(),
        status: reqwest::StatusCode::OK,
        reason: "the envelope has no result".into(),
        body: String::new(),
    }
}
