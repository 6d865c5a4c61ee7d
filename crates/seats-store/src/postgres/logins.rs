//! Logins: a user's authentication through Access or Gateway, and what it leaves (sessions,
//! devices, login records).

use async_trait::async_trait;
use deadpool_postgres::GenericClient;
use seats_types::{formats, Timestamp};

use super::accounts::{account_exists, lock_account};
use super::audit::audit;
use super::users::{created, insert_user, must_user, rename_user, user_by};
use super::{execute, query_opt, read, select_all, select_opt, write_tx, PgStore};
use crate::model::*;
use crate::rows;
use crate::rules::{self, SESSION_LIFETIME_US};
use crate::{LoginStore, StoreError, StoreResult};

pub(super) async fn user_activity(
    db: &impl GenericClient,
    account_id: &str,
    user_id: &str,
    now: Timestamp,
) -> StoreResult<Option<UserActivity>> {
    let Some(user) = user_by(db, "id", account_id, &user_id.to_ascii_lowercase(), now).await? else {
        return Ok(None);
    };
    let sessions = select_all(
        db,
        rows::ACTIVE_SESSIONS,
        &[&user.id, &now.unix_micros()],
        rows::session,
    )
    .await?;
    let devices = select_all(db, rows::ACTIVE_DEVICES, &[&user.id], rows::device).await?;
    let failed_logins = select_all(db, rows::FAILED_LOGINS, &[&user.id], rows::login).await?;
    let last_login = select_opt(db, rows::LAST_LOGIN, &[&user.id], rows::login).await?;
    Ok(Some(UserActivity {
        sessions,
        devices,
        failed_logins,
        last_login,
    }))
}

async fn record_login(
    db: &impl GenericClient,
    user_id: &str,
    method: &LoginMethod,
    result: &LoginResult,
    now: Timestamp,
) -> StoreResult<()> {
    let reason = match result {
        LoginResult::Accepted => None,
        LoginResult::Refused { reason } => Some(reason.as_str()),
    };
    execute(
        db,
        "INSERT INTO logins (user_id, at, via, device_id, succeeded, reason) VALUES ($1, $2, $3, $4, $5, $6)",
        &[
            &user_id,
            &now.unix_micros(),
            &method.via().as_str(),
            &method.device_id(),
            &reason.is_none(),
            &reason,
        ],
    )
    .await?;
    Ok(())
}

async fn log_in(
    db: &impl GenericClient,
    account_id: &str,
    login: &LoginRequest,
    actor: &Actor,
    now: Timestamp,
) -> StoreResult<LoginOutcome> {
    if !account_exists(db, account_id).await? {
        return Err(StoreError::NotFound { positions: vec![] });
    }
    let now_us = now.unix_micros();
    let email_key = formats::email_key(&login.email);
    // A new user is inserted (a concurrent first login of the same email waits on the unique
    // index and then finds this one); an existing one is locked.
    let mut user = match insert_user(db, account_id, &login.email, login.name.as_deref().unwrap_or(""), now).await? {
        Some(id) => created(db, account_id, &id, actor, now).await?,
        None => {
            let id: String = query_opt(
                db,
                "SELECT id FROM users WHERE account_id = $1 AND email_key = $2 FOR NO KEY UPDATE",
                &[&account_id, &email_key],
            )
            .await?
            .ok_or_else(|| StoreError::other("user vanished during login"))?
            .try_get(0)?;
            must_user(db, account_id, &id, now).await?
        }
    };
    if let Some(name) = login.name.as_deref().filter(|n| *n != user.name) {
        user = rename_user(db, account_id, &user.id, name, actor, now).await?;
    }
    let holds = user.access_seat || user.gateway_seat;
    if !holds {
        let (limit, used) = lock_account(db, account_id).await?;
        if used >= limit {
            record_login(
                db,
                &user.id,
                &login.method,
                &LoginResult::Refused {
                    reason: "seat_limit_reached".into(),
                },
                now,
            )
            .await?;
            let detail = rules::login_refused_json(login.method.via(), used, limit);
            audit(
                db,
                &AuditEvent::new(now, Some(account_id), actor, AuditAction::LoginRefused, &user.seat_uid)
                    .after(&detail),
            )
            .await?;
            return Ok(LoginOutcome {
                user,
                refused: Some((used, limit)),
            });
        }
    }
    let before = rules::seats_json(user.access_seat, user.gateway_seat);
    match &login.method {
        LoginMethod::Access => {
            execute(
                db,
                "INSERT INTO sessions (id, user_id, created_at, expires_at) VALUES ($1, $2, $3, $4)",
                &[
                    &uuid::Uuid::new_v4().to_string(),
                    &user.id,
                    &now_us,
                    &(now_us + SESSION_LIFETIME_US),
                ],
            )
            .await?;
        }
        LoginMethod::Gateway { device_id: device } => {
            execute(
                db,
                "INSERT INTO devices (user_id, device_id, registered_at, last_seen_at) VALUES ($1, $2, $3, $3)
                 ON CONFLICT (user_id, device_id) DO UPDATE SET last_seen_at = excluded.last_seen_at",
                &[&user.id, &device, &now_us],
            )
            .await?;
        }
    }
    let (access, gateway) = match login.method {
        LoginMethod::Access => (true, user.gateway_seat),
        LoginMethod::Gateway { .. } => (user.access_seat, true),
    };
    execute(
        db,
        "UPDATE users SET access_seat = $2, gateway_seat = $3, last_successful_login = $4, updated_at = $4,
                seat_granted_at = COALESCE(seat_granted_at, $4) WHERE id = $1",
        &[&user.id, &access, &gateway, &now_us],
    )
    .await?;
    record_login(db, &user.id, &login.method, &LoginResult::Accepted, now).await?;
    let after = rules::seats_json(access, gateway);
    if before != after {
        audit(
            db,
            &AuditEvent::new(now, Some(account_id), actor, AuditAction::SeatGrant, &user.seat_uid)
                .before(&before)
                .after(&after),
        )
        .await?;
    }
    Ok(LoginOutcome {
        user: must_user(db, account_id, &user.id, now).await?,
        refused: None,
    })
}

async fn revoke_user(
    db: &impl GenericClient,
    account_id: &str,
    revoke: &RevokeRequest,
    actor: &Actor,
    now: Timestamp,
) -> StoreResult<Revocation> {
    let user = user_by(db, "email_key", account_id, &formats::email_key(&revoke.email), now)
        .await?
        .filter(|u| {
            revoke
                .user_uid
                .as_deref()
                .is_none_or(|uid| uid.eq_ignore_ascii_case(&u.id))
        })
        .ok_or(StoreError::NotFound { positions: vec![] })?;
    let sessions = execute(db, "DELETE FROM sessions WHERE user_id = $1", &[&user.id]).await?;
    let devices = match revoke.devices {
        true => {
            execute(
                db,
                "UPDATE devices SET revoked_at = $2 WHERE user_id = $1 AND revoked_at IS NULL",
                &[&user.id, &now.unix_micros()],
            )
            .await?
        }
        false => 0,
    };
    let revocation = Revocation {
        user_id: user.id,
        sessions,
        devices,
    };
    audit(
        db,
        &AuditEvent::new(
            now,
            Some(account_id),
            actor,
            AuditAction::UserRevoke,
            &revocation.user_id,
        )
        .after(&revocation.audit_json()),
    )
    .await?;
    Ok(revocation)
}

#[async_trait]
impl LoginStore for PgStore {
    async fn revoke_user(
        &self,
        account_id: &str,
        revoke: RevokeRequest,
        actor: Actor,
        now: Timestamp,
    ) -> StoreResult<Revocation> {
        write_tx!(self, |tx| revoke_user(&tx, account_id, &revoke, &actor, now))
    }

    async fn login(
        &self,
        account_id: &str,
        login: LoginRequest,
        actor: Actor,
        now: Timestamp,
    ) -> StoreResult<LoginOutcome> {
        write_tx!(self, |tx| log_in(&tx, account_id, &login, &actor, now))
    }

    async fn user_activity(
        &self,
        account_id: &str,
        user_id: &str,
        now: Timestamp,
    ) -> StoreResult<Option<UserActivity>> {
        read!(self, |db| user_activity(db, account_id, user_id, now))
    }
}
