//! The people routes of issue 12 (docs/PEOPLE.md): invitations, the
//! account and its plan, users' lifecycle, ownership, two-factor
//! authentication, sessions and passwords. Part of [`super::tables::routes`],
//! in a file of their own for length.
//!
//! No row leaves the account changed for the cases after it: the plan and
//! the settings are set to what they are; ownership is never handed over
//! (the owner's requests are built to be refused); the user's own 2FA is
//! never confirmed (their sign-ins would need a code); a password is
//! changed to itself, which ends only the user's other sessions, none of
//! which a later case uses.

use serde_json::json;
use switchboard_core::access::{BuiltinRole, Permission};
use switchboard_proto::ErrorCode;

use super::rules::Needs;
use super::tables::{How, Route, Subject, route};
use crate::support::server::PASSWORD;

use Permission::*;

/// A code no authenticator shows and no backup code is (not six digits).
pub(super) const WRONG_CODE: &str = "not-a-code";

/// The people routes, with what each needs (docs/PEOPLE.md, and
/// docs/ACCESS.md for who manages whom).
pub(super) fn routes() -> Vec<Route> {
    use Needs::*;
    use Subject as S;
    let inviting = |role: &str| json!({"emails": ["$unique@invited.test"], "grants": [{"role": role, "group_id": "$root"}]});
    let code = json!({"code": WRONG_CODE});
    vec![
        // Invitations: who could give its grants to a user invites (no
        // escalation: an accountant's grants need `billing.manage`, which
        // only the owner holds); who could manage a user holding them
        // lists, resends and revokes it.
        route(
            "POST",
            "/v1/invitations",
            ManageUserGranting(BuiltinRole::Viewer),
            201,
        )
        .body(inviting("viewer"))
        .variant("a viewer"),
        route(
            "POST",
            "/v1/invitations",
            ManageUserGranting(BuiltinRole::Accountant),
            201,
        )
        .body(inviting("accountant"))
        .variant("an accountant"),
        // `users.manage` somewhere: in the matrix, where every grant lies.
        route("GET", "/v1/invitations", Account(&[UsersManage]), 200)
            .on(S::Invitation)
            .lists(ManageUser),
        route("POST", "/v1/invitations/{id}/resend", ManageUser, 200).on(S::Invitation),
        route("DELETE", "/v1/invitations/{id}", ManageUser, 200).on(S::Invitation),
        // The link's half needs no login: the answer is the same for all.
        route("GET", "/v1/invitations/lookup", Nothing, 200)
            .on(S::InvitationLink)
            .query("?token=$token")
            .how(How::Anonymous),
        route("POST", "/v1/invitations/accept", Nothing, 201)
            .on(S::InvitationLink)
            .body(json!({"token": "$token", "name": "Invited $unique", "password": PASSWORD}))
            .how(How::Anonymous),
        // The account, its plan and settings, set to what they are.
        route("GET", "/v1/account", Nothing, 200),
        route("PUT", "/v1/account/plan", Account(&[BillingManage]), 200)
            .body(json!({"seat_limit": null})),
        route(
            "PUT",
            "/v1/account/settings",
            Account(&[SettingsManage]),
            200,
        )
        .body(json!({"require_2fa": false})),
        // Users' lifecycle: managing the user (never the owner).
        route("POST", "/v1/users/{id}/deactivate", ManageUser, 200).on(S::NewUser),
        route("POST", "/v1/users/{id}/reactivate", ManageUser, 200).on(S::DeactivatedUser),
        route("DELETE", "/v1/users/{id}", ManageUser, 204).on(S::NewUser),
        // Ownership: only the owner hands it over, and never here. With
        // the right password to a deactivated user, the owner gets 409
        // `conflict` (nothing changes), the others 403, another account's
        // owner 404 (the user is not of their account).
        route("POST", "/v1/account/transfer-ownership", Owner, 200)
            .on(S::DeactivatedUser)
            .body(json!({"user_id": "{id}", "password": PASSWORD}))
            .refused(409, ErrorCode::Conflict)
            .variant("to a deactivated user"),
        // With a wrong password, 403 `forbidden` for everyone: the owner
        // for the password, the others for not being the owner. So this
        // row tells nobody apart; it checks that the password is asked.
        route("POST", "/v1/account/transfer-ownership", Owner, 200)
            .body(json!({"user_id": "$assignee", "password": "not the password"}))
            .refused(403, ErrorCode::Forbidden)
            .variant("a wrong password, refused to all"),
        // Two-factor authentication: the user's own, anyone signed in.
        route("POST", "/v1/me/2fa/setup", Nothing, 200),
        // A wrong code of a pending setup: 403 `forbidden` for everyone, so
        // this row tells nobody apart (a right code would turn 2FA on).
        route("POST", "/v1/me/2fa/confirm", Nothing, 200)
            .on(S::TwoFactorPending)
            .body(code.clone())
            .refused(403, ErrorCode::Forbidden)
            .variant("a wrong code, refused to all"),
        // Nothing pending: 409 `conflict` for everyone, past every access
        // check.
        route("POST", "/v1/me/2fa/confirm", Nothing, 200)
            .on(S::NoTwoFactor)
            .body(code.clone())
            .refused(409, ErrorCode::Conflict)
            .variant("nothing pending"),
        // A pending setup is dropped whatever the code.
        route("DELETE", "/v1/me/2fa", Nothing, 204)
            .on(S::TwoFactorPending)
            .body(code)
            .variant("a pending setup"),
        // Sessions and the password: the user's own.
        route("GET", "/v1/me/sessions", Nothing, 200)
            .on(S::Session)
            .lists(Nothing),
        route("DELETE", "/v1/me/sessions/{id}", Nothing, 204).on(S::Session),
        route("PUT", "/v1/me/password", Nothing, 204)
            .body(json!({"current": PASSWORD, "new": PASSWORD})),
    ]
}
