//! `seats admin`: the operator API of a seats server (accounts, members, tokens, logins,
//! expiry, audit, clock). The operator key comes from `SEATS_OPERATOR_KEY` or a file.

use std::path::PathBuf;

use anyhow::{anyhow, Context};
use clap::{Args, Subcommand};
use seats_client::operator::{JournalQuery, NewToken, OperatorClient};
use seats_client::{OperatorAccount, OperatorToken, Policy};
use seats_types::{FaultAction, FaultMatch, NewFaultRule};
use serde::Serialize;

use crate::api::CliError;
use crate::output::{self, table};

#[derive(Debug, Args)]
pub struct AdminArgs {
    /// The server's root URL.
    #[arg(long, env = "SEATS_URL", default_value = "http://127.0.0.1:8788", global = true)]
    url: String,
    /// A file holding the operator key; otherwise SEATS_OPERATOR_KEY is read.
    #[arg(long, global = true, value_name = "FILE")]
    operator_key_file: Option<PathBuf>,
    /// Print JSON instead of a table.
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    command: AdminCommand,
}

#[derive(Debug, Subcommand)]
enum AdminCommand {
    /// Accounts and their seat limits.
    #[command(subcommand)]
    Accounts(AccountsCommand),
    /// Members: emails with a global API key.
    #[command(subcommand)]
    Members(MembersCommand),
    /// API tokens.
    #[command(subcommand)]
    Tokens(TokensCommand),
    /// Record a login: the user takes a seat, or is refused when the account is full (exit 3).
    Login {
        #[arg(long)]
        account_id: String,
        #[arg(long)]
        email: String,
        #[arg(long)]
        name: Option<String>,
        /// access or gateway.
        #[arg(long, value_parser = ["access", "gateway"])]
        via: String,
        /// Required with --via gateway.
        #[arg(long)]
        device_id: Option<String>,
    },
    /// Run the seat expiry sweep of an account now.
    Expire {
        #[arg(long)]
        account_id: String,
    },
    /// An account's audit log, newest first.
    Audit {
        #[arg(long)]
        account_id: String,
        #[arg(long)]
        page: Option<u64>,
        #[arg(long)]
        per_page: Option<u64>,
    },
    /// Show the server's time, or move a manual clock forward.
    Clock {
        /// A Go duration such as 800h (needs a server started with --manual-clock).
        #[arg(long)]
        advance: Option<String>,
    },
    /// The requests the server answered, oldest first (or --clear them).
    Journal {
        /// An OpenAPI operation id, e.g. zero-trust-seats-update-a-user-seat.
        #[arg(long)]
        operation_id: Option<String>,
        #[arg(long)]
        account_id: Option<String>,
        #[arg(long)]
        method: Option<String>,
        #[arg(long)]
        status: Option<u16>,
        /// RFC 3339: requests that arrived at or after it.
        #[arg(long)]
        since: Option<String>,
        /// At most this many, the newest.
        #[arg(long)]
        limit: Option<u32>,
        /// Empty the journal instead.
        #[arg(long, conflicts_with_all = ["operation_id", "account_id", "method", "status", "since", "limit"])]
        clear: bool,
    },
    /// Fault rules: answer chosen requests with an error, a delay, a reset or silence.
    #[command(subcommand)]
    Faults(FaultsCommand),
    /// Back to the start-up seed (or empty); removes fault rules, clears the journal, puts a
    /// manual clock back to the real time.
    Reset,
    /// Snapshots of the whole state, kept in the server's memory.
    #[command(subcommand)]
    Snapshots(SnapshotsCommand),
}

#[derive(Debug, Subcommand)]
enum SnapshotsCommand {
    /// Take a snapshot named NAME.
    Take { name: String },
    /// List the snapshots.
    List,
    /// Replace the whole state with a snapshot's.
    Restore { name: String },
    /// Forget a snapshot.
    Delete { name: String },
}

// Parsed once per run: the size of the rule's flags does not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Subcommand)]
enum FaultsCommand {
    /// Add a rule: what to match (every flag given must hold) and what to do.
    Add {
        /// e.g. PATCH.
        #[arg(long)]
        method: Option<String>,
        /// An OpenAPI operation id.
        #[arg(long)]
        operation_id: Option<String>,
        /// A path pattern; `*` stands for any run of characters.
        #[arg(long)]
        path: Option<String>,
        #[arg(long)]
        account_id: Option<String>,
        /// A token id or member email.
        #[arg(long)]
        credential_id: Option<String>,
        /// Answer this status (400-599) in Cloudflare's envelope.
        #[arg(long)]
        status: Option<u16>,
        /// The envelope's error code.
        #[arg(long)]
        code: Option<i64>,
        #[arg(long)]
        message: Option<String>,
        /// Retry-After seconds.
        #[arg(long)]
        retry_after: Option<u64>,
        /// Wait this many milliseconds first.
        #[arg(long)]
        delay_ms: Option<u64>,
        /// Close the connection without an answer.
        #[arg(long)]
        reset: bool,
        /// Never answer.
        #[arg(long)]
        hang: bool,
        /// Fire for the next N matching requests only.
        #[arg(long)]
        times: Option<u64>,
        /// Fire with this probability (0 to 1)...
        #[arg(long)]
        probability: Option<f64>,
        /// ...drawn from a generator seeded with this.
        #[arg(long, requires = "probability")]
        seed: Option<u64>,
    },
    /// List the rules and how often each fired.
    List,
    /// Remove one rule.
    Delete { id: String },
    /// Remove every rule.
    Clear,
}

#[derive(Debug, Subcommand)]
enum AccountsCommand {
    /// Create an account.
    Create {
        #[arg(long)]
        name: String,
        /// 32 lowercase hex characters; generated if absent.
        #[arg(long)]
        id: Option<String>,
        /// Defaults to 50.
        #[arg(long)]
        seat_limit: Option<u64>,
    },
    /// List accounts.
    List {
        #[arg(long)]
        page: Option<u64>,
        #[arg(long)]
        per_page: Option<u64>,
    },
    /// Show an account with its seats in use.
    Get { account_id: String },
    /// Rename an account or change its seat limit (lowering it removes nobody).
    Update {
        account_id: String,
        #[arg(long)]
        name: Option<String>,
        #[arg(long)]
        seat_limit: Option<u64>,
    },
}

#[derive(Debug, Subcommand)]
enum MembersCommand {
    /// Create a member; the generated API key is printed once.
    Create {
        #[arg(long)]
        email: String,
        /// An account the member belongs to. Repeatable.
        #[arg(long = "account")]
        accounts: Vec<String>,
        /// A file holding the key to use instead of a generated one.
        #[arg(long, value_name = "FILE")]
        api_key_file: Option<PathBuf>,
    },
    /// List members (never their keys).
    List,
    /// Delete a member; their key stops working at once.
    Delete { email: String },
}

#[derive(Debug, Subcommand)]
enum TokensCommand {
    /// Create an API token; its value is printed once.
    Create {
        #[arg(long)]
        name: String,
        /// An account the token may act on. Repeatable.
        #[arg(long = "account", conflicts_with_all = ["all_accounts", "policies_file"])]
        accounts: Vec<String>,
        /// Every account (com.cloudflare.api.account.*).
        #[arg(long, conflicts_with = "policies_file")]
        all_accounts: bool,
        /// A permission group, e.g. "Zero Trust: Seats Write". Repeatable.
        #[arg(long = "permission", conflicts_with = "policies_file")]
        permissions: Vec<String>,
        /// Cloudflare-shaped policies as JSON, instead of --account and --permission.
        #[arg(long, value_name = "FILE")]
        policies_file: Option<PathBuf>,
        /// RFC 3339.
        #[arg(long)]
        not_before: Option<String>,
        /// RFC 3339.
        #[arg(long)]
        expires_on: Option<String>,
    },
    /// List tokens (never their values).
    List,
    /// Disable a token; it is refused from the next request on.
    Disable { token_id: String },
    /// Enable a disabled token.
    Enable { token_id: String },
    /// Delete a token.
    Delete { token_id: String },
}

fn operator_key(args: &AdminArgs) -> anyhow::Result<String> {
    let key = match &args.operator_key_file {
        Some(path) => std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?,
        None => std::env::var("SEATS_OPERATOR_KEY").unwrap_or_default(),
    };
    let key = key.trim().to_owned();
    if key.is_empty() {
        return Err(anyhow!(
            "no operator key: set SEATS_OPERATOR_KEY or --operator-key-file"
        ));
    }
    Ok(key)
}

/// Prints JSON, or the table `render` makes.
async fn faults(op: &OperatorClient, command: FaultsCommand, json: bool) -> Result<(), seats_client::Error> {
    match command {
        FaultsCommand::Add {
            method,
            operation_id,
            path,
            account_id,
            credential_id,
            status,
            code,
            message,
            retry_after,
            delay_ms,
            reset,
            hang,
            times,
            probability,
            seed,
        } => {
            let rule = NewFaultRule {
                matches: FaultMatch {
                    method,
                    operation_id,
                    path,
                    account_id,
                    credential_id,
                },
                action: FaultAction {
                    status,
                    code,
                    message,
                    retry_after,
                    delay_ms,
                    reset,
                    hang,
                },
                times,
                probability,
                seed,
            };
            let added = op.add_fault(&rule).await?;
            show(json, &added, |r| format!("{}\n", r.id));
        }
        FaultsCommand::List => {
            let rules = op.faults().await?;
            show(json, &rules, |rules| {
                let rows: Vec<Vec<String>> = rules
                    .iter()
                    .map(|r| {
                        vec![
                            r.id.clone(),
                            serde_json::to_string(&r.matches).unwrap_or_default(),
                            serde_json::to_string(&r.action).unwrap_or_default(),
                            r.remaining.map_or_else(|| "-".into(), |n| n.to_string()),
                            r.fired.to_string(),
                        ]
                    })
                    .collect();
                output::table(&["ID", "MATCH", "ACTION", "REMAINING", "FIRED"], &rows)
            });
        }
        FaultsCommand::Delete { id } => {
            op.delete_fault(&id).await?;
            show(json, &serde_json::json!({"id": id}), |_| format!("deleted {id}\n"));
        }
        FaultsCommand::Clear => {
            let removed = op.clear_faults().await?;
            show(json, &serde_json::json!({"removed": removed}), |_| {
                format!("removed {removed} rules\n")
            });
        }
    }
    Ok(())
}

fn show<T: Serialize>(json: bool, value: &T, render: impl FnOnce(&T) -> String) {
    if json {
        output::json(value);
    } else {
        print!("{}", render(value));
    }
}

fn accounts_table(accounts: &[OperatorAccount]) -> String {
    let rows: Vec<Vec<String>> = accounts
        .iter()
        .map(|a| {
            vec![
                a.id.clone(),
                a.name.clone(),
                a.seats_in_use.to_string(),
                a.seat_limit.to_string(),
            ]
        })
        .collect();
    table(&["ID", "NAME", "SEATS_IN_USE", "SEAT_LIMIT"], &rows)
}

fn tokens_table(tokens: &[OperatorToken]) -> String {
    let rows: Vec<Vec<String>> = tokens
        .iter()
        .map(|t| {
            let status = serde_json::to_value(t.status)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default();
            let mut row = vec![
                t.id.clone(),
                t.name.clone(),
                status,
                t.expires_on.map(|e| e.to_string()).unwrap_or_default(),
            ];
            if let Some(value) = &t.value {
                row.push(value.expose().to_owned());
            }
            row
        })
        .collect();
    let with_value = tokens.iter().any(|t| t.value.is_some());
    let header: &[&str] = if with_value {
        &["ID", "NAME", "STATUS", "EXPIRES_ON", "VALUE (shown once)"]
    } else {
        &["ID", "NAME", "STATUS", "EXPIRES_ON"]
    };
    table(header, &rows)
}

fn policies(accounts: &[String], all: bool, permissions: &[String]) -> anyhow::Result<Vec<Policy>> {
    if permissions.is_empty() {
        return Err(anyhow!("name at least one --permission (or give --policies-file)"));
    }
    let resources: serde_json::Map<String, serde_json::Value> = if all {
        [("com.cloudflare.api.account.*".to_owned(), "*".into())]
            .into_iter()
            .collect()
    } else if accounts.is_empty() {
        return Err(anyhow!("name at least one --account, or --all-accounts"));
    } else {
        accounts
            .iter()
            .map(|a| (format!("com.cloudflare.api.account.{a}"), "*".into()))
            .collect()
    };
    let groups: Vec<_> = permissions.iter().map(|p| serde_json::json!({"name": p})).collect();
    Ok(serde_json::from_value(
        serde_json::json!([{"effect": "allow", "resources": resources, "permission_groups": groups}]),
    )?)
}

pub async fn run(args: AdminArgs) -> Result<(), CliError> {
    let key = operator_key(&args).map_err(CliError::Usage)?;
    let op = OperatorClient::new(&args.url, &key)?;
    let base = format!("{}/_seats/v1", args.url.trim_end_matches('/'));
    let fail = |e| CliError::from_operator_call(e, &base);
    let json = args.json;
    match args.command {
        AdminCommand::Accounts(cmd) => match cmd {
            AccountsCommand::Create { name, id, seat_limit } => {
                let a = op
                    .create_account(id.as_deref(), &name, seat_limit)
                    .await
                    .map_err(fail)?;
                show(json, &a, |a| accounts_table(std::slice::from_ref(a)));
            }
            AccountsCommand::List { page, per_page } => {
                let page = op.list_accounts(page, per_page).await.map_err(fail)?;
                show(json, &page.result, |a| accounts_table(a));
            }
            AccountsCommand::Get { account_id } => {
                let a = op.get_account(&account_id).await.map_err(fail)?;
                show(json, &a, |a| accounts_table(std::slice::from_ref(a)));
            }
            AccountsCommand::Update {
                account_id,
                name,
                seat_limit,
            } => {
                let a = op
                    .update_account(&account_id, name.as_deref(), seat_limit)
                    .await
                    .map_err(fail)?;
                show(json, &a, |a| accounts_table(std::slice::from_ref(a)));
            }
        },
        AdminCommand::Members(cmd) => match cmd {
            MembersCommand::Create {
                email,
                accounts,
                api_key_file,
            } => {
                let key = match api_key_file {
                    Some(path) => Some(
                        std::fs::read_to_string(&path)
                            .with_context(|| format!("cannot read {}", path.display()))
                            .map_err(CliError::Usage)?
                            .trim()
                            .to_owned(),
                    ),
                    None => None,
                };
                let m = op
                    .create_member(&email, key.as_deref(), &accounts)
                    .await
                    .map_err(fail)?;
                show(json, &m, |m| {
                    let key = m.api_key.as_ref().map(|k| k.expose().to_owned()).unwrap_or_default();
                    table(
                        &["EMAIL", "ACCOUNTS", "API_KEY (shown once)"],
                        &[vec![m.email.clone(), m.accounts.join(","), key]],
                    )
                });
            }
            MembersCommand::List => {
                let members = op.list_members().await.map_err(fail)?;
                show(json, &members, |ms| {
                    let rows: Vec<Vec<String>> =
                        ms.iter().map(|m| vec![m.email.clone(), m.accounts.join(",")]).collect();
                    table(&["EMAIL", "ACCOUNTS"], &rows)
                });
            }
            MembersCommand::Delete { email } => {
                let m = op.delete_member(&email).await.map_err(fail)?;
                show(json, &m, |m| format!("deleted member {}\n", m.email));
            }
        },
        AdminCommand::Tokens(cmd) => match cmd {
            TokensCommand::Create {
                name,
                accounts,
                all_accounts,
                permissions,
                policies_file,
                not_before,
                expires_on,
            } => {
                let policies = match policies_file {
                    Some(path) => {
                        let text = std::fs::read_to_string(&path)
                            .with_context(|| format!("cannot read {}", path.display()))
                            .map_err(CliError::Usage)?;
                        serde_json::from_str(&text)
                            .with_context(|| format!("{}: expected a JSON array of token policies", path.display()))
                            .map_err(CliError::Usage)?
                    }
                    None => policies(&accounts, all_accounts, &permissions).map_err(CliError::Usage)?,
                };
                let token = NewToken {
                    name,
                    policies,
                    value: None,
                    not_before,
                    expires_on,
                };
                let t = op.create_token(&token).await.map_err(fail)?;
                show(json, &t, |t| tokens_table(std::slice::from_ref(t)));
            }
            TokensCommand::List => {
                let tokens = op.list_tokens().await.map_err(fail)?;
                show(json, &tokens, |t| tokens_table(t));
            }
            TokensCommand::Disable { token_id } => {
                let t = op.set_token_status(&token_id, "disabled").await.map_err(fail)?;
                show(json, &t, |t| tokens_table(std::slice::from_ref(t)));
            }
            TokensCommand::Enable { token_id } => {
                let t = op.set_token_status(&token_id, "active").await.map_err(fail)?;
                show(json, &t, |t| tokens_table(std::slice::from_ref(t)));
            }
            TokensCommand::Delete { token_id } => {
                let t = op.delete_token(&token_id).await.map_err(fail)?;
                show(json, &t, |t| format!("deleted token {}\n", t.id));
            }
        },
        AdminCommand::Login {
            account_id,
            email,
            name,
            via,
            device_id,
        } => {
            let user = op
                .login(&account_id, &email, name.as_deref(), &via, device_id.as_deref())
                .await
                .map_err(fail)?;
            if json {
                output::json(&user);
            } else {
                output::users_table(std::slice::from_ref(&user));
            }
        }
        AdminCommand::Expire { account_id } => {
            let removed = op.expire_seats(&account_id).await.map_err(fail)?;
            show(json, &removed, |r| {
                let rows: Vec<Vec<String>> = r.removed.iter().map(|uid| vec![uid.clone()]).collect();
                table(&["REMOVED_SEAT_UID"], &rows)
            });
        }
        AdminCommand::Audit {
            account_id,
            page,
            per_page,
        } => {
            let events = op.audit(&account_id, page, per_page).await.map_err(fail)?;
            show(json, &events.result, |events| {
                let rows: Vec<Vec<String>> = events
                    .iter()
                    .map(|e| {
                        vec![
                            e.at.to_string(),
                            format!("{}:{}", e.actor_type, e.actor),
                            e.action.clone(),
                            e.subject.clone(),
                        ]
                    })
                    .collect();
                table(&["AT", "ACTOR", "ACTION", "SUBJECT"], &rows)
            });
        }
        AdminCommand::Clock { advance } => {
            let reading = match advance {
                Some(by) => op.advance_clock(&by).await.map_err(fail)?,
                None => op.clock().await.map_err(fail)?,
            };
            show(json, &reading, |r| format!("{}\n", r.now));
        }
        AdminCommand::Journal { clear: true, .. } => {
            let cleared = op.clear_journal().await.map_err(fail)?;
            show(json, &serde_json::json!({"cleared": cleared}), |_| {
                format!("cleared {cleared} entries\n")
            });
        }
        AdminCommand::Journal {
            operation_id,
            account_id,
            method,
            status,
            since,
            limit,
            clear: false,
        } => {
            let query = JournalQuery {
                operation_id,
                account_id,
                method,
                status,
                since,
                limit,
            };
            let entries = op.journal(&query).await.map_err(fail)?;
            show(json, &entries, |entries| {
                let rows: Vec<Vec<String>> = entries
                    .iter()
                    .map(|e| {
                        vec![
                            e.seq.to_string(),
                            e.at.to_string(),
                            e.method.clone(),
                            e.path.clone(),
                            e.status.to_string(),
                            e.credential_id.clone().unwrap_or_default(),
                            format!("{:.1}", e.latency_ms),
                            e.fault.clone().unwrap_or_default(),
                        ]
                    })
                    .collect();
                output::table(
                    &["SEQ", "AT", "METHOD", "PATH", "STATUS", "CREDENTIAL", "MS", "FAULT"],
                    &rows,
                )
            });
        }
        AdminCommand::Faults(command) => faults(&op, command, json).await.map_err(fail)?,
        AdminCommand::Reset => {
            let back = op.reset().await.map_err(fail)?;
            show(json, &back, |b| {
                format!("reset: {} accounts, {} users\n", b.accounts, b.users)
            });
        }
        AdminCommand::Snapshots(command) => match command {
            SnapshotsCommand::Take { name } => {
                let taken = op.take_snapshot(&name).await.map_err(fail)?;
                show(json, &taken, |t| format!("{} ({} records)\n", t.name, t.records));
            }
            SnapshotsCommand::List => {
                let all = op.snapshots().await.map_err(fail)?;
                show(json, &all, |all| {
                    let rows: Vec<Vec<String>> = all
                        .iter()
                        .map(|s| vec![s.name.clone(), s.taken_at.to_string(), s.records.to_string()])
                        .collect();
                    output::table(&["NAME", "TAKEN_AT", "RECORDS"], &rows)
                });
            }
            SnapshotsCommand::Restore { name } => {
                let back = op.restore_snapshot(&name).await.map_err(fail)?;
                show(json, &back, |b| {
                    format!("restored {name}: {} accounts, {} users\n", b.accounts, b.users)
                });
            }
            SnapshotsCommand::Delete { name } => {
                op.delete_snapshot(&name).await.map_err(fail)?;
                show(json, &serde_json::json!({"name": name}), |_| {
                    format!("deleted {name}\n")
                });
            }
        },
    }
    Ok(())
}
