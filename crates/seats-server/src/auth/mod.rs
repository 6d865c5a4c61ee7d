//! Authentication as an extractor, and the declared permission check.
//!
//! The operator's key is checked in [`operator`], the one place that compares it.
//!
//! [`Auth`] reads the credential headers (docs/contract.md §2), checks their format and validity, and
//! yields the principal. A handler then declares what it needs with
//! [`Auth::require`], which returns an [`AccountAccess`] — the proof that store writes take.

pub mod operator;

use std::sync::Arc;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::HeaderMap;
use seats_store::secret::{Secret, SecretHash};
use seats_store::{Actor, MemberRecord, Store, TokenRecord};
use seats_types::{formats, Effect, Message, PermissionGroup, Policy, ACCOUNT_RESOURCE_PREFIX, ALL_ACCOUNTS_RESOURCE};

use crate::error::ApiError;
use crate::extract::AccountId;
use crate::rate_limit::Subject;
use crate::AppState;

/// What an operation needs; each is satisfied by any of its permission groups.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Permission {
    SeatsWrite,
    AuditLogsRead,
    OrganizationsRead,
    OrganizationsWrite,
    /// Device registrations: `Zero Trust Read` (or `Write`).
    DevicesRead,
    DevicesWrite,
}

impl Permission {
    fn groups(self) -> &'static [PermissionGroup] {
        match self {
            Permission::SeatsWrite => &[PermissionGroup::SeatsWrite],
            Permission::AuditLogsRead => &[PermissionGroup::AuditLogsRead],
            Permission::OrganizationsRead => &[PermissionGroup::OrganizationsRead, PermissionGroup::OrganizationsWrite],
            Permission::OrganizationsWrite => &[PermissionGroup::OrganizationsWrite],
            Permission::DevicesRead => &[PermissionGroup::ZeroTrustRead, PermissionGroup::ZeroTrustWrite],
            Permission::DevicesWrite => &[PermissionGroup::ZeroTrustWrite],
        }
    }
}

/// A credential as sent, before it is looked up.
#[derive(Debug)]
pub enum Credential {
    Token(Secret),
    Key { email: String, key: Secret },
}

impl Credential {
    /// Reads the credential headers: presence and format (9106, 6003, 10001).
    pub fn from_headers(headers: &HeaderMap) -> Result<Credential, ApiError> {
        refuse_repeated(headers)?;
        let email = headers.get("x-auth-email");
        let key = headers.get("x-auth-key");
        if email.is_some() || key.is_some() {
            let (Some(email), Some(key)) = (email, key) else {
                return Err(ApiError::MissingCredentials);
            };
            let email = email.to_str().ok().filter(|e| formats::is_email(e));
            let key = key.to_str().ok().filter(|k| formats::is_api_key(k));
            let mut chain = Vec::new();
            if email.is_none() {
                chain.push(Message::new(6102, "Invalid format for X-Auth-Email header"));
            }
            if key.is_none() {
                chain.push(Message::new(6103, "Invalid format for X-Auth-Key header"));
            }
            return match (email, key) {
                (Some(email), Some(key)) => Ok(Credential::Key {
                    email: email.to_owned(),
                    key: Secret::new(key),
                }),
                _ => Err(ApiError::InvalidHeaders(chain)),
            };
        }
        if let Some(value) = headers.get(axum::http::header::AUTHORIZATION) {
            let token = value
                .to_str()
                .ok()
                .and_then(|v| v.split_once(' '))
                .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
                .map(|(_, token)| token)
                .filter(|t| formats::is_api_token(t));
            return match token {
                Some(token) => Ok(Credential::Token(Secret::new(token))),
                None => Err(ApiError::InvalidHeaders(vec![Message::new(
                    6111,
                    "Invalid format for Authorization header",
                )])),
            };
        }
        if headers.contains_key("x-auth-user-service-key") {
            return Err(ApiError::ServiceKeyRefused);
        }
        Err(ApiError::MissingCredentials)
    }
}

/// The credential headers, with the code of their format error.
const CREDENTIAL_HEADERS: [(&str, &str, i64); 3] = [
    ("authorization", "Authorization", 6111),
    ("x-auth-email", "X-Auth-Email", 6102),
    ("x-auth-key", "X-Auth-Key", 6103),
];

/// A credential header sent more than once is a format error (400 6003, with that header's
/// code in `error_chain`): taking the first would let a proxy that reads another copy see a
/// different caller than we do.
pub fn refuse_repeated(headers: &HeaderMap) -> Result<(), ApiError> {
    let chain: Vec<Message> = CREDENTIAL_HEADERS
        .iter()
        .filter(|(name, ..)| headers.get_all(*name).iter().nth(1).is_some())
        .map(|(_, shown, code)| Message::new(*code, format!("Invalid format for {shown} header: sent more than once")))
        .collect();
    if chain.is_empty() {
        Ok(())
    } else {
        Err(ApiError::InvalidHeaders(chain))
    }
}

/// Who is calling.
#[derive(Debug, Clone)]
pub enum Principal {
    Token(TokenRecord),
    Member(MemberRecord),
}

/// An authenticated request.
#[derive(Clone)]
pub struct Auth {
    principal: Principal,
    store: Arc<dyn Store>,
}

impl std::fmt::Debug for Auth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Auth")
            .field("principal", &self.principal)
            .finish_non_exhaustive()
    }
}

/// Proof that the caller may act on this account with some permission.
#[derive(Debug, Clone)]
pub struct AccountAccess {
    account_id: String,
}

impl AccountAccess {
    pub fn account_id(&self) -> &str {
        &self.account_id
    }
}

impl FromRequestParts<AppState> for Auth {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let target = member_target(parts.headers.get("x-auth-email").and_then(|v| v.to_str().ok()));
        let authenticate = authenticate(&parts.headers, state);
        let principal = crate::rate_limit::rate_limited(parts, state, target, authenticate, Principal::subject).await?;
        if let Some(note) = parts.extensions.get::<crate::toolkit::CredentialNote>() {
            note.set(match &principal {
                Principal::Token(t) => t.id.clone(),
                Principal::Member(m) => m.email.clone(),
            });
        }
        Ok(Auth {
            principal,
            store: state.store.clone(),
        })
    }
}

impl Auth {
    /// Authenticates a credential kept as its hash (a dashboard session's), with the same
    /// lookups and limits as a request carrying it.
    pub async fn from_hashed(parts: &Parts, credential: &HashedCredential, state: &AppState) -> Result<Auth, ApiError> {
        let target = match credential {
            HashedCredential::Key { email, .. } => member_target(Some(email)),
            HashedCredential::Token(_) => None,
        };
        let principal =
            crate::rate_limit::rate_limited(parts, state, target, principal(credential, state), Principal::subject)
                .await?;
        Ok(Auth {
            principal,
            store: state.store.clone(),
        })
    }

    /// Who is calling.
    pub fn principal(&self) -> &Principal {
        &self.principal
    }
}

async fn authenticate(headers: &HeaderMap, state: &AppState) -> Result<Principal, ApiError> {
    principal(&Credential::from_headers(headers)?.hashed(), state).await
}

/// A credential as the store knows it: the hash of its secret. What a request's headers carry
/// once hashed, or what a dashboard session keeps (`seats_store::dashboard_session`).
#[derive(Debug, Clone)]
pub enum HashedCredential {
    Token(SecretHash),
    Key { email: String, key: SecretHash },
}

impl Credential {
    pub fn hashed(&self) -> HashedCredential {
        match self {
            Credential::Token(secret) => HashedCredential::Token(secret.hash()),
            Credential::Key { email, key } => HashedCredential::Key {
                email: email.clone(),
                key: key.hash(),
            },
        }
    }
}

/// Who holds the credential: a token usable now, or a member whose key it is (9109, 10001).
async fn principal(credential: &HashedCredential, state: &AppState) -> Result<Principal, ApiError> {
    Ok(match credential {
        HashedCredential::Token(hash) => {
            let token = state.store.token_by_hash(*hash).await?;
            match token {
                Some(t) if t.usable_at(state.clock.now()) => Principal::Token(t),
                _ => return Err(ApiError::InvalidToken),
            }
        }
        HashedCredential::Key { email, key } => {
            let member = state.store.member_by_email(email).await?;
            match member {
                Some(m) if m.key_hash == *key => Principal::Member(m),
                _ => return Err(ApiError::UnknownKey),
            }
        }
    })
}

/// The failed-authentication target of a global key: its member (see [`crate::rate_limit::failed_auth`]).
/// A token is its own secret and names no target.
fn member_target(email: Option<&str>) -> Option<String> {
    email.map(|e| format!("member:{}", e.trim().to_ascii_lowercase()))
}

impl Principal {
    /// Whose budget a request spends.
    pub fn subject(&self) -> Subject {
        match self {
            Principal::Token(t) => Subject::Token(t.id.clone()),
            Principal::Member(m) => Subject::Member(m.email.clone()),
        }
    }
}

impl Auth {
    /// Who the audit log names for changes made by this request.
    pub fn actor(&self) -> Actor {
        match &self.principal {
            Principal::Token(t) => Actor::Token(t.id.clone()),
            Principal::Member(m) => Actor::Member(m.email.clone()),
        }
    }

    /// Checks that the caller holds `permission` on the account, which must exist. Refusals
    /// are all 403 10000, so an account's existence does not leak.
    pub async fn require(&self, permission: Permission, account: &AccountId) -> Result<AccountAccess, ApiError> {
        self.grant(self.allows(permission, account.as_str()), account).await
    }

    /// Checks that the caller holds any permission on the account, which must exist (what
    /// `GET /accounts` lists); refused as [`Auth::require`] refuses.
    pub async fn require_any(&self, account: &AccountId) -> Result<AccountAccess, ApiError> {
        self.grant(self.reaches(account.as_str()), account).await
    }

    async fn grant(&self, allowed: bool, account: &AccountId) -> Result<AccountAccess, ApiError> {
        let id = account.as_str();
        if !allowed || !self.store.account_exists(id).await? {
            return Err(ApiError::Forbidden);
        }
        Ok(AccountAccess {
            account_id: id.to_owned(),
        })
    }

    /// Whether the caller's credential grants `permission` on the account (which
    /// [`Auth::require`] also checks exists): what the dashboard asks before it offers an
    /// action.
    pub fn allows(&self, permission: Permission, account_id: &str) -> bool {
        match &self.principal {
            Principal::Member(m) => m.accounts.iter().any(|a| a == account_id),
            Principal::Token(t) => permission
                .groups()
                .iter()
                .any(|g| policies_allow(&t.policies, *g, account_id)),
        }
    }

    /// Whether the caller holds any permission on the account (for `GET /accounts`).
    pub fn reaches(&self, account_id: &str) -> bool {
        match &self.principal {
            Principal::Member(m) => m.accounts.iter().any(|a| a == account_id),
            Principal::Token(t) => PermissionGroup::ALL
                .iter()
                .any(|g| policies_allow(&t.policies, *g, account_id)),
        }
    }
}

/// An explicit deny wins, then an explicit allow; otherwise denied.
pub fn policies_allow(policies: &[Policy], group: PermissionGroup, account_id: &str) -> bool {
    let mut allowed = false;
    for policy in policies {
        let covers_account = policy
            .resources
            .keys()
            .any(|r| r == ALL_ACCOUNTS_RESOURCE || r.strip_prefix(ACCOUNT_RESOURCE_PREFIX) == Some(account_id));
        let grants_group = policy.permission_groups.iter().any(|g| g.name == group.name());
        if covers_account && grants_group {
            match policy.effect {
                Effect::Deny => return false,
                Effect::Allow => allowed = true,
            }
        }
    }
    allowed
}

/// A random secret of `len` letters and digits, for keys, tokens and SCIM secrets that were not supplied.
pub fn generate_secret(len: usize) -> String {
    use rand::distr::{Alphanumeric, SampleString};
    Alphanumeric.sample_string(&mut rand::rng(), len)
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: &str = "699d98642c564d2e855e9661899b7252";
    const B: &str = "0123456789abcdef0123456789abcdef";

    fn policy(effect: &str, resource: &str, group: &str) -> Policy {
        serde_json::from_value(serde_json::json!({"effect": effect, "resources": {resource: "*"},
            "permission_groups": [{"name": group}]}))
        .unwrap()
    }

    #[test]
    fn allow_deny_and_wildcards() {
        let seats = "Zero Trust: Seats Write";
        let all = "com.cloudflare.api.account.*";
        let a = format!("com.cloudflare.api.account.{A}");
        let g = PermissionGroup::SeatsWrite;
        assert!(policies_allow(&[policy("allow", &a, seats)], g, A));
        assert!(!policies_allow(&[policy("allow", &a, seats)], g, B));
        assert!(policies_allow(&[policy("allow", all, seats)], g, B));
        assert!(!policies_allow(
            &[policy("allow", all, seats), policy("deny", &a, seats)],
            g,
            A
        ));
        assert!(policies_allow(
            &[policy("allow", all, seats), policy("deny", &a, seats)],
            g,
            B
        ));
        assert!(!policies_allow(
            &[policy("allow", all, "Access: Audit Logs Read")],
            g,
            A
        ));
        assert!(!policies_allow(&[], g, A));
    }

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(
                axum::http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                v.parse().unwrap(),
            );
        }
        h
    }

    fn codes(r: Result<Credential, ApiError>) -> Vec<i64> {
        let e = r.unwrap_err();
        let m = e.messages();
        let mut out = vec![m[0].code];
        out.extend(m[0].error_chain.iter().flatten().map(|c| c.code));
        out
    }

    #[test]
    fn credential_header_rules() {
        assert_eq!(codes(Credential::from_headers(&headers(&[]))), [9106]);
        assert_eq!(
            codes(Credential::from_headers(&headers(&[("x-auth-email", "a@b.c")]))),
            [9106]
        );
        assert_eq!(
            codes(Credential::from_headers(&headers(&[("authorization", "Basic abc")]))),
            [6003, 6111]
        );
        assert_eq!(
            codes(Credential::from_headers(&headers(&[("authorization", "Bearer a b")]))),
            [6003, 6111]
        );
        assert_eq!(
            codes(Credential::from_headers(&headers(&[
                ("x-auth-email", "nope"),
                ("x-auth-key", "short")
            ]))),
            [6003, 6102, 6103]
        );
        assert_eq!(
            codes(Credential::from_headers(&headers(&[(
                "x-auth-user-service-key",
                "v1.0-abc"
            )]))),
            [10001]
        );
        let mut twice = headers(&[
            ("x-auth-email", "a@example.com"),
            ("x-auth-key", "144c9defac04969c7bfad8efaa8ea194"),
        ]);
        twice.append("x-auth-email", "b@example.com".parse().unwrap());
        twice.append(
            "authorization",
            "Bearer Sn3lZJTBX6kkg7OdcBUAxOO963GEIyGQqnFTOFYY".parse().unwrap(),
        );
        twice.append(
            "authorization",
            "Bearer Sn3lZJTBX6kkg7OdcBUAxOO963GEIyGQqnFTOFYZ".parse().unwrap(),
        );
        assert_eq!(codes(Credential::from_headers(&twice)), [6003, 6111, 6102]);
        // Key auth wins over Bearer when both are present; the service key is ignored beside others.
        let c = Credential::from_headers(&headers(&[
            ("authorization", "Bearer tok"),
            ("x-auth-email", "a@b.c"),
            ("x-auth-key", "144c9defac04969c7bfad8efaa8ea194"),
            ("x-auth-user-service-key", "v1.0-abc"),
        ]))
        .unwrap();
        assert!(matches!(c, Credential::Key { .. }));
        assert!(matches!(
            Credential::from_headers(&headers(&[
                ("authorization", "Bearer tok"),
                ("x-auth-user-service-key", "x")
            ])),
            Ok(Credential::Token(_))
        ));
    }

    #[test]
    fn credentials_never_debug_their_secrets() {
        let c = Credential::from_headers(&headers(&[("authorization", "Bearer Sn3lZJTBX6kkg7Od")])).unwrap();
        assert!(!format!("{c:?}").contains("Sn3l"));
    }
}
