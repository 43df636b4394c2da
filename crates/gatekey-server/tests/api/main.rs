//! Integration tests of the server: the real app on 127.0.0.1:0, a real database (a temporary
//! SQLite file, and PostgreSQL too when `GATEKEY_TEST_POSTGRES_URL` is set), real HTTP.

mod captured_logs;
mod harness;

mod api_keys;
mod app_revocation;
mod applications;
mod approval_pages;
mod audit;
mod authorization;
mod authorize;
mod bad_input;
mod bounded_growth;
mod browser;
mod consent_scopes;
mod debug_output;
mod device_flow;
mod device_flow_standing;
mod device_page;
mod effective_scopes;
mod forwarded;
mod guessing;
mod introspection_accounts;
mod invitation_pages;
mod invitations;
mod key_lineage;
mod local_invalidation;
mod oauth_api_access;
mod oauth_concurrency;
mod oauth_fixture;
mod oauth_flows;
mod oauth_revocation;
mod oauth_token_errors;
mod operations;
mod page_failures;
mod rank_and_refusals;
mod rate_limit;
mod redirect_uris;
mod retention;
mod secrets_at_rest;
mod service_accounts;
mod slow_connections;
mod storage_failure;
mod web;
mod web_sessions;
