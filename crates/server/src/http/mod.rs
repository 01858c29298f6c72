//! The REST transport (axum) and its OpenAPI description, generated from the
//! handlers' annotations and served at `/v1/openapi.json`. Each handler is
//! an adapter: it parses the request (path, JSON body, credentials) into the
//! application's inputs, calls one use case, and encodes the result; every
//! failure is an `AppError` (see `error`).

pub mod access;
pub mod account;
pub mod audit;
pub mod auth;
pub mod contacts;
pub mod conversations;
pub mod error;
pub mod folders;
pub mod inbound;
pub mod invitations;
pub mod lifecycle;
mod limits;
pub mod ops;
pub mod routing;
pub mod templates;
pub mod two_factor;
// statistics
pub mod statistics;
pub mod ws;
// webhooks
pub mod webhooks;

// API keys (docs/MODULES.md).
pub mod api_keys;

// The console and its first-run setup.
pub mod console;
pub mod setup;

// Browsers: CORS, the CSRF guard (docs/BROWSERS.md).
pub mod browser;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, patch, post, put};
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use crate::app::AppError;
use crate::state::AppState;

#[derive(Debug, OpenApi)]
#[openapi(
    info(
        title = "Switchboard",
        description = "A real-time team-inbox server. The WebSocket protocol behind `/v1/ws` is described in proto/PROTOCOL.md.\n\nEvery error, on every route, has the body `{\"error\":{\"code\",\"message\",...}}`. Besides each route's own answers: a path under `/v1/` that names no route (any other GET is a page of the console, served from the binary), or an id in the path that is not a UUID, is 404 `not_found`; a method the route does not serve is 405 `bad_request` with an `Allow` header; a body declared (`Content-Length`) over the limit is 413 `too_large` before it is read; a body that stops arriving, or does not arrive within the request deadline, is 408 `bad_request` and the connection is closed; a connection beyond the per-address cap is answered 503 `unavailable` and closed. Metrics are not part of this API: they are served on a listener of their own (`SWITCHBOARD_METRICS_LISTEN`)."
    ),
    paths(
        auth::login,
        auth::logout,
        inbound::inbound,
        ws::upgrade,
        ops::healthz,
        ops::readyz,
        ops::openapi,
        routing::create_team,
        routing::teams,
        routing::set_members,
        routing::delete_team,
        routing::set_inbox_team,
        routing::set_capacity,
        routing::me,
        routing::set_availability,
        routing::assign,
        routing::unassign,
        routing::resolve,
        routing::reopen,
        routing::assignments,
        access::me,
        access::permissions,
        access::roles,
        access::create_role,
        access::edit_role,
        access::delete_role,
        access::groups,
        access::create_group,
        access::edit_group,
        access::delete_group,
        access::users,
        access::user,
        access::edit_user,
        access::set_grants,
        access::inboxes,
        access::create_inbox,
        access::edit_inbox,
        conversations::list,
        conversations::get,
        conversations::messages,
        audit::audit,
        contacts::contacts,
        contacts::contact,
        contacts::edit_contact,
        folders::folders,
        folders::create_folder,
        folders::edit_folder,
        folders::delete_folder,
        templates::templates,
        templates::create_template,
        templates::edit_template,
        templates::delete_template,
        invitations::invite,
        invitations::list,
        invitations::resend,
        invitations::revoke,
        invitations::lookup,
        invitations::accept,
        account::account,
        account::set_plan,
        lifecycle::deactivate_user,
        lifecycle::reactivate_user,
        lifecycle::remove_user,
        lifecycle::transfer_ownership,
        lifecycle::sessions,
        lifecycle::end_session,
        lifecycle::change_password,
        two_factor::setup,
        two_factor::confirm,
        two_factor::disable,
        two_factor::set_settings,
        // API keys (docs/MODULES.md).
        api_keys::create_api_key,
        api_keys::api_keys,
        api_keys::revoke_api_key,
        // webhooks
        webhooks::webhooks,
        webhooks::create_webhook,
        webhooks::edit_webhook,
        webhooks::delete_webhook,
        webhooks::deliveries,
        // statistics
        statistics::statistics,
        statistics::export,
        // The console's first-run setup.
        setup::status,
        setup::complete,
        // WebSocket tickets for browsers (docs/BROWSERS.md).
        ws::ticket,
    ),
    modifiers(&Security),
    tags(
        (name = "auth", description = "Signing in and out"),
        (name = "messages", description = "Messages from channels"),
        (name = "realtime", description = "The WebSocket endpoint"),
        (name = "ops", description = "Health, readiness, this description"),
        (name = "routing", description = "Teams, capacity, availability and assignment"),
        (name = "access", description = "Who I am, permissions, roles, groups, users and their grants, inboxes (docs/ACCESS.md)"),
        (name = "conversations", description = "Conversations and their messages, as the policy lets the caller see them"),
        (name = "contacts", description = "The Contact menu: customers searched by name or handle, their conversations, the team's notes (docs/MODULES.md)"),
        (name = "folders", description = "Personal folders: saved filters of the caller's conversation list, with open counts; `subscribe_inbox` with `folder_id` follows one live (docs/MODULES.md)"),
        (name = "templates", description = "Message templates (canned replies) agents send with their placeholders filled (docs/MODULES.md)"),
        (name = "statistics", description = "Message statistics by day, inbox or agent, as JSON or CSV (docs/MODULES.md)"),
        (name = "people", description = "Invitations, seats, users' lifecycle, ownership, two-factor authentication, sessions and the audit log (docs/PEOPLE.md)"),
        // API keys (docs/MODULES.md).
        (name = "api_keys", description = "API keys for integrations: each acts on the REST API with its own grants, sent as `Authorization: Bearer <key>` (docs/MODULES.md)"),
        (name = "webhooks", description = "Outbound webhooks: signed JSON posts of conversation and message events, with their delivery log (docs/MODULES.md)"),
    )
)]
pub struct ApiDoc;

struct Security;

impl Modify for Security {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "A login token (`sbs_...`) from /v1/auth/login, or an API key (`sba_...`) from POST /v1/api-keys, which acts with its own grants and is refused where only a person acts (own sessions, password, 2FA, agent state, sign-out: 403) and at the WebSocket (401)",
                    ))
                    .build(),
            ),
        );
        components.add_security_scheme(
            "cookie",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::new(
                crate::credentials::SESSION_COOKIE,
            ))),
        );
        components.add_security_scheme(
            "inbox_key",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "An inbox API key (`sbk_...`) printed by `switchboard inbox create`",
                    ))
                    .build(),
            ),
        );
    }
}

/// Room in a request body for what surrounds the largest message.
const BODY_OVERHEAD: usize = 16 * 1024;

/// The largest request body accepted.
fn body_limit(state: &AppState) -> usize {
    state.config.max_message_bytes + BODY_OVERHEAD
}

/// The refusal of a body over `limit` bytes.
fn body_too_large(limit: usize) -> AppError {
    AppError::TooLarge {
        message: "request body too large".into(),
        max_bytes: limit,
    }
}

/// Every route of the HTTP API. Errors of the routing itself (no such
/// route, a method the route does not serve) have the JSON shape of every
/// other error.
pub fn router(state: AppState) -> Router {
    let body_limit = body_limit(&state);
    Router::new()
        .route("/v1/auth/login", post(auth::login))
        .route("/v1/auth/logout", post(auth::logout))
        .route("/v1/inbound", post(inbound::inbound))
        .route("/v1/ws", get(ws::upgrade))
        .route("/healthz", get(ops::healthz))
        .route("/readyz", get(ops::readyz))
        .route("/v1/openapi.json", get(ops::openapi))
        .route("/v1/teams", post(routing::create_team).get(routing::teams))
        .route("/v1/teams/{id}/members", put(routing::set_members))
        .route("/v1/teams/{id}", delete(routing::delete_team))
        .route("/v1/inboxes/{id}/team", put(routing::set_inbox_team))
        .route("/v1/users/{id}/capacity", put(routing::set_capacity))
        .route("/v1/agents/me", get(routing::me))
        .route("/v1/agents/me/availability", put(routing::set_availability))
        .route("/v1/conversations/{id}/assign", post(routing::assign))
        .route("/v1/conversations/{id}/unassign", post(routing::unassign))
        .route("/v1/conversations/{id}/resolve", post(routing::resolve))
        .route("/v1/conversations/{id}/reopen", post(routing::reopen))
        .route(
            "/v1/conversations/{id}/assignments",
            get(routing::assignments),
        )
        .route("/v1/me", get(access::me))
        .route("/v1/permissions", get(access::permissions))
        .route("/v1/roles", get(access::roles).post(access::create_role))
        .route(
            "/v1/roles/{id}",
            patch(access::edit_role).delete(access::delete_role),
        )
        .route("/v1/groups", get(access::groups).post(access::create_group))
        .route(
            "/v1/groups/{id}",
            patch(access::edit_group).delete(access::delete_group),
        )
        .route("/v1/users", get(access::users))
        .route(
            "/v1/users/{id}",
            get(access::user)
                .patch(access::edit_user)
                .delete(lifecycle::remove_user),
        )
        .route(
            "/v1/users/{id}/deactivate",
            post(lifecycle::deactivate_user),
        )
        .route(
            "/v1/users/{id}/reactivate",
            post(lifecycle::reactivate_user),
        )
        .route(
            "/v1/account/transfer-ownership",
            post(lifecycle::transfer_ownership),
        )
        .route("/v1/me/sessions", get(lifecycle::sessions))
        .route("/v1/me/sessions/{id}", delete(lifecycle::end_session))
        .route("/v1/me/password", put(lifecycle::change_password))
        .route("/v1/users/{id}/grants", put(access::set_grants))
        .route(
            "/v1/inboxes",
            get(access::inboxes).post(access::create_inbox),
        )
        .route("/v1/inboxes/{id}", patch(access::edit_inbox))
        .route("/v1/audit", get(audit::audit))
        .route("/v1/contacts", get(contacts::contacts))
        .route(
            "/v1/contacts/{id}",
            get(contacts::contact).patch(contacts::edit_contact),
        )
        .route(
            "/v1/folders",
            get(folders::folders).post(folders::create_folder),
        )
        .route(
            "/v1/folders/{id}",
            patch(folders::edit_folder).delete(folders::delete_folder),
        )
        .route(
            "/v1/templates",
            get(templates::templates).post(templates::create_template),
        )
        .route(
            "/v1/templates/{id}",
            patch(templates::edit_template).delete(templates::delete_template),
        )
        .route(
            "/v1/invitations",
            post(invitations::invite).get(invitations::list),
        )
        .route("/v1/invitations/lookup", get(invitations::lookup))
        .route("/v1/invitations/accept", post(invitations::accept))
        .route("/v1/invitations/{id}", delete(invitations::revoke))
        .route("/v1/invitations/{id}/resend", post(invitations::resend))
        .route("/v1/account", get(account::account))
        .route("/v1/account/plan", put(account::set_plan))
        .route("/v1/me/2fa/setup", post(two_factor::setup))
        .route("/v1/me/2fa/confirm", post(two_factor::confirm))
        .route("/v1/me/2fa", delete(two_factor::disable))
        .route("/v1/account/settings", put(two_factor::set_settings))
        .route("/v1/conversations", get(conversations::list))
        .route("/v1/conversations/{id}", get(conversations::get))
        .route(
            "/v1/conversations/{id}/messages",
            get(conversations::messages),
        )
        // API keys (docs/MODULES.md).
        .route(
            "/v1/api-keys",
            get(api_keys::api_keys).post(api_keys::create_api_key),
        )
        .route("/v1/api-keys/{id}", delete(api_keys::revoke_api_key))
        // webhooks
        .route(
            "/v1/webhooks",
            get(webhooks::webhooks).post(webhooks::create_webhook),
        )
        .route(
            "/v1/webhooks/{id}",
            patch(webhooks::edit_webhook).delete(webhooks::delete_webhook),
        )
        .route("/v1/webhooks/{id}/deliveries", get(webhooks::deliveries))
        // statistics
        .route("/v1/statistics", get(statistics::statistics))
        .route("/v1/statistics/export", get(statistics::export))
        // The console's first-run setup; every other GET outside /v1/ is the console.
        .route("/v1/setup", get(setup::status).post(setup::complete))
        // WebSocket tickets for browsers (docs/BROWSERS.md).
        .route("/v1/ws/ticket", post(ws::ticket))
        .fallback(console::fallback)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(body_limit))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            limits::guard,
        ))
        // Browsers (docs/BROWSERS.md): the CSRF guard, then CORS outermost,
        // so every answer (a refusal too) carries the CORS headers.
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            browser::csrf,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            browser::cors,
        ))
        .with_state(state)
}

/// The metrics listener's one route (see `Config::metrics_listen`).
pub fn metrics_router(state: AppState) -> Router {
    Router::new()
        .route("/metrics", get(ops::metrics))
        .fallback(no_such_endpoint)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            limits::guard,
        ))
        .with_state(state)
}

async fn no_such_endpoint() -> AppError {
    AppError::NotFound("no such endpoint")
}

/// 405, with the `Allow` header the router adds.
async fn method_not_allowed() -> Response {
    let refusal = AppError::BadRequest("method not allowed on this endpoint".into());
    let mut response = refusal.into_response();
    *response.status_mut() = StatusCode::METHOD_NOT_ALLOWED;
    response
}
