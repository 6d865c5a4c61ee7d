//! The seed file (SPEC §9): accounts with users, members and tokens to load into an empty
//! database, validated as a whole before anything is written.

use std::collections::{HashMap, HashSet};
use std::fmt;

use seats_types::{formats, Policy, Timestamp, TokenStatus};
use serde::Deserialize;

use crate::secret::Secret;

/// The built-in demo seed: the example values of Cloudflare's documentation, so its curl
/// example works as written.
pub const DEMO_SEED: &str = include_str!("demo_seed.json");

/// Default `seat_limit` of an account: the size of Cloudflare's Free plan.
pub const DEFAULT_SEAT_LIMIT: u64 = 50;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Seed {
    #[serde(default)]
    accounts: Vec<SeedAccount>,
    #[serde(default)]
    members: Vec<SeedMember>,
    #[serde(default)]
    tokens: Vec<SeedToken>,
}

/// An account of the seed.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeedAccount {
    pub id: String,
    pub name: String,
    #[serde(default = "default_seat_limit")]
    pub seat_limit: u64,
    #[serde(default)]
    pub users: Vec<SeedUser>,
    /// Organization settings (SPEC §7), stored as given.
    #[serde(default)]
    pub organization: Option<serde_json::Map<String, serde_json::Value>>,
}

fn default_seat_limit() -> u64 {
    DEFAULT_SEAT_LIMIT
}

/// A user of a seeded account. `seat_uid` and `id` are generated (UUIDs) when absent.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeedUser {
    #[serde(default)]
    pub id: Option<String>,
    pub email: String,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub seat_uid: Option<String>,
    #[serde(default)]
    pub access_seat: bool,
    #[serde(default)]
    pub gateway_seat: bool,
    /// That many device registrations are created (requires `gateway_seat`).
    #[serde(default)]
    pub active_device_count: u64,
    /// With `access_seat`, also opens a session at that time (24 h lifetime).
    #[serde(default)]
    pub last_successful_login: Option<Timestamp>,
}

/// A member of the seed. Its key is hashed before it is stored.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeedMember {
    pub email: String,
    #[serde(deserialize_with = "deserialize_secret")]
    pub api_key: Secret,
    #[serde(default)]
    pub accounts: Vec<String>,
}

/// A token of the seed. Its value is hashed before it is stored.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeedToken {
    #[serde(default)]
    pub id: Option<String>,
    pub name: String,
    #[serde(deserialize_with = "deserialize_secret")]
    pub value: Secret,
    pub policies: Vec<Policy>,
    #[serde(default)]
    pub status: Option<TokenStatus>,
    #[serde(default)]
    pub not_before: Option<Timestamp>,
    #[serde(default)]
    pub expires_on: Option<Timestamp>,
}

fn deserialize_secret<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Secret, D::Error> {
    String::deserialize(d).map(Secret::new)
}

/// A seed that passed every check; only this can be loaded.
pub struct ValidSeed {
    pub accounts: Vec<SeedAccount>,
    pub members: Vec<SeedMember>,
    pub tokens: Vec<SeedToken>,
}

impl ValidSeed {
    pub fn user_count(&self) -> usize {
        self.accounts.iter().map(|a| a.users.len()).sum()
    }
}

/// One thing wrong with a seed file, located by a JSON pointer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeedProblem {
    pub pointer: String,
    pub problem: String,
}

impl fmt::Display for SeedProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let at = if self.pointer.is_empty() {
            "(document)"
        } else {
            &self.pointer
        };
        write!(f, "{at}: {}", self.problem)
    }
}

/// Why a seed was refused: every problem found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeedError {
    pub problems: Vec<SeedProblem>,
}

impl fmt::Display for SeedError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, p) in self.problems.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            write!(f, "{p}")?;
        }
        Ok(())
    }
}

impl std::error::Error for SeedError {}

/// Parses and validates a seed document.
pub fn parse(bytes: &[u8]) -> Result<ValidSeed, SeedError> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let seed: Seed = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let pointer = path_to_pointer(e.path());
        let inner = e.into_inner();
        let problem = if inner.is_syntax() || inner.is_eof() {
            format!("invalid JSON: {inner}")
        } else {
            inner.to_string()
        };
        SeedError {
            problems: vec![SeedProblem { pointer, problem }],
        }
    })?;
    let problems = validate(&seed);
    if problems.is_empty() {
        let mut accounts = seed.accounts;
        for account in &mut accounts {
            // Validated above, so this only normalizes (`""` expiry becomes `null`, unknown fields go).
            account.organization = account
                .organization
                .take()
                .and_then(|o| crate::organization::normalize(&o, false).ok());
        }
        Ok(ValidSeed {
            accounts,
            members: seed.members,
            tokens: seed.tokens,
        })
    } else {
        Err(SeedError { problems })
    }
}

fn path_to_pointer(path: &serde_path_to_error::Path) -> String {
    use serde_path_to_error::Segment;
    let mut out = String::new();
    for seg in path.iter() {
        match seg {
            Segment::Seq { index } => out.push_str(&format!("/{index}")),
            Segment::Map { key } => out.push_str(&format!("/{}", key.replace('~', "~0").replace('/', "~1"))),
            Segment::Enum { variant } => out.push_str(&format!("/{variant}")),
            Segment::Unknown => {}
        }
    }
    out
}

fn validate(seed: &Seed) -> Vec<SeedProblem> {
    let mut problems = Vec::new();
    let mut problem = |pointer: String, problem: String| problems.push(SeedProblem { pointer, problem });

    let mut account_ids = HashSet::new();
    let mut user_ids = HashSet::new();
    for (a, account) in seed.accounts.iter().enumerate() {
        let at = format!("/accounts/{a}");
        if !formats::is_account_id(&account.id) {
            problem(
                format!("{at}/id"),
                "account id must be 32 lowercase hex characters".into(),
            );
        } else if !account_ids.insert(account.id.as_str()) {
            problem(format!("{at}/id"), format!("duplicate account id {}", account.id));
        }
        let mut emails: HashMap<String, usize> = HashMap::new();
        let mut seat_uids: HashMap<&str, usize> = HashMap::new();
        let mut seated = 0u64;
        for (u, user) in account.users.iter().enumerate() {
            let at = format!("{at}/users/{u}");
            if let Some(id) = &user.id {
                if uuid::Uuid::parse_str(id).is_err() {
                    problem(format!("{at}/id"), "user id must be a UUID".into());
                } else if !user_ids.insert(id.to_ascii_lowercase()) {
                    problem(format!("{at}/id"), format!("duplicate user id {id}"));
                }
            }
            if !formats::is_email(&user.email) {
                problem(format!("{at}/email"), "not a valid email address".into());
            } else if let Some(first) = emails.insert(formats::email_key(&user.email), u) {
                problem(
                    format!("{at}/email"),
                    format!("duplicate email {} (first at /accounts/{a}/users/{first})", user.email),
                );
            }
            if let Some(uid) = &user.seat_uid {
                if let Some(p) = formats::seat_uid_problem(uid) {
                    problem(format!("{at}/seat_uid"), p.into());
                } else if let Some(first) = seat_uids.insert(uid, u) {
                    problem(
                        format!("{at}/seat_uid"),
                        format!("duplicate seat_uid {uid} (first at /accounts/{a}/users/{first})"),
                    );
                }
            }
            if user.active_device_count > 0 && !user.gateway_seat {
                problem(
                    format!("{at}/active_device_count"),
                    "devices are registered through Gateway: requires gateway_seat true".into(),
                );
            }
            if user.access_seat || user.gateway_seat {
                seated += 1;
            }
        }
        if let Some(org) = &account.organization {
            if let Err(found) = crate::organization::normalize(org, false) {
                for (pointer, message) in found {
                    problem(format!("{at}/organization{pointer}"), message);
                }
            }
        }
        if seated > account.seat_limit {
            problem(
                format!("{at}/seat_limit"),
                format!(
                    "account over its limit: {seated} users hold a seat, seat_limit is {}",
                    account.seat_limit
                ),
            );
        }
    }

    let mut member_emails = HashSet::new();
    for (m, member) in seed.members.iter().enumerate() {
        let at = format!("/members/{m}");
        if !formats::is_email(&member.email) {
            problem(format!("{at}/email"), "not a valid email address".into());
        } else if !member_emails.insert(formats::email_key(&member.email)) {
            problem(format!("{at}/email"), format!("duplicate member {}", member.email));
        }
        if !formats::is_api_key(member.api_key.expose()) {
            problem(
                format!("{at}/api_key"),
                "api_key must be 32-64 ASCII letters and digits".into(),
            );
        }
        for (i, id) in member.accounts.iter().enumerate() {
            if !account_ids.contains(id.as_str()) {
                problem(format!("{at}/accounts/{i}"), format!("unknown account {id}"));
            }
        }
    }

    let mut token_hashes = HashSet::new();
    let mut token_ids = HashSet::new();
    for (t, token) in seed.tokens.iter().enumerate() {
        let at = format!("/tokens/{t}");
        if let Some(id) = &token.id {
            if !(1..=64).contains(&id.len()) || !id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
                problem(
                    format!("{at}/id"),
                    "token id must be 1-64 letters, digits or '-'".into(),
                );
            } else if !token_ids.insert(id.as_str()) {
                problem(format!("{at}/id"), format!("duplicate token id {id}"));
            }
        }
        if !formats::is_api_token(token.value.expose()) {
            problem(
                format!("{at}/value"),
                "token value must be 1-255 characters of [A-Za-z0-9._~+/=-]".into(),
            );
        } else if !token_hashes.insert(token.value.hash().0) {
            problem(format!("{at}/value"), "duplicate token value".into());
        }
        if token.status == Some(TokenStatus::Expired) {
            problem(
                format!("{at}/status"),
                "status must be active or disabled; expiry comes from expires_on".into(),
            );
        }
        for (p, policy) in token.policies.iter().enumerate() {
            for pr in policy_problems(policy) {
                problem(format!("{at}/policies/{p}{}", pr.pointer), pr.problem);
            }
        }
    }
    problems
}

/// Problems of one token policy, with pointers relative to the policy.
pub fn policy_problems(policy: &Policy) -> Vec<SeedProblem> {
    use seats_types::{PermissionGroup, ACCOUNT_RESOURCE_PREFIX, ALL_ACCOUNTS_RESOURCE};
    let mut out = Vec::new();
    if policy.resources.is_empty() {
        out.push(SeedProblem {
            pointer: "/resources".into(),
            problem: "a policy needs at least one resource".into(),
        });
    }
    for (key, value) in &policy.resources {
        let escaped = key.replace('~', "~0").replace('/', "~1");
        let ok = key == ALL_ACCOUNTS_RESOURCE
            || key
                .strip_prefix(ACCOUNT_RESOURCE_PREFIX)
                .is_some_and(formats::is_account_id);
        if !ok {
            out.push(SeedProblem {
                pointer: format!("/resources/{escaped}"),
                problem: format!("unsupported resource {key}: use com.cloudflare.api.account.<account id> or com.cloudflare.api.account.*"),
            });
        } else if value != "*" {
            out.push(SeedProblem {
                pointer: format!("/resources/{escaped}"),
                problem: "resource value must be \"*\"".into(),
            });
        }
    }
    if policy.permission_groups.is_empty() {
        out.push(SeedProblem {
            pointer: "/permission_groups".into(),
            problem: "a policy needs at least one permission group".into(),
        });
    }
    for (g, group) in policy.permission_groups.iter().enumerate() {
        if PermissionGroup::from_name(&group.name).is_none() {
            out.push(SeedProblem {
                pointer: format!("/permission_groups/{g}/name"),
                problem: format!("unknown permission group {:?}", group.name),
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn problems(json: &str) -> Vec<String> {
        match parse(json.as_bytes()) {
            Ok(_) => vec![],
            Err(e) => e.problems.iter().map(|p| p.to_string()).collect(),
        }
    }

    #[test]
    fn demo_seed_is_valid() {
        let seed = parse(DEMO_SEED.as_bytes()).expect("demo seed");
        assert_eq!(seed.user_count(), 1);
        assert_eq!(seed.tokens.len(), 1);
        assert_eq!(seed.members.len(), 1);
    }

    #[test]
    fn bad_json_and_wrong_types_are_located() {
        assert!(problems("{").iter().all(|p| p.contains("invalid JSON")));
        assert_eq!(
            problems(r#"{"accounts":[{"id":"699d98642c564d2e855e9661899b7252","name":"x","seat_limit":"many"}]}"#)
                .len(),
            1
        );
        let p = problems(r#"{"accounts":[{"id":"699d98642c564d2e855e9661899b7252","name":"x","seat_limit":"many"}]}"#);
        assert!(p[0].starts_with("/accounts/0/seat_limit: "), "{p:?}");
        let p = problems(r#"{"acounts":[]}"#);
        assert!(p[0].contains("unknown field `acounts`"), "{p:?}");
    }

    #[test]
    fn reports_every_problem_with_its_pointer() {
        let p = problems(
            r#"{"accounts":[{"id":"699d98642c564d2e855e9661899b7252","name":"x","seat_limit":1,"users":[
                {"email":"a@x.com","access_seat":true},{"email":"A@X.com","gateway_seat":true}]}],
               "members":[{"email":"m@x.com","api_key":"short","accounts":["00000000000000000000000000000000"]}],
               "tokens":[{"name":"t","value":"tok","policies":[{"effect":"allow",
                 "resources":{"com.cloudflare.api.account.*":"*"},"permission_groups":[{"name":"Seats Admin"}]}]}]}"#,
        );
        assert_eq!(
            p,
            vec![
                "/accounts/0/users/1/email: duplicate email A@X.com (first at /accounts/0/users/0)",
                "/accounts/0/seat_limit: account over its limit: 2 users hold a seat, seat_limit is 1",
                "/members/0/api_key: api_key must be 32-64 ASCII letters and digits",
                "/members/0/accounts/0: unknown account 00000000000000000000000000000000",
                "/tokens/0/policies/0/permission_groups/0/name: unknown permission group \"Seats Admin\"",
            ]
        );
    }

    #[test]
    fn devices_need_a_gateway_seat() {
        let p = problems(
            r#"{"accounts":[{"id":"699d98642c564d2e855e9661899b7252","name":"x","users":[
                {"email":"a@x.com","access_seat":true,"active_device_count":2}]}]}"#,
        );
        assert_eq!(p.len(), 1);
        assert!(p[0].starts_with("/accounts/0/users/0/active_device_count: "));
    }
}
