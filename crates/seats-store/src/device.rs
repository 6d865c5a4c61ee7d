//! Device registrations (docs/api.md, "Device registrations"): a device a user enrolled through
//! a WARP (Gateway) login, with its own id. A revoked registration stays listed but stops
//! counting as a device that is seen; a deleted one is gone.
//!
//! The SQL is written once for both backends here ([`Dialect`] says where they differ); each
//! backend binds the [`Value`]s and reads rows through [`Cells`].

use seats_types::Timestamp;

use crate::export::Cells;
use crate::listing::Dialect;
use crate::rows::ts;
use crate::value::Value;
use crate::{StoreError, StoreResult};

/// One registration, with its user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegistrationRecord {
    pub id: String,
    /// The WARP device's id.
    pub device_id: String,
    pub name: String,
    pub client_version: Option<String>,
    pub registered_at: Timestamp,
    pub last_seen_at: Timestamp,
    pub revoked_at: Option<Timestamp>,
    pub user_id: String,
    pub user_email: String,
    pub user_name: String,
}

/// Which registrations a listing shows, by their revocation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RegistrationStatus {
    /// Not revoked (Cloudflare's default).
    #[default]
    Active,
    Revoked,
    All,
}

/// The order of a listing (`sort_by`); ties go by registration id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RegistrationSort {
    Id,
    UserName,
    UserEmail,
    LastSeenAt,
    #[default]
    CreatedAt,
}

/// The filters of `GET …/devices/registrations`; the empty filter lists the active ones.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RegistrationFilter {
    pub ids: Vec<String>,
    pub device_id: Option<String>,
    pub user_ids: Vec<String>,
    pub status: RegistrationStatus,
    /// A substring of the user's email or name, or of the device's name, case-insensitive.
    pub search: Option<String>,
    pub seen_after: Option<Timestamp>,
    pub seen_before: Option<Timestamp>,
    pub sort: RegistrationSort,
    pub descending: bool,
}

/// A physical device: the WARP device behind one or more registrations of the account's users.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PhysicalDeviceRecord {
    /// The WARP device's id (`device.id` of its registrations).
    pub id: String,
    pub name: String,
    pub client_version: Option<String>,
    /// When its first registration was made.
    pub created_at: Timestamp,
    pub last_seen_at: Timestamp,
    /// Its registrations that are not revoked.
    pub active_registrations: u64,
    /// The user of the registration seen last.
    pub last_seen_user_id: String,
    pub last_seen_user_email: String,
    pub last_seen_user_name: String,
}

/// Which physical devices a listing shows, by their active registrations.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ActiveRegistrations {
    /// Every device (the default).
    #[default]
    Include,
    /// Only devices with at least one active registration.
    Only,
    /// Only devices whose registrations are all revoked.
    Exclude,
}

/// The order of a physical-device listing; ties go by device id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PhysicalDeviceSort {
    Id,
    Name,
    ClientVersion,
    LastSeenAt,
    ActiveRegistrations,
    #[default]
    CreatedAt,
}

/// The filters of `GET …/devices/physical-devices`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PhysicalDeviceFilter {
    pub ids: Vec<String>,
    pub active_registrations: ActiveRegistrations,
    /// A substring of a registration's device name or user email, case-insensitive.
    pub search: Option<String>,
    pub seen_after: Option<Timestamp>,
    pub seen_before: Option<Timestamp>,
    /// The email of the user seen last on the device, case-insensitive.
    pub last_seen_user_email: Option<String>,
    pub sort: PhysicalDeviceSort,
    pub descending: bool,
}

const COLUMNS: &str = "d.id, d.device_id, d.name, d.client_version, d.registered_at, d.last_seen_at, d.revoked_at,
                       u.id, u.email, u.name";

/// A statement with `$N` placeholders (the SQLite backend reads them as `?N`) and its values.
pub(crate) struct Query {
    pub sql: String,
    pub params: Vec<Value>,
}

impl Query {
    fn bind(&mut self, value: Value) -> String {
        self.params.push(value);
        format!("${}", self.params.len())
    }
}

/// `column` is one of the values of the list bound at `placeholder`.
fn any_of(dialect: Dialect, column: &str, placeholder: &str) -> String {
    match dialect {
        Dialect::Sqlite => format!("{column} IN (SELECT value FROM json_each({placeholder}))"),
        Dialect::Postgres => format!("{column} = ANY({placeholder})"),
    }
}

/// Text sorts in byte order on both backends, whatever PostgreSQL's collation.
fn text_order(dialect: Dialect, column: &str) -> String {
    match dialect {
        Dialect::Sqlite => column.to_owned(),
        Dialect::Postgres => format!("{column} COLLATE \"C\""),
    }
}

/// `%` and `_` of a search are literal.
fn like_pattern(search: &str) -> String {
    let mut out = String::from("%");
    for c in search.to_lowercase().chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('%');
    out
}

/// One page of the account's registrations matching `filter`.
pub(crate) fn list(dialect: Dialect, account_id: &str, filter: &RegistrationFilter, offset: u64, limit: u64) -> Query {
    let mut q = Query {
        sql: String::new(),
        params: Vec::new(),
    };
    let mut conditions = vec![format!("u.account_id = {}", q.bind(account_id.into()))];
    if !filter.ids.is_empty() {
        let p = q.bind(Value::List(filter.ids.clone()));
        conditions.push(any_of(dialect, "d.id", &p));
    }
    if let Some(device) = &filter.device_id {
        conditions.push(format!("d.device_id = {}", q.bind(device.as_str().into())));
    }
    if !filter.user_ids.is_empty() {
        let p = q.bind(Value::List(
            filter.user_ids.iter().map(|u| u.to_ascii_lowercase()).collect(),
        ));
        conditions.push(any_of(dialect, "d.user_id", &p));
    }
    match filter.status {
        RegistrationStatus::Active => conditions.push("d.revoked_at IS NULL".into()),
        RegistrationStatus::Revoked => conditions.push("d.revoked_at IS NOT NULL".into()),
        RegistrationStatus::All => {}
    }
    if let Some(search) = &filter.search {
        let p = q.bind(like_pattern(search).into());
        conditions.push(format!(
            "(lower(u.email) LIKE {p} ESCAPE '\\' OR lower(u.name) LIKE {p} ESCAPE '\\' OR lower(d.name) LIKE {p} ESCAPE '\\')"
        ));
    }
    if let Some(after) = filter.seen_after {
        conditions.push(format!("d.last_seen_at > {}", q.bind(after.unix_micros().into())));
    }
    if let Some(before) = filter.seen_before {
        conditions.push(format!("d.last_seen_at < {}", q.bind(before.unix_micros().into())));
    }
    let column = match filter.sort {
        RegistrationSort::Id => text_order(dialect, "d.id"),
        RegistrationSort::UserName => text_order(dialect, "u.name"),
        RegistrationSort::UserEmail => text_order(dialect, "u.email"),
        RegistrationSort::LastSeenAt => "d.last_seen_at".into(),
        RegistrationSort::CreatedAt => "d.registered_at".into(),
    };
    let direction = if filter.descending { "DESC" } else { "ASC" };
    let clamp = |n: u64| Value::Int(i64::try_from(n).unwrap_or(i64::MAX));
    let (limit, offset) = (q.bind(clamp(limit)), q.bind(clamp(offset)));
    q.sql = format!(
        "SELECT {COLUMNS} FROM devices d JOIN users u ON u.id = d.user_id WHERE {} \
         ORDER BY {column} {direction}, {} {direction} LIMIT {limit} OFFSET {offset}",
        conditions.join(" AND "),
        text_order(dialect, "d.id"),
    );
    q
}

/// The last-seen user's `column` of the device `g.device_id` in the account bound at `$1`.
fn last_seen_user(column: &str) -> String {
    format!(
        "(SELECT u2.{column} FROM devices d2 JOIN users u2 ON u2.id = d2.user_id
          WHERE d2.device_id = g.device_id AND u2.account_id = $1 ORDER BY d2.last_seen_at DESC, d2.id LIMIT 1)"
    )
}

/// One page of the account's physical devices matching `filter` (or, with `only`, the one
/// device of that id).
pub(crate) fn physical(
    dialect: Dialect,
    account_id: &str,
    filter: &PhysicalDeviceFilter,
    only: Option<&str>,
    offset: u64,
    limit: u64,
) -> Query {
    let mut q = Query {
        sql: String::new(),
        params: Vec::new(),
    };
    let account = q.bind(account_id.into());
    let mut conditions = vec![format!("u.account_id = {account}")];
    if let Some(id) = only {
        conditions.push(format!("d.device_id = {}", q.bind(id.into())));
    }
    if !filter.ids.is_empty() {
        let p = q.bind(Value::List(filter.ids.clone()));
        conditions.push(any_of(dialect, "d.device_id", &p));
    }
    let mut having = Vec::new();
    match filter.active_registrations {
        ActiveRegistrations::Include => {}
        ActiveRegistrations::Only => {
            having.push("SUM(CASE WHEN d.revoked_at IS NULL THEN 1 ELSE 0 END) > 0".to_owned())
        }
        ActiveRegistrations::Exclude => {
            having.push("SUM(CASE WHEN d.revoked_at IS NULL THEN 1 ELSE 0 END) = 0".to_owned())
        }
    }
    if let Some(search) = &filter.search {
        let p = q.bind(like_pattern(search).into());
        having.push(format!(
            "SUM(CASE WHEN lower(u.email) LIKE {p} ESCAPE '\\' OR lower(d.name) LIKE {p} ESCAPE '\\' THEN 1 ELSE 0 END) > 0"
        ));
    }
    if let Some(after) = filter.seen_after {
        having.push(format!("MAX(d.last_seen_at) > {}", q.bind(after.unix_micros().into())));
    }
    if let Some(before) = filter.seen_before {
        having.push(format!("MAX(d.last_seen_at) < {}", q.bind(before.unix_micros().into())));
    }
    let column = match filter.sort {
        PhysicalDeviceSort::Id => text_order(dialect, "g.device_id"),
        PhysicalDeviceSort::Name => text_order(dialect, "g.name"),
        PhysicalDeviceSort::ClientVersion => text_order(dialect, "g.client_version"),
        PhysicalDeviceSort::LastSeenAt => "g.last_seen_at".into(),
        PhysicalDeviceSort::ActiveRegistrations => "g.active".into(),
        PhysicalDeviceSort::CreatedAt => "g.created_at".into(),
    };
    let direction = if filter.descending { "DESC" } else { "ASC" };
    let clamp = |n: u64| Value::Int(i64::try_from(n).unwrap_or(i64::MAX));
    let outer = match &filter.last_seen_user_email {
        Some(email) => format!(
            "WHERE lower({}) = lower({})",
            last_seen_user("email"),
            q.bind(email.as_str().into())
        ),
        None => String::new(),
    };
    let (limit, offset) = (q.bind(clamp(limit)), q.bind(clamp(offset)));
    let having = match having.is_empty() {
        true => String::new(),
        false => format!("HAVING {}", having.join(" AND ")),
    };
    q.sql = format!(
        "SELECT g.device_id, g.name, g.client_version, g.created_at, g.last_seen_at, g.active, {}, {}, {}
         FROM (SELECT d.device_id, MAX(d.name) AS name, MAX(d.client_version) AS client_version,
                      MIN(d.registered_at) AS created_at, MAX(d.last_seen_at) AS last_seen_at,
                      SUM(CASE WHEN d.revoked_at IS NULL THEN 1 ELSE 0 END) AS active
               FROM devices d JOIN users u ON u.id = d.user_id WHERE {} GROUP BY d.device_id {having}) g
         {outer}
         ORDER BY {column} {direction}, {} {direction} LIMIT {limit} OFFSET {offset}",
        last_seen_user("id"),
        last_seen_user("email"),
        last_seen_user("name"),
        conditions.join(" AND "),
        text_order(dialect, "g.device_id"),
    );
    q
}

/// The account's registrations of the physical device `device_id` (one column: the id).
pub(crate) fn of_physical(account_id: &str, device_id: &str) -> Query {
    Query {
        sql: "SELECT d.id FROM devices d JOIN users u ON u.id = d.user_id
              WHERE u.account_id = $1 AND d.device_id = $2 ORDER BY d.id"
            .into(),
        params: vec![account_id.into(), device_id.into()],
    }
}

/// A row of [`physical`].
pub(crate) fn physical_from_cells(r: &dyn Cells) -> StoreResult<PhysicalDeviceRecord> {
    Ok(PhysicalDeviceRecord {
        id: r.text(0)?,
        name: r.text(1)?,
        client_version: r.opt_text(2)?,
        created_at: ts(r.int(3)?)?,
        last_seen_at: ts(r.int(4)?)?,
        active_registrations: u64::try_from(r.int(5)?).map_err(StoreError::other)?,
        last_seen_user_id: r.text(6)?,
        last_seen_user_email: r.text(7)?,
        last_seen_user_name: r.text(8)?,
    })
}

/// The account's registration `id`.
pub(crate) fn one(account_id: &str, id: &str) -> Query {
    Query {
        sql: format!(
            "SELECT {COLUMNS} FROM devices d JOIN users u ON u.id = d.user_id WHERE d.id = $1 AND u.account_id = $2"
        ),
        params: vec![id.into(), account_id.into()],
    }
}

/// Which of `ids` are registrations of the account (one column: the id).
pub(crate) fn existing(dialect: Dialect, account_id: &str, ids: &[String]) -> Query {
    let mut q = Query {
        sql: String::new(),
        params: Vec::new(),
    };
    let account = q.bind(account_id.into());
    let list = q.bind(Value::List(ids.to_vec()));
    q.sql = format!(
        "SELECT d.id FROM devices d JOIN users u ON u.id = d.user_id WHERE u.account_id = {account} AND {}",
        any_of(dialect, "d.id", &list)
    );
    q
}

/// [`StoreError::NotFound`] naming the places in `ids` of those not `found`, if any.
pub(crate) fn check_found(ids: &[String], found: &[String]) -> StoreResult<()> {
    let positions: Vec<usize> = ids
        .iter()
        .enumerate()
        .filter(|(_, id)| !found.contains(id))
        .map(|(i, _)| i)
        .collect();
    match positions.is_empty() {
        true => Ok(()),
        false => Err(StoreError::NotFound { positions }),
    }
}

/// Revokes (at `now`) or unrevokes the registration `id`; what was already so stays.
pub(crate) fn set_revoked(id: &str, revoked: bool, now: Timestamp) -> Query {
    match revoked {
        true => Query {
            sql: "UPDATE devices SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL".into(),
            params: vec![id.into(), now.unix_micros().into()],
        },
        false => Query {
            sql: "UPDATE devices SET revoked_at = NULL WHERE id = $1 AND revoked_at IS NOT NULL".into(),
            params: vec![id.into()],
        },
    }
}

/// Deletes the registration `id`.
pub(crate) fn delete(id: &str) -> Query {
    Query {
        sql: "DELETE FROM devices WHERE id = $1".into(),
        params: vec![id.into()],
    }
}

/// A row of [`list`] or [`one`].
pub(crate) fn from_cells(r: &dyn Cells) -> StoreResult<RegistrationRecord> {
    Ok(RegistrationRecord {
        id: r.text(0)?,
        device_id: r.text(1)?,
        name: r.text(2)?,
        client_version: r.opt_text(3)?,
        registered_at: ts(r.int(4)?)?,
        last_seen_at: ts(r.int(5)?)?,
        revoked_at: r.opt_int(6)?.map(ts).transpose()?,
        user_id: r.text(7)?,
        user_email: r.text(8)?,
        user_name: r.text(9)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn searches_are_literal_and_lower_case() {
        assert_eq!(like_pattern("A_b%c\\"), "%a\\_b\\%c\\\\%");
    }

    #[test]
    fn only_the_filters_given_are_in_the_statement() {
        let q = list(Dialect::Sqlite, "acc", &RegistrationFilter::default(), 0, 10);
        assert!(
            q.sql.contains("d.revoked_at IS NULL") && !q.sql.contains("LIKE"),
            "{}",
            q.sql
        );
        assert_eq!(q.params.len(), 3, "account, limit, offset");
        let filter = RegistrationFilter {
            ids: vec!["r".into()],
            status: RegistrationStatus::All,
            search: Some("x".into()),
            sort: RegistrationSort::UserEmail,
            descending: true,
            ..Default::default()
        };
        let q = list(Dialect::Postgres, "acc", &filter, 5, 10);
        assert!(
            q.sql.contains("d.id = ANY($2)") && !q.sql.contains("revoked_at IS"),
            "{}",
            q.sql
        );
        assert!(
            q.sql
                .contains("ORDER BY u.email COLLATE \"C\" DESC, d.id COLLATE \"C\" DESC"),
            "{}",
            q.sql
        );
    }

    #[test]
    fn missing_ids_are_named_by_place() {
        let ids = ["a".to_owned(), "b".to_owned(), "c".to_owned()];
        assert!(check_found(&ids, &ids).is_ok());
        assert!(matches!(
            check_found(&ids, &["b".to_owned()]),
            Err(StoreError::NotFound { positions }) if positions == [0, 2]
        ));
    }
}
