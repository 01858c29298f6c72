//! Credentials and the tokens that stand for them: where a request's
//! credential is read from its headers, the ticket from a WebSocket query,
//! and how a WebSocket ticket and an invitation link are judged. A token
//! that differs from a real one by any edit must open nothing, and a real
//! one must open exactly what it is for, as often as it may.

use std::panic::AssertUnwindSafe;

use axum::http::{HeaderMap, HeaderName, HeaderValue};
use switchboard_core::access::grants::Grant;
use switchboard_core::access::roles::RoleId;
use switchboard_core::input::Email;
use switchboard_server::app::{AppError, Caller};
use switchboard_server::credentials::{self, SESSION_COOKIE};
use switchboard_server::ws::handshake::ticket_of;

use crate::choices::Choices;
use crate::served::served;

const NAMES: &[&str] = &["authorization", "cookie", "x-other"];
const VALUES: &[&str] = &[
    "Bearer sbs_abc",
    "bearer  sbs_abc ",
    "Basic abc",
    "Bearer",
    "Bearer ",
    "switchboard_session=abc",
    "theme=dark; switchboard_session=xyz",
    "switchboard_session=",
    "switchboard_session",
    " ; ;=;",
];

#[test]
fn a_credential_is_only_ever_read_from_where_it_may_be() {
    fuzz!(|choices| {
        let mut headers = HeaderMap::new();
        for _ in 0..choices.below(5) {
            let name = NAMES[choices.below(NAMES.len())];
            let value = match choices.below(VALUES.len() + 1) {
                i if i < VALUES.len() => VALUES[i].to_owned(),
                _ => choices.text(40),
            };
            if let Ok(value) = HeaderValue::from_str(&value) {
                headers.append(HeaderName::from_static(name), value);
            }
        }
        let found = credentials::from_headers(&headers);
        let texts = |name: &str| -> Vec<String> {
            headers
                .get_all(name)
                .iter()
                .filter_map(|v| v.to_str().ok())
                .map(str::to_owned)
                .collect()
        };
        if let Some(token) = &found {
            assert!(!token.is_empty(), "an empty credential is none");
            assert_eq!(token.trim(), token, "a credential has no spaces around it");
        }
        match headers.get("authorization").map(|v| v.to_str()) {
            // A text Authorization header alone decides: its Bearer
            // token, or nothing, never the cookie beside it.
            Some(Ok(first)) => {
                if let Some(token) = &found {
                    let (scheme, rest) = first.trim().split_once(' ').unwrap();
                    assert!(scheme.eq_ignore_ascii_case("bearer"), "{first:?}");
                    assert_eq!(rest.trim(), token);
                }
            }
            _ => {
                if let Some(token) = &found {
                    let pair = format!("{SESSION_COOKIE}={token}");
                    assert!(
                        texts("cookie").iter().any(|c| c.contains(&pair)),
                        "{token:?} is the session cookie of {:?}",
                        texts("cookie")
                    );
                }
            }
        }
        assert_eq!(
            credentials::by_cookie(&headers),
            !headers.contains_key("authorization") && found.is_some()
        );
    });
}

#[test]
fn the_ticket_is_the_whole_value_of_a_ticket_parameter() {
    fuzz!(|choices| {
        let query = choices.text(80);
        if let Some(ticket) = ticket_of(Some(&query)) {
            assert!(!ticket.contains('&'), "{ticket:?} from {query:?}");
            let pair = format!("ticket={ticket}");
            assert!(
                query.split('&').any(|p| p == pair),
                "{ticket:?} from {query:?}"
            );
        } else {
            assert!(!query.split('&').any(|p| p.starts_with("ticket=")));
        }
    });
}

/// An edit of `real`: a character changed, dropped or added, a case
/// changed, or spaces around it; or none.
fn edit(real: &str, choices: &mut Choices<'_>) -> String {
    let mut chars: Vec<char> = real.chars().collect();
    for _ in 0..choices.below(3) {
        let at = choices.below(chars.len() + 1);
        match choices.below(6) {
            0 if at < chars.len() => {
                chars.remove(at);
            }
            1 => chars.insert(at, choices.text(1).chars().next().unwrap_or('a')),
            2 if at < chars.len() => chars[at] = choices.text(1).chars().next().unwrap_or('A'),
            3 if at < chars.len() => chars[at] = chars[at].to_ascii_uppercase(),
            4 => chars.insert(0, ' '),
            5 => chars.push('\n'),
            _ => {}
        }
    }
    chars.into_iter().collect()
}

#[test]
fn a_websocket_ticket_opens_only_as_itself_and_only_once() {
    let runtime = crate::runtime();
    let served = runtime.block_on(served());
    let app = served.application.state().app.clone();
    let token = served.token.clone();
    let live = AssertUnwindSafe((runtime, served, app));
    fuzz!(|choices| {
        let (runtime, _served, app) = &*live;
        runtime.block_on(async {
            let real = app.create_ws_ticket(Some(&token)).await.unwrap().ticket;
            let tried = edit(&real, &mut choices);
            let first = app.authenticate_ticket(&tried).await;
            if tried == real {
                assert!(first.is_ok(), "the ticket itself opens");
                let again = app.authenticate_ticket(&real).await;
                assert!(matches!(again, Err(AppError::Unauthorized(_))), "only once");
            } else {
                assert!(
                    matches!(first, Err(AppError::Unauthorized(_))),
                    "{tried:?} for {real:?}: {first:?}"
                );
                // The edit used nothing up.
                assert!(app.authenticate_ticket(&real).await.is_ok());
            }
        });
    });
}

#[test]
fn an_invitation_link_opens_only_as_itself() {
    let runtime = crate::runtime();
    let served = runtime.block_on(served());
    let app = served.application.state().app.clone();
    let (account, group) = runtime.block_on(async {
        let who = app.authenticate(Some(&served.token)).await.unwrap();
        let me = served.get("/v1/me").await;
        let group: uuid::Uuid =
            serde_json::from_value(me["grants"][0]["group_id"].clone()).unwrap();
        (who.user.account_id, group)
    });
    let mut live = AssertUnwindSafe((runtime, served, app, 0u64));
    fuzz!(|choices| {
        let (runtime, _served, app, invited) = &mut *live;
        runtime.block_on(async {
            *invited += 1;
            let email = Email::parse(&format!("guest{invited}@acme.test")).unwrap();
            let grant = Grant::new(RoleId::parse("operator").unwrap(), group.into());
            let made = app
                .invite(Caller::CommandLine, account, vec![email], vec![grant])
                .await
                .unwrap();
            let real = made.links[0].split_once("token=").unwrap().1.to_owned();
            let tried = edit(&real, &mut choices);
            let found = app.lookup_invitation(&tried).await;
            if tried.trim() == real {
                assert_eq!(found.unwrap().id, made.invitations[0].id);
            } else {
                assert!(
                    matches!(found, Err(AppError::NotFound(_))),
                    "{tried:?} for {real:?}: {found:?}"
                );
            }
            app.revoke_invitation(Caller::CommandLine, made.invitations[0].id)
                .await
                .unwrap();
        });
    });
}
