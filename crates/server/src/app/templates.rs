//! Message templates (canned replies, docs/MODULES.md): listed for those
//! who hold `templates.view` in the template's group subtree, written by
//! those who hold `templates.manage` at its group, and sent by agents with
//! their placeholders filled for the conversation.
//!
//! A template at group G is for the conversations of G's subtree: it is
//! listed for whoever holds `templates.view` at G or at a group below it,
//! and used in a conversation whose group is G or below it by a sender
//! holding `templates.view` there. As for every resource in a group, one
//! is not found by a user who holds nothing at G nor below it, and
//! forbidden to change without `templates.manage` at G.

use switchboard_core::access::{Decision, Permission, PermissionSet};
use switchboard_core::input::{MessageBody, Name};
use switchboard_core::model::Conversation;
use switchboard_core::templates::{Placeholders, Shortcut, Template, TemplateFields, render};
use switchboard_core::{GroupId, Principal, TemplateId};

use super::{App, AppError, refusal};
use crate::access::AccessNow;

const MISSING: &str = "no such template";

/// What `PATCH /v1/templates/{id}` changes (each `None`: unchanged).
#[derive(Debug, Clone, Default)]
pub struct TemplateChanges {
    pub name: Option<Name>,
    /// `Some(None)`: no shortcut any more.
    pub shortcut: Option<Option<Shortcut>>,
    pub body: Option<MessageBody>,
    pub group: Option<GroupId>,
}

impl App {
    /// The templates the user sees, by name.
    pub async fn templates(&self, who: &Principal) -> Result<Vec<Template>, AppError> {
        let access = self.access_of(who.account_id()).await?;
        let mut templates = self.store.templates_of(who.account_id()).await?;
        templates.retain(|t| {
            held_in_subtree(&access, who, t.group_id).contains(Permission::TemplatesView)
        });
        Ok(templates)
    }

    /// A new template: `templates.manage` at its group (the root when the
    /// client names none). A group the user holds nothing at is not found.
    pub async fn create_template(
        &self,
        who: &Principal,
        fields: TemplateFields,
    ) -> Result<Template, AppError> {
        let access = self.access_of(who.account_id()).await?;
        manage_at(&access, who, fields.group_id, "no such group")?;
        Ok(self
            .store
            .create_template(who.account_id(), &fields)
            .await?)
    }

    /// Changes a template: `templates.manage` at its group, and at the new
    /// group for a move.
    pub async fn edit_template(
        &self,
        who: &Principal,
        id: TemplateId,
        changes: TemplateChanges,
    ) -> Result<Template, AppError> {
        let (template, access) = self.managed_template(who, id).await?;
        let group = changes.group.unwrap_or(template.group_id);
        if group != template.group_id {
            manage_at(&access, who, group, "no such group")?;
        }
        let body = match changes.body {
            Some(body) => body,
            None => MessageBody::parse(template.body, usize::MAX)?,
        };
        let shortcut = match changes.shortcut {
            Some(shortcut) => shortcut,
            None => template
                .shortcut
                .as_deref()
                .map(Shortcut::parse)
                .transpose()?,
        };
        let fields = TemplateFields {
            group_id: group,
            name: match changes.name {
                Some(name) => name,
                None => Name::parse("name", &template.name)?,
            },
            shortcut,
            body,
        };
        Ok(self
            .store
            .update_template(who.account_id(), template.id, &fields)
            .await?)
    }

    /// Deletes a template: `templates.manage` at its group.
    pub async fn delete_template(&self, who: &Principal, id: TemplateId) -> Result<(), AppError> {
        let (template, _) = self.managed_template(who, id).await?;
        Ok(self
            .store
            .delete_template(who.account_id(), template.id)
            .await?)
    }

    /// The template a `send` names, read before the conversation's room is
    /// locked (no store read under a room's lock); `None` when there is no
    /// such template. Judged by [`App::rendered_template`].
    pub(super) async fn template_to_send(
        &self,
        id: TemplateId,
    ) -> Result<Option<Template>, AppError> {
        Ok(self.store.template(id).await?)
    }

    /// The text `sender` sends when they send `template` (as read by
    /// [`App::template_to_send`]) into `conversation`: its placeholders
    /// filled, under the message size limit. A template that does not
    /// exist, of another account, or of a group that does not serve the
    /// conversation, is not found; without `templates.view` at the
    /// conversation's group it is forbidden.
    pub(super) async fn rendered_template(
        &self,
        sender: &Principal,
        sender_name: &str,
        conversation: &Conversation,
        template: Option<Template>,
    ) -> Result<MessageBody, AppError> {
        let template = template
            .filter(|t| t.account_id == sender.account_id())
            .ok_or(AppError::NotFound(MISSING))?;
        let access = self.access_of(sender.account_id()).await?;
        let group = access
            .group_of(conversation.inbox_id)
            .ok_or(AppError::NotFound(MISSING))?;
        let applies = access
            .access
            .groups
            .lineage(group)
            .any(|g| g == template.group_id);
        if !applies {
            return Err(AppError::NotFound(MISSING));
        }
        // The sender sees the conversation, so they hold something within
        // the template's subtree: the template is visible to them.
        let held = access.policy(sender.id()).permissions_at(group);
        if !held.contains(Permission::TemplatesView) {
            return Err(AppError::forbidden(
                "you do not hold the permission templates.view here",
            ));
        }
        let values = Placeholders {
            contact_name: conversation.contact.name.as_deref(),
            contact_handle: Some(conversation.contact.handle.as_str()),
            agent_name: Some(sender_name),
        };
        let text = render(&template.body, &values);
        Ok(MessageBody::parse(text, self.settings.max_message_bytes)?)
    }

    /// A template of the user's account they see (else not found) and
    /// manage (else forbidden).
    async fn managed_template(
        &self,
        who: &Principal,
        id: TemplateId,
    ) -> Result<(Template, std::sync::Arc<AccessNow>), AppError> {
        let template = self
            .store
            .template(id)
            .await?
            .filter(|t| t.account_id == who.account_id())
            .ok_or(AppError::NotFound(MISSING))?;
        let access = self.access_of(who.account_id()).await?;
        if held_in_subtree(&access, who, template.group_id).is_empty() {
            return Err(AppError::NotFound(MISSING));
        }
        manage_at(&access, who, template.group_id, MISSING)?;
        Ok((template, access))
    }
}

/// Every permission `who` holds at `group` or at a group below it.
fn held_in_subtree(access: &AccessNow, who: &Principal, group: GroupId) -> PermissionSet {
    access.held_at_any(who.id(), access.access.groups.subtree(group))
}

/// `templates.manage` at `group`: a group not of the account, or where the
/// user holds nothing, is not found (`missing` names what).
fn manage_at(
    access: &AccessNow,
    who: &Principal,
    group: GroupId,
    missing: &'static str,
) -> Result<(), AppError> {
    let held = access.policy(who.id()).permissions_at(group);
    if !access.access.groups.contains(group) || held.is_empty() {
        return Err(AppError::NotFound(missing));
    }
    let decision = match held.contains(Permission::TemplatesManage) {
        true => Decision::Allowed,
        false => Decision::Forbidden(Permission::TemplatesManage),
    };
    refusal(decision, missing)
}
