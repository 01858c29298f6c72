-- The Contact menu (docs/MODULES.md): notes a team keeps on a contact, and
-- an index to find a contact's conversations.

ALTER TABLE contacts ADD COLUMN notes TEXT;
CREATE INDEX conversations_contact ON conversations (contact_id);
