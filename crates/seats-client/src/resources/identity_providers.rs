//! Access identity providers: `client.zero_trust().identity_providers()`, with the SCIM users
//! and groups each one provisioned (`.scim().users()`, `.scim().groups()`).

use reqwest::Method;
use seats_types::{AccessUser, IdentityProvider, IdentityProviderDeleted, ZeroTrustGroup};

use super::{missing_result, path_segment, Page};
use crate::{Client, Error, RequestOptions};

/// Access identity providers.
#[derive(Debug, Clone, Copy)]
pub struct IdentityProviders<'a> {
    client: &'a Client,
}

/// The parameters of [`IdentityProviders::list`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IdentityProviderListParams {
    /// The account's identifier.
    pub account_id: String,
    /// Only providers with SCIM enabled.
    pub scim_enabled: bool,
    /// The page, from 1.
    pub page: Option<u64>,
    /// Providers per page, 1 to 1000.
    pub per_page: Option<u64>,
}

/// The parameters of [`Scim::users`]: at most one way of narrowing is needed, all may be
/// combined (every one given must match).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ScimUserListParams {
    /// The account's identifier.
    pub account_id: String,
    /// The identity provider's UUID.
    pub identity_provider_id: String,
    /// Ids of SCIM users (Cloudflare's `cf_resource_id`), up to 50.
    pub cf_resource_id: Vec<String>,
    /// The identity provider's ids of them (`idp_resource_id`), up to 50.
    pub idp_resource_id: Vec<String>,
    /// The userName, case-insensitive.
    pub username: Option<String>,
    /// The email, case-insensitive.
    pub email: Option<String>,
    /// The displayName.
    pub name: Option<String>,
    /// The page, from 1.
    pub page: Option<u64>,
    /// SCIM users per page, 1 to 1000.
    pub per_page: Option<u64>,
}

fn with_query(path: String, query: url::form_urlencoded::Serializer<'_, String>) -> String {
    let mut query = query;
    let query = query.finish();
    if query.is_empty() {
        path
    } else {
        format!("{path}?{query}")
    }
}

fn paging(query: &mut url::form_urlencoded::Serializer<'_, String>, page: Option<u64>, per_page: Option<u64>) {
    for (name, value) in [("page", page), ("per_page", per_page)] {
        if let Some(v) = value {
            query.append_pair(name, &v.to_string());
        }
    }
}

impl<'a> IdentityProviders<'a> {
    pub(crate) fn new(client: &'a Client) -> Self {
        IdentityProviders { client }
    }

    fn path(account_id: &str) -> Result<String, Error> {
        Ok(format!(
            "/accounts/{}/access/identity_providers",
            path_segment("account_id", account_id)?
        ))
    }

    fn one(account_id: &str, id: &str) -> Result<String, Error> {
        Ok(format!(
            "{}/{}",
            Self::path(account_id)?,
            path_segment("identity_provider_id", id)?
        ))
    }

    async fn send(
        &self,
        method: Method,
        path: &str,
        body: Option<&IdentityProvider>,
    ) -> Result<IdentityProvider, Error> {
        let envelope = self
            .client
            .request::<_, IdentityProvider>(method, path, body, RequestOptions::default())
            .await?;
        envelope.result.ok_or_else(|| missing_result(path))
    }

    /// Adds a provider: `POST /accounts/{account_id}/access/identity_providers`. With
    /// `scim_config.enabled`, the answer holds the SCIM secret: the only time it is shown.
    pub async fn create(&self, account_id: &str, provider: &IdentityProvider) -> Result<IdentityProvider, Error> {
        self.send(Method::POST, &Self::path(account_id)?, Some(provider)).await
    }

    /// One page of providers, in creation order.
    pub async fn list(&self, params: &IdentityProviderListParams) -> Result<Page<IdentityProvider>, Error> {
        let mut query = url::form_urlencoded::Serializer::new(String::new());
        if params.scim_enabled {
            query.append_pair("scim_enabled", "true");
        }
        paging(&mut query, params.page, params.per_page);
        let path = with_query(Self::path(&params.account_id)?, query);
        let envelope = self
            .client
            .request::<(), Vec<IdentityProvider>>(Method::GET, &path, None, RequestOptions::default())
            .await?;
        Ok(Page {
            result: envelope.result.unwrap_or_default(),
            result_info: envelope.result_info,
        })
    }

    /// A provider; its SCIM secret, if any, comes back redacted.
    pub async fn get(&self, account_id: &str, id: &str) -> Result<IdentityProvider, Error> {
        self.send(Method::GET, &Self::one(account_id, id)?, None).await
    }

    /// Replaces `name`, `type` and `config`; the `scim_config` fields given are merged into
    /// the stored ones.
    pub async fn update(
        &self,
        account_id: &str,
        id: &str,
        provider: &IdentityProvider,
    ) -> Result<IdentityProvider, Error> {
        self.send(Method::PUT, &Self::one(account_id, id)?, Some(provider))
            .await
    }

    /// Removes a provider with the SCIM users and groups it provisioned.
    pub async fn delete(&self, account_id: &str, id: &str) -> Result<IdentityProviderDeleted, Error> {
        let path = Self::one(account_id, id)?;
        let envelope = self
            .client
            .request::<(), IdentityProviderDeleted>(Method::DELETE, &path, None, RequestOptions::default())
            .await?;
        envelope.result.ok_or_else(|| missing_result(&path))
    }

    /// A new SCIM secret, shown in this answer only; the old one stops working.
    pub async fn refresh_scim_secret(&self, account_id: &str, id: &str) -> Result<IdentityProvider, Error> {
        let path = format!("{}/refresh_scim_secret", Self::one(account_id, id)?);
        self.send(Method::POST, &path, None).await
    }

    /// The SCIM resources the provider's client provisioned.
    pub fn scim(&self) -> Scim<'a> {
        Scim { client: self.client }
    }
}

/// `client.zero_trust().identity_providers().scim()`.
#[derive(Debug, Clone, Copy)]
pub struct Scim<'a> {
    client: &'a Client,
}

impl Scim<'_> {
    /// One page of SCIM users: `GET .../identity_providers/{id}/scim/users`.
    pub async fn users(&self, params: &ScimUserListParams) -> Result<Page<AccessUser>, Error> {
        let mut query = url::form_urlencoded::Serializer::new(String::new());
        for id in &params.cf_resource_id {
            query.append_pair("cf_resource_id", id);
        }
        for id in &params.idp_resource_id {
            query.append_pair("idp_resource_id", id);
        }
        for (name, value) in [
            ("username", &params.username),
            ("email", &params.email),
            ("name", &params.name),
        ] {
            if let Some(v) = value {
                query.append_pair(name, v);
            }
        }
        paging(&mut query, params.page, params.per_page);
        let base = IdentityProviders::one(&params.account_id, &params.identity_provider_id)?;
        let path = with_query(format!("{base}/scim/users"), query);
        let envelope = self
            .client
            .request::<(), Vec<AccessUser>>(Method::GET, &path, None, RequestOptions::default())
            .await?;
        Ok(Page {
            result: envelope.result.unwrap_or_default(),
            result_info: envelope.result_info,
        })
    }

    /// One page of SCIM groups: `GET .../identity_providers/{id}/scim/groups`.
    pub async fn groups(
        &self,
        account_id: &str,
        identity_provider_id: &str,
        page: Option<u64>,
        per_page: Option<u64>,
    ) -> Result<Page<ZeroTrustGroup>, Error> {
        let mut query = url::form_urlencoded::Serializer::new(String::new());
        paging(&mut query, page, per_page);
        let base = IdentityProviders::one(account_id, identity_provider_id)?;
        let path = with_query(format!("{base}/scim/groups"), query);
        let envelope = self
            .client
            .request::<(), Vec<ZeroTrustGroup>>(Method::GET, &path, None, RequestOptions::default())
            .await?;
        Ok(Page {
            result: envelope.result.unwrap_or_default(),
            result_info: envelope.result_info,
        })
    }
}
