//! What every backend decides the same way: when a batch breaks the seat limit, how an
//! organization update merges, how long a session lives, and the shapes audit events record.
//! Backends keep the SQL; the rules live here once.

use serde_json::{json, Map, Value};

use crate::model::{AccountRecord, OrganizationRecord, UserRecord, Via};
use crate::{Conflict, StoreError, StoreResult};

/// Lifetime of an Access session opened by a login or a seed [ours].
pub(crate) const SESSION_LIFETIME_HOURS: i64 = 24;
pub(crate) const SESSION_LIFETIME_US: i64 = SESSION_LIFETIME_HOURS * 3_600_000_000;

/// A batch that takes `taken` seats and frees `freed` in an account using `used` of `limit`
/// is refused if it raises seats in use above the limit; one that does not raise them (a swap,
/// or frees only) passes even over the limit.
pub(crate) fn judge_batch(used: u64, limit: u64, taken: u64, freed: u64) -> StoreResult<()> {
    let after = (used + taken).saturating_sub(freed);
    if after > used && after > limit {
        return Err(StoreError::SeatLimit { used, limit });
    }
    Ok(())
}

/// The moment before which a seat holder's last activity makes its seat expire, under the
/// organization `org` (its stored JSON) at `now`; `None` when the organization sets no
/// (valid) `user_seat_expiration_inactive_time`.
pub(crate) fn expiry_cutoff(org: &str, now: seats_types::Timestamp) -> StoreResult<Option<i64>> {
    let org: Map<String, Value> = serde_json::from_str(org).map_err(StoreError::other)?;
    let Some(Value::String(window)) = org.get("user_seat_expiration_inactive_time") else {
        return Ok(None);
    };
    let Ok(window) = seats_types::parse_go_duration(window) else {
        return Ok(None);
    };
    let window_us = i64::try_from(window.as_micros()).unwrap_or(i64::MAX);
    Ok(Some(now.unix_micros().saturating_sub(window_us)))
}

/// The audit action of a seat edit that changed something.
pub(crate) fn seat_edit_action(access: bool, gateway: bool) -> crate::model::AuditAction {
    if !access && !gateway {
        crate::model::AuditAction::SeatRemove
    } else {
        crate::model::AuditAction::SeatUpdate
    }
}

/// A seat's flags as audit events record them.
pub(crate) fn seats_json(access: bool, gateway: bool) -> Value {
    json!({"access_seat": access, "gateway_seat": gateway})
}

/// [`seats_json`] as text, without building it: a batch writes one per seat it changes.
pub(crate) fn seats_json_text(access: bool, gateway: bool) -> &'static str {
    match (access, gateway) {
        (false, false) => r#"{"access_seat":false,"gateway_seat":false}"#,
        (false, true) => r#"{"access_seat":false,"gateway_seat":true}"#,
        (true, false) => r#"{"access_seat":true,"gateway_seat":false}"#,
        (true, true) => r#"{"access_seat":true,"gateway_seat":true}"#,
    }
}

pub(crate) fn user_json(u: &UserRecord) -> Value {
    json!({"email": u.email, "name": u.name, "seat_uid": u.seat_uid,
           "access_seat": u.access_seat, "gateway_seat": u.gateway_seat})
}

pub(crate) fn account_json(a: &AccountRecord) -> Value {
    json!({"name": a.name, "seat_limit": a.seat_limit})
}

/// What a refused login records.
pub(crate) fn login_refused_json(via: Via, used: u64, limit: u64) -> Value {
    json!({"via": via.as_str(), "reason": "seat_limit_reached", "used": used, "limit": limit})
}

/// What a PUT or POST of an organization does to the one stored.
pub(crate) enum OrganizationWrite {
    /// Nothing changes: the stored organization stands.
    Unchanged(OrganizationRecord),
    /// Store `fields`; `before` is the previous organization's, if there was one.
    Write {
        fields: Map<String, Value>,
        before: Option<Map<String, Value>>,
    },
}

impl OrganizationWrite {
    pub(crate) fn action(before: &Option<Map<String, Value>>) -> crate::model::AuditAction {
        if before.is_some() {
            crate::model::AuditAction::OrganizationUpdate
        } else {
            crate::model::AuditAction::OrganizationCreate
        }
    }
}

/// Creating needs no organization yet ([`StoreError::Conflict`]); updating needs one
/// ([`StoreError::NotFound`]) and merges the given fields into it.
pub(crate) fn merge_organization(
    existing: Option<OrganizationRecord>,
    fields: Map<String, Value>,
    change: crate::model::OrganizationChange,
) -> StoreResult<OrganizationWrite> {
    use crate::model::OrganizationChange::{Create, Update};
    match (existing, change) {
        (Some(_), Create) => Err(StoreError::Conflict(Conflict::Organization)),
        (None, Update) => Err(StoreError::NotFound { positions: vec![] }),
        (None, Create) => Ok(OrganizationWrite::Write { fields, before: None }),
        (Some(org), Update) => {
            let mut merged = org.fields.clone();
            merged.extend(fields);
            if merged == org.fields {
                return Ok(OrganizationWrite::Unchanged(org));
            }
            Ok(OrganizationWrite::Write {
                fields: merged,
                before: Some(org.fields),
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_seat_s_flags_as_text_are_its_json_written_out() {
        for access in [false, true] {
            for gateway in [false, true] {
                assert_eq!(
                    seats_json_text(access, gateway),
                    seats_json(access, gateway).to_string()
                );
            }
        }
    }

    #[test]
    fn a_batch_may_not_raise_usage_above_the_limit() {
        assert!(judge_batch(4, 5, 1, 0).is_ok());
        assert!(matches!(
            judge_batch(5, 5, 1, 0),
            Err(StoreError::SeatLimit { used: 5, limit: 5 })
        ));
        assert!(judge_batch(5, 5, 1, 1).is_ok(), "a swap keeps usage level");
        assert!(judge_batch(7, 5, 1, 2).is_ok(), "over the limit, freeing is fine");
        assert!(judge_batch(7, 5, 2, 1).is_err());
    }
}
