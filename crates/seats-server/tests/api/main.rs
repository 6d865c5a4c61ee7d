//! Integration tests: the real server on 127.0.0.1:0 over a fresh database, driven over HTTP;
//! each test runs on SQLite and, with `SEATS_TEST_POSTGRES_URL` set, on PostgreSQL too.

mod bounds;
mod browser;
mod concurrency;
mod connections;
mod dashboard;
mod errors;
mod failed_auth;
mod faults;
mod hardening;
mod helpers;
mod identifiers;
mod identity_providers;
mod lifecycle;
mod official_sdks;
mod openapi;
mod operator;
mod organizations;
mod persistence;
mod proxy;
mod rate_limit;
mod scim;
mod seats;
mod service;
mod toolkit;
mod users;
mod webdriver;
