//! Message templates' storage (docs/MODULES.md): kept per account, each in
//! a group of its account. Written once for both backends; who may see or
//! change one is the application's decision.

use switchboard_core::StoreError;
use switchboard_core::ids::{AccountId, TemplateId};
use switchboard_core::templates::{Template, TemplateFields};

use crate::error::conflict_as;
use crate::rows::Columns;
use crate::statement::{Statements, Value, id};

const TEMPLATES_OF: &str = "SELECT id, account_id, group_id, name, shortcut, body, created_at \
     FROM templates WHERE account_id = $1 ORDER BY name, id";
const TEMPLATE_BY_ID: &str = "SELECT id, account_id, group_id, name, shortcut, body, created_at \
     FROM templates WHERE id = $1";
/// `$1` id, `$2` account, `$3` group, `$4` name, `$5` shortcut, `$6` body;
/// only into a group of the same account.
const TEMPLATE_UPDATE: &str = "UPDATE templates SET group_id = $3, name = $4, shortcut = $5, \
     body = $6 WHERE id = $1 AND account_id = $2 \
     AND EXISTS (SELECT 1 FROM groups g WHERE g.id = $3 AND g.account_id = $2) \
     RETURNING id, account_id, group_id, name, shortcut, body, created_at";
const TEMPLATE_DELETE: &str = "DELETE FROM templates WHERE id = $1 AND account_id = $2";
const SHORTCUT_IN_USE: &str = "the shortcut is already used by another template";

/// A new template; `NotFound` when the group is not the account's,
/// `Conflict` for a shortcut in use in the account.
pub(crate) async fn create_template<T: Statements>(
    tx: &mut T,
    account: AccountId,
    fields: &TemplateFields,
) -> Result<Template, StoreError> {
    let shortcut = fields.shortcut.as_ref().map(|s| s.as_str());
    let params = [
        Value::Clock,
        TemplateId::new().into(),
        account.into(),
        fields.group_id.into(),
        fields.name.as_str().into(),
        shortcut.into(),
        fields.body.as_str().into(),
    ];
    let row = tx
        .one(T::SQL.template_insert, &params, template)
        .await
        .map_err(conflict_as(SHORTCUT_IN_USE))?;
    row.ok_or(StoreError::NotFound)
}

/// Replaces what a template is made of; `NotFound` for a template or group
/// not of the account, `Conflict` for a shortcut in use.
pub(crate) async fn update_template<T: Statements>(
    tx: &mut T,
    account: AccountId,
    id: TemplateId,
    fields: &TemplateFields,
) -> Result<Template, StoreError> {
    let shortcut = fields.shortcut.as_ref().map(|s| s.as_str());
    let params = [
        id.into(),
        account.into(),
        fields.group_id.into(),
        fields.name.as_str().into(),
        shortcut.into(),
        fields.body.as_str().into(),
    ];
    let row = tx
        .one(TEMPLATE_UPDATE, &params, template)
        .await
        .map_err(conflict_as(SHORTCUT_IN_USE))?;
    row.ok_or(StoreError::NotFound)
}

pub(crate) async fn delete_template<T: Statements>(
    tx: &mut T,
    account: AccountId,
    id: TemplateId,
) -> Result<(), StoreError> {
    match tx
        .execute(TEMPLATE_DELETE, &[id.into(), account.into()])
        .await?
    {
        0 => Err(StoreError::NotFound),
        _ => Ok(()),
    }
}

pub(crate) async fn templates_of<T: Statements>(
    tx: &mut T,
    account: AccountId,
) -> Result<Vec<Template>, StoreError> {
    tx.all(TEMPLATES_OF, &[account.into()], template).await
}

pub(crate) async fn template_by_id<T: Statements>(
    tx: &mut T,
    id: TemplateId,
) -> Result<Option<Template>, StoreError> {
    tx.one(TEMPLATE_BY_ID, &[id.into()], template).await
}

fn template(row: &dyn Columns) -> Result<Template, StoreError> {
    Ok(Template {
        id: id(row, "id")?,
        account_id: id(row, "account_id")?,
        group_id: id(row, "group_id")?,
        name: row.text("name")?,
        shortcut: row.opt_text("shortcut")?,
        body: row.text("body")?,
        created_at: row.time("created_at")?,
    })
}
