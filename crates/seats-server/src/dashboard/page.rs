//! The page shell and the pieces pages share: navigation, the error box, the usage meter,
//! times. Everything is server-rendered HTML that reads without JavaScript; forms post and
//! redirect back.

use maud::{html, Markup, PreEscaped, DOCTYPE};
use seats_types::Timestamp;

use crate::error::ApiError;

/// The account pages' tabs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tab {
    Overview,
    Users,
    Audit,
    IdentityProviders,
}

impl Tab {
    const ALL: [(Tab, &'static str, &'static str); 4] = [
        (Tab::Overview, "Overview", ""),
        (Tab::Users, "Users", "/users"),
        (Tab::Audit, "Audit log", "/audit"),
        (Tab::IdentityProviders, "Identity providers", "/identity-providers"),
    ];
}

/// Who a page is shown to, as its header names them; see `SignedIn::nav`.
pub struct Nav<'a> {
    /// The viewer, as a person reads it.
    pub who: String,
    /// The session's form token, for the sign-out form.
    pub csrf: &'a str,
}

/// A page: its title and where it sits.
pub struct Page<'a> {
    title: String,
    session: Option<Nav<'a>>,
    account: Option<(&'a str, &'a str, Tab)>,
}

impl<'a> Page<'a> {
    pub fn new(title: impl Into<String>) -> Self {
        Page {
            title: title.into(),
            session: None,
            account: None,
        }
    }

    /// A page seen by a signed-in viewer: the header names them and offers to sign out.
    pub fn signed_in(mut self, session: Nav<'a>) -> Self {
        self.session = Some(session);
        self
    }

    /// A page of one account (`id`, `name`), with its tabs, `tab` current.
    pub fn account(mut self, id: &'a str, name: &'a str, tab: Tab) -> Self {
        self.account = Some((id, name, tab));
        self
    }

    pub fn render(self, body: Markup) -> Markup {
        html! {
            (DOCTYPE)
            html lang="en" {
                head {
                    meta charset="utf-8";
                    meta name="viewport" content="width=device-width, initial-scale=1";
                    title { (self.title) " · seats" }
                    link rel="stylesheet" href="/dashboard/assets/dashboard.css";
                    script src="/dashboard/assets/dashboard.js" defer {}
                }
                body {
                    a.skip href="#main" { "Skip to content" }
                    header {
                        nav aria-label="Site" {
                            a.brand href="/dashboard/accounts" { "seats" }
                            @if let Some(session) = self.session {
                                span.who { "Signed in as " (session.who) }
                                form.inline method="post" action="/dashboard/sign-out" {
                                    (csrf_field(session.csrf))
                                    button type="submit" { "Sign out" }
                                }
                            }
                        }
                        @if let Some((id, name, current)) = self.account {
                            nav.tabs aria-label=(format!("Account {name}")) {
                                @for (tab, label, path) in Tab::ALL {
                                    a href=(format!("/dashboard/accounts/{id}{path}"))
                                        aria-current=[(tab == current).then_some("page")] { (label) }
                                }
                            }
                        }
                    }
                    main #main tabindex="-1" {
                        @if let Some((_, name, _)) = self.account { p.account-name { (name) } }
                        h1 { (self.title) }
                        (body)
                    }
                }
            }
        }
    }
}

/// The hidden field a form that changes something must carry.
pub fn csrf_field(csrf: &str) -> Markup {
    html! { input type="hidden" name="csrf" value=(csrf); }
}

/// Cloudflare's errors as a person reads them: each code with its message and, where one
/// field is at fault, which.
pub fn error_box(error: &ApiError) -> Markup {
    html! {
        div.error role="alert" {
            h2 { "The request was refused (HTTP " (error.status().as_u16()) ")" }
            ul {
                @for m in error.messages() {
                    li {
                        span.code { "Error " (m.code) } ": " (m.message)
                        @if let Some(pointer) = m.pointer().filter(|p| !p.is_empty()) { " (at " code { (pointer) } ")" }
                        @if let Some(chain) = m.error_chain.as_ref().filter(|c| !c.is_empty()) {
                            " "
                            ul { @for c in chain { li { span.code { "Error " (c.code) } ": " (c.message) } } }
                        }
                    }
                }
            }
        }
    }
}

/// Seats in use against the limit: a meter with its figures beside it.
pub fn usage(used: u64, limit: u64, id: &str) -> Markup {
    let label = format!("{used} of {limit} seats in use");
    html! {
        div.usage {
            // Green below three quarters of the limit, amber to nine tenths, red above.
            meter id=(id) min="0" max=(limit.max(1)) value=(used) optimum="0"
                low=(limit.max(1) * 3 / 4) high=(limit.max(1) * 9 / 10)
                aria-label=(label) { (label) }
            span.figures { (label) }
        }
    }
}

/// A time as people read it, in UTC, with the exact value for machines.
pub fn time(t: Timestamp) -> Markup {
    let dt = t.as_datetime();
    html! { time datetime=(t.to_string()) { (dt.format("%Y-%m-%d %H:%M:%S UTC").to_string()) } }
}

pub fn optional_time(t: Option<Timestamp>) -> Markup {
    match t {
        Some(t) => time(t),
        None => html! { span.none { "never" } },
    }
}

/// A yes or no cell, readable without colour.
pub fn yes_no(v: bool) -> Markup {
    if v {
        html! { span.yes { "Yes" } }
    } else {
        html! { span.no { "No" } }
    }
}

/// An inline SVG, already escaped by its builder.
pub fn svg(text: String) -> Markup {
    PreEscaped(text)
}
