//! The Contact menu over HTTP (docs/MODULES.md, "Contacts").

use axum::Json;
use axum::extract::{Query, State};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use switchboard_core::contacts::{ContactCard, ContactQuery, Notes};
use switchboard_core::input::ContactName;
use switchboard_proto as wire;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::access::present;
use super::auth::CurrentUser;
use super::conversations::{limit_of, params};
use super::error::{ApiJson, ApiPath, ErrorBody};
use crate::app::{AppError, CONTACTS_PAGE_DEFAULT};
use crate::mapping;
use crate::state::AppState;

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ContactParams {
    /// A piece of the name or handle (case-insensitive); absent or blank:
    /// every contact.
    pub query: Option<String>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<Uuid>,
    /// 1 to 200 (default 50).
    pub limit: Option<u32>,
}

/// A customer, with the team's notes.
#[derive(Debug, Serialize, ToSchema)]
pub struct ContactCardView {
    pub id: Uuid,
    /// The phone number or channel handle.
    pub handle: String,
    pub name: Option<String>,
    pub notes: Option<String>,
    pub created_at: DateTime<Utc>,
}

impl From<ContactCard> for ContactCardView {
    fn from(contact: ContactCard) -> Self {
        Self {
            id: contact.id.as_uuid(),
            handle: contact.handle,
            name: contact.name,
            notes: contact.notes,
            created_at: contact.created_at,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ContactList {
    /// Newest first.
    pub contacts: Vec<ContactCardView>,
    /// Where the next page starts (pass it as `cursor`); null: no more.
    pub next_cursor: Option<Uuid>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ContactDetail {
    #[serde(flatten)]
    pub contact: ContactCardView,
    /// The contact's conversations the caller may see, newest activity
    /// first.
    pub conversations: Vec<wire::Summary>,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct ContactPatch {
    /// null or blank: no name.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub name: Option<Option<String>>,
    /// null or blank: no notes; at most 10,000 bytes.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub notes: Option<Option<String>>,
}

/// Search the contacts the caller may see (`contacts.view` at the group of
/// an inbox they wrote to), newest first, a page at a time.
#[utoipa::path(get, path = "/v1/contacts", tag = "contacts", params(ContactParams),
    security(("bearer" = []), ("cookie" = [])),
    responses((status = 200, body = ContactList), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody)))]
pub async fn contacts(
    State(state): State<AppState>,
    CurrentUser(who): CurrentUser,
    query: Result<Query<ContactParams>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<ContactList>, AppError> {
    let query = params(query)?;
    let search = query
        .query
        .as_deref()
        .map(ContactQuery::parse)
        .transpose()?
        .flatten();
    let limit = limit_of(query.limit, CONTACTS_PAGE_DEFAULT)?;
    let cursor = query.cursor.map(Into::into);
    let page = state.app.contacts(&who, search, cursor, limit).await?;
    Ok(Json(ContactList {
        contacts: page.contacts.into_iter().map(Into::into).collect(),
        next_cursor: page.next.map(|id| id.as_uuid()),
    }))
}

/// One contact (`contacts.view` at the group of an inbox they wrote to),
/// with their conversations the caller may see.
#[utoipa::path(get, path = "/v1/contacts/{id}", tag = "contacts",
    params(("id" = Uuid, Path, description = "the contact")),
    security(("bearer" = []), ("cookie" = [])),
    responses((status = 200, body = ContactDetail), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
pub async fn contact(
    State(state): State<AppState>,
    CurrentUser(who): CurrentUser,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<Json<ContactDetail>, AppError> {
    let view = state.app.contact(&who, id.into()).await?;
    Ok(Json(ContactDetail {
        contact: view.contact.into(),
        conversations: view.conversations.iter().map(mapping::summary).collect(),
    }))
}

/// Set a contact's name and/or notes (`contacts.manage` at the group of an
/// inbox they wrote to).
#[utoipa::path(patch, path = "/v1/contacts/{id}", tag = "contacts", request_body = ContactPatch,
    params(("id" = Uuid, Path, description = "the contact")),
    security(("bearer" = []), ("cookie" = [])),
    responses((status = 200, body = ContactCardView), (status = 400, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn edit_contact(
    State(state): State<AppState>,
    CurrentUser(who): CurrentUser,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(patch): ApiJson<ContactPatch>,
) -> Result<Json<ContactCardView>, AppError> {
    let name = patch
        .name
        .map(|n| ContactName::parse(n.as_deref()))
        .transpose()?;
    let notes = patch
        .notes
        .map(|n| Notes::parse(n.as_deref().unwrap_or("")))
        .transpose()?;
    let contact = state.app.edit_contact(&who, id.into(), name, notes).await?;
    Ok(Json(contact.into()))
}
