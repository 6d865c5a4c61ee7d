//! `seats users`: the users API (list, get, create, update, delete) and revoking a user's
//! access (`POST …/access/organizations/revoke_user`).

use std::io::IsTerminal;

use clap::{Args, Subcommand};
use futures::TryStreamExt;
use seats_client::{RevokeUsersParams, User, UserListParams, UserNewParams, UserUpdateParams};

use crate::api::{ApiArgs, CliError};
use crate::output;

#[derive(Debug, Args)]
pub struct UsersArgs {
    /// The account's identifier.
    #[arg(long, env = "CLOUDFLARE_ACCOUNT_ID", global = true)]
    account_id: Option<String>,
    #[command(flatten)]
    api: ApiArgs,
    #[command(subcommand)]
    command: UsersCommand,
}

#[derive(Debug, Subcommand)]
enum UsersCommand {
    /// List users (one page, or --all).
    List {
        /// Only the user with this email (case-insensitive).
        #[arg(long)]
        email: Option<String>,
        /// Only users with exactly this name.
        #[arg(long)]
        name: Option<String>,
        /// Users whose email or name contains this.
        #[arg(long)]
        search: Option<String>,
        #[arg(long)]
        page: Option<u64>,
        /// 1 to 1000.
        #[arg(long)]
        per_page: Option<u64>,
        /// Every page.
        #[arg(long, conflicts_with = "page")]
        all: bool,
    },
    /// Show one user.
    Get { user_id: String },
    /// Create a user (holding no seat).
    Create {
        #[arg(long)]
        email: String,
        #[arg(long)]
        name: Option<String>,
    },
    /// Rename a user (the email cannot change).
    Update {
        user_id: String,
        /// The user's current email.
        #[arg(long)]
        email: String,
        #[arg(long)]
        name: String,
    },
    /// Remove a user, freeing their seat.
    Delete { user_id: String },
    /// End a user's sessions (and with --devices, its devices); the user keeps its seats.
    Revoke {
        /// The user's email.
        #[arg(long)]
        email: String,
        /// Revoke the user's devices too.
        #[arg(long)]
        devices: bool,
        /// The user's id: refused if it is not the id of the user with --email.
        #[arg(long)]
        user_uid: Option<String>,
    },
}

pub async fn run(args: UsersArgs) -> Result<(), CliError> {
    let account_id = args
        .account_id
        .clone()
        .ok_or_else(|| CliError::Usage(anyhow::anyhow!("--account-id (or CLOUDFLARE_ACCOUNT_ID) is required")))?;
    let client = args.api.client()?;
    let users = client.zero_trust().access().users();
    let fail = |e| CliError::from_call(e, client.base_url());
    let shown: Vec<User> = match args.command {
        UsersCommand::List {
            email,
            name,
            search,
            page,
            per_page,
            all,
        } => {
            let params = UserListParams {
                account_id,
                email,
                name,
                search,
                page,
                per_page,
            };
            if all {
                users.list_auto_paging(params).try_collect().await.map_err(fail)?
            } else {
                users.list(&params).await.map_err(fail)?.result
            }
        }
        UsersCommand::Get { user_id } => vec![users.get(&account_id, &user_id).await.map_err(fail)?],
        UsersCommand::Create { email, name } => {
            vec![users
                .create(&UserNewParams {
                    account_id,
                    email,
                    name,
                })
                .await
                .map_err(fail)?]
        }
        UsersCommand::Update { user_id, email, name } => {
            vec![users
                .update(&UserUpdateParams {
                    account_id,
                    user_id,
                    email,
                    name,
                })
                .await
                .map_err(fail)?]
        }
        UsersCommand::Delete { user_id } => {
            users.delete(&account_id, &user_id).await.map_err(fail)?;
            if !args.api.json && std::io::stdout().is_terminal() {
                println!("deleted user {user_id}");
            }
            return Ok(());
        }
        UsersCommand::Revoke {
            email,
            devices,
            user_uid,
        } => {
            let params = RevokeUsersParams {
                email: email.clone(),
                devices: Some(devices),
                user_uid,
                warp_session_reauth: None,
            };
            client
                .zero_trust()
                .organizations()
                .revoke_users(&account_id, &params)
                .await
                .map_err(fail)?;
            if args.api.json {
                output::json(&serde_json::json!({"revoked": email, "devices": devices}));
            } else {
                let what = if devices { "sessions and devices" } else { "sessions" };
                println!("revoked the {what} of {email}");
            }
            return Ok(());
        }
    };
    if args.api.json {
        output::json(&shown);
    } else {
        output::users_table(&shown);
    }
    Ok(())
}
