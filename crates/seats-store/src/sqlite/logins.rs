//! Logins: a user's authentication through Access or Gateway, and what it leaves (sessions,
//! devices, login records).

use async_trait::async_trait;
use rusqlite::{params, Connection};
use seats_types::Timestamp;

use super::accounts::seat_usage;
use super::audit::audit;
use super::users::{insert_user, must_user, rename_user, user_by_email, user_by_id};
use super::{select_all, select_opt, SqliteStore};
use crate::model::*;
use crate::rows;
use crate::rules::{self, user_json, SESSION_LIFETIME_US};
use crate::{LoginStore, StoreError, StoreResult};

pub(super) fn user_activity(
    conn: &Connection,
    account_id: &str,
    user_id: &str,
    now: Timestamp,
) -> StoreResult<Option<UserActivity>> {
    let Some(user) = user_by_id(conn, account_id, user_id, now)? else {
        return Ok(None);
    };
    let sql = crate::value::sqlite_placeholders;
    let sessions = select_all(
        conn,
        &sql(rows::ACTIVE_SESSIONS),
        params![user.id, now.unix_micros()],
        rows::session,
    )?;
    let devices = select_all(conn, &sql(rows::ACTIVE_DEVICES), [&user.id], rows::device)?;
    let failed_logins = select_all(conn, &sql(rows::FAILED_LOGINS), [&user.id], rows::login)?;
    let last_login = select_opt(conn, &sql(rows::LAST_LOGIN), [&user.id], rows::login)?;
    Ok(Some(UserActivity {
        sessions,
        devices,
        failed_logins,
        last_login,
    }))
}

fn record_login(
    conn: &Connection,
    user_id: &str,
    method: &LoginMethod,
    result: &LoginResult,
    now: Timestamp,
) -> StoreResult<()> {
    let reason = match result {
        LoginResult::Accepted => None,
        LoginResult::Refused { reason } => Some(reason.as_str()),
    };
    conn.prepare_cached(
        "INSERT INTO logins (user_id, at, via, device_id, succeeded, reason) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?
    .execute(params![
        user_id,
        now.unix_micros(),
        method.via().as_str(),
        method.device_id(),
        reason.is_none(),
        reason
    ])?;
    Ok(())
}

fn log_in(
    conn: &Connection,
    account_id: &str,
    login: &LoginRequest,
    actor: &Actor,
    now: Timestamp,
) -> StoreResult<LoginOutcome> {
    let (limit, _) = seat_usage(conn, account_id)?;
    let now_us = now.unix_micros();
    let mut user = match user_by_email(conn, account_id, &login.email, now)? {
        Some(u) => u,
        None => {
            let id = insert_user(conn, account_id, &login.email, login.name.as_deref().unwrap_or(""), now)?;
            let user = must_user(conn, account_id, &id, now)?;
            audit(
                conn,
                &AuditEvent::new(now, Some(account_id), actor, AuditAction::UserCreate, &id).after(&user_json(&user)),
            )?;
            user
        }
    };
    if let Some(name) = login.name.as_deref().filter(|n| *n != user.name) {
        user = rename_user(conn, account_id, &user.id, name, actor, now)?;
    }
    let holds = user.access_seat || user.gateway_seat;
    if !holds {
        let (_, used) = seat_usage(conn, account_id)?;
        if used >= limit {
            record_login(
                conn,
                &user.id,
                &login.method,
                &LoginResult::Refused {
                    reason: "seat_limit_reached".into(),
                },
                now,
            )?;
            let detail = rules::login_refused_json(login.method.via(), used, limit);
            audit(
                conn,
                &AuditEvent::new(now, Some(account_id), actor, AuditAction::LoginRefused, &user.seat_uid)
                    .after(&detail),
            )?;
            return Ok(LoginOutcome {
                user,
                refused: Some((used, limit)),
            });
        }
    }
    let before = rules::seats_json(user.access_seat, user.gateway_seat);
    match &login.method {
        LoginMethod::Access => {
            conn.prepare_cached("INSERT INTO sessions (id, user_id, created_at, expires_at) VALUES (?1, ?2, ?3, ?4)")?
                .execute(params![
                    uuid::Uuid::new_v4().to_string(),
                    user.id,
                    now_us,
                    now_us + SESSION_LIFETIME_US
                ])?;
        }
        LoginMethod::Gateway { device_id: device } => {
            conn.prepare_cached(
                "INSERT INTO devices (id, user_id, device_id, registered_at, last_seen_at) VALUES (?1, ?2, ?3, ?4, ?4)
                 ON CONFLICT (user_id, device_id) DO UPDATE SET last_seen_at = excluded.last_seen_at",
            )?
            .execute(params![uuid::Uuid::new_v4().to_string(), user.id, device, now_us])?;
        }
    }
    let (access, gateway) = match login.method {
        LoginMethod::Access => (true, user.gateway_seat),
        LoginMethod::Gateway { .. } => (user.access_seat, true),
    };
    conn.prepare_cached(
        "UPDATE users SET access_seat = ?2, gateway_seat = ?3, holds_seat = 1, last_successful_login = ?4,
                updated_at = ?4, seat_granted_at = COALESCE(seat_granted_at, ?4) WHERE id = ?1",
    )?
    .execute(params![user.id, access, gateway, now_us])?;
    record_login(conn, &user.id, &login.method, &LoginResult::Accepted, now)?;
    let after = rules::seats_json(access, gateway);
    if before != after {
        audit(
            conn,
            &AuditEvent::new(now, Some(account_id), actor, AuditAction::SeatGrant, &user.seat_uid)
                .before(&before)
                .after(&after),
        )?;
    }
    Ok(LoginOutcome {
        user: must_user(conn, account_id, &user.id, now)?,
        refused: None,
    })
}

fn revoke_user(
    conn: &Connection,
    account_id: &str,
    revoke: &RevokeRequest,
    actor: &Actor,
    now: Timestamp,
) -> StoreResult<Revocation> {
    let user = user_by_email(conn, account_id, &revoke.email, now)?
        .filter(|u| {
            revoke
                .user_uid
                .as_deref()
                .is_none_or(|uid| uid.eq_ignore_ascii_case(&u.id))
        })
        .ok_or(StoreError::NotFound { positions: vec![] })?;
    let sessions = conn
        .prepare_cached("DELETE FROM sessions WHERE user_id = ?1")?
        .execute([&user.id])? as u64;
    let devices = match revoke.devices {
        true => conn
            .prepare_cached("UPDATE devices SET revoked_at = ?2 WHERE user_id = ?1 AND revoked_at IS NULL")?
            .execute(params![&user.id, now.unix_micros()])? as u64,
        false => 0,
    };
    let revocation = Revocation {
        user_id: user.id,
        sessions,
        devices,
    };
    audit(
        conn,
        &AuditEvent::new(
            now,
            Some(account_id),
            actor,
            AuditAction::UserRevoke,
            &revocation.user_id,
        )
        .after(&revocation.audit_json()),
    )?;
    Ok(revocation)
}

#[async_trait]
impl LoginStore for SqliteStore {
    async fn revoke_user(
        &self,
        account_id: &str,
        revoke: RevokeRequest,
        actor: Actor,
        now: Timestamp,
    ) -> StoreResult<Revocation> {
        let account_id = account_id.to_owned();
        self.writer
            .write(move |c| revoke_user(c, &account_id, &revoke, &actor, now))
            .await
    }

    async fn login(
        &self,
        account_id: &str,
        login: LoginRequest,
        actor: Actor,
        now: Timestamp,
    ) -> StoreResult<LoginOutcome> {
        let account_id = account_id.to_owned();
        self.writer
            .write(move |c| log_in(c, &account_id, &login, &actor, now))
            .await
    }

    async fn user_activity(
        &self,
        account_id: &str,
        user_id: &str,
        now: Timestamp,
    ) -> StoreResult<Option<UserActivity>> {
        let (account_id, user_id) = (account_id.to_owned(), user_id.to_owned());
        self.readers
            .read(move |c| user_activity(c, &account_id, &user_id, now))
            .await
    }
}
