//! Browsing an account's users page by page (the dashboard's users page), at a cost that does
//! not grow with the account or with how deep the page is.
//!
//! The API lists users by `page` and `per_page` (docs/contract.md §6), which reads every row before the
//! page and counts every match. Browsing instead walks the `(account_id, created_at, id)`
//! index from a key (key-set paging), and reads at most [`UserBrowse::scan`] rows of it per
//! page: a seat filter that matches few users returns a short page with a place to go on
//! from, rather than reading the whole account. No index names the seat flags: on
//! PostgreSQL that would stop seat changes from being rewritten in place (migration 0003).
//!
//! A `search` narrows through the same indexes as the API's `search`, so it costs what the
//! API's search costs; its matches then count against the scan, as rows do without one.

use std::fmt;
use std::str::FromStr;

use seats_types::Timestamp;

use crate::model::UserRecord;

/// Which users by the seats they hold.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum SeatFilter {
    #[default]
    Any,
    /// Holding the Access seat (whatever the Gateway seat).
    Access,
    /// Holding the Gateway seat (whatever the Access seat).
    Gateway,
    /// Holding either seat.
    Holding,
    /// Holding no seat.
    None,
}

impl SeatFilter {
    pub const ALL: [SeatFilter; 5] = [
        SeatFilter::Any,
        SeatFilter::Holding,
        SeatFilter::Access,
        SeatFilter::Gateway,
        SeatFilter::None,
    ];

    /// The name used in query strings.
    pub fn as_str(self) -> &'static str {
        match self {
            SeatFilter::Any => "any",
            SeatFilter::Access => "access",
            SeatFilter::Gateway => "gateway",
            SeatFilter::Holding => "holding",
            SeatFilter::None => "none",
        }
    }

    /// The condition on `users u`, in SQL both backends read (booleans on PostgreSQL,
    /// 0 and 1 on SQLite); `None` for no condition.
    pub(crate) fn sql(self) -> Option<&'static str> {
        match self {
            SeatFilter::Any => None,
            SeatFilter::Access => Some("u.access_seat"),
            SeatFilter::Gateway => Some("u.gateway_seat"),
            SeatFilter::Holding => Some("(u.access_seat OR u.gateway_seat)"),
            SeatFilter::None => Some("NOT (u.access_seat OR u.gateway_seat)"),
        }
    }
}

impl FromStr for SeatFilter {
    type Err = ();

    fn from_str(s: &str) -> Result<Self, ()> {
        SeatFilter::ALL.into_iter().find(|f| f.as_str() == s).ok_or(())
    }
}

/// A user's place in creation order: the paging key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserKey {
    pub created_at: Timestamp,
    pub id: String,
}

impl UserKey {
    pub fn of(user: &UserRecord) -> UserKey {
        UserKey {
            created_at: user.created_at,
            id: user.id.clone(),
        }
    }
}

/// `<microseconds>_<id>`, as it travels in a query string.
impl fmt::Display for UserKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}_{}", self.created_at.unix_micros(), self.id)
    }
}

impl FromStr for UserKey {
    type Err = ();

    fn from_str(s: &str) -> Result<Self, ()> {
        let (micros, id) = s.split_once('_').ok_or(())?;
        let created_at = Timestamp::from_unix_micros(micros.parse().map_err(|_| ())?).ok_or(())?;
        let id = uuid::Uuid::parse_str(id).map_err(|_| ())?.to_string();
        Ok(UserKey { created_at, id })
    }
}

/// One page to browse.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserBrowse {
    /// Substring of email or name, case-insensitive (the API's `search` rule).
    pub search: Option<String>,
    pub seat: SeatFilter,
    /// Start after this key (or before it, going `backward`); at the start (or the end) when
    /// `None`.
    pub from: Option<UserKey>,
    /// Walk toward older users: the page before `from`.
    pub backward: bool,
    /// Most users on the page.
    pub limit: u64,
    /// Most rows read to fill it.
    pub scan: u64,
}

/// A page of users, in creation order, and where the walk stopped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserBrowsePage {
    pub users: Vec<UserRecord>,
    /// The first row read (the newest going backward): the other way starts beyond it.
    pub first: Option<UserKey>,
    /// The last row the walk took in, when rows may remain beyond it in the direction read.
    pub resume: Option<UserKey>,
}

/// The rows of one walk, in the order read: each row's key and whether it matches.
pub(crate) struct Walk {
    pub ids: Vec<String>,
    pub first: Option<UserKey>,
    pub resume: Option<UserKey>,
}

/// Takes rows (read with `LIMIT scan`) until `limit` of them match.
pub(crate) fn walk(rows: impl IntoIterator<Item = (UserKey, bool)>, browse: &UserBrowse) -> Walk {
    let mut out = Walk {
        ids: Vec::new(),
        first: None,
        resume: None,
    };
    let mut read = 0u64;
    let mut last = None;
    for (key, hit) in rows {
        read += 1;
        if out.first.is_none() {
            out.first = Some(key.clone());
        }
        if hit {
            out.ids.push(key.id.clone());
        }
        if out.ids.len() as u64 >= browse.limit {
            out.resume = Some(key);
            return out;
        }
        last = Some(key);
    }
    if read >= browse.scan {
        out.resume = last;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(n: i64) -> UserKey {
        UserKey {
            created_at: Timestamp::from_unix_micros(n).unwrap(),
            id: uuid::Uuid::from_u128(n as u128).to_string(),
        }
    }

    fn browse(limit: u64, scan: u64) -> UserBrowse {
        UserBrowse {
            search: None,
            seat: SeatFilter::Any,
            from: None,
            backward: false,
            limit,
            scan,
        }
    }

    #[test]
    fn a_walk_stops_at_the_limit_the_scan_or_the_end() {
        let rows = |hits: &[bool]| {
            hits.iter()
                .enumerate()
                .map(|(i, h)| (key(i as i64 + 1), *h))
                .collect::<Vec<_>>()
        };
        // Full page: resumes after its last match.
        let w = walk(rows(&[true, false, true, true]), &browse(2, 10));
        assert_eq!(w.ids, [key(1).id, key(3).id]);
        assert_eq!((w.first, w.resume), (Some(key(1)), Some(key(3))));
        // The scan ran out first: resumes after the last row read.
        let w = walk(rows(&[false, true, false]), &browse(5, 3));
        assert_eq!(w.ids, [key(2).id]);
        assert_eq!(w.resume, Some(key(3)));
        // The end came first: nothing to resume.
        let w = walk(rows(&[false, true]), &browse(5, 3));
        assert_eq!((w.ids.len(), w.resume), (1, None));
        let w = walk(Vec::new(), &browse(5, 3));
        assert_eq!((w.first, w.resume), (None, None));
    }

    #[test]
    fn keys_and_filters_travel_as_text() {
        let k = key(1_700_000_000_000_000);
        assert_eq!(k.to_string().parse::<UserKey>(), Ok(k));
        assert!("12_not-a-uuid".parse::<UserKey>().is_err());
        assert!("x_00000000-0000-0000-0000-000000000001".parse::<UserKey>().is_err());
        for f in SeatFilter::ALL {
            assert_eq!(f.as_str().parse(), Ok(f));
        }
        assert!("both".parse::<SeatFilter>().is_err());
    }
}
