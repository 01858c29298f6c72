-- Login throttling as a reservation (docs/PEOPLE.md, "Login throttling"):
-- each attempt is counted under its keys before its secret is checked, with
-- an id of its own so that an attempt found right can be forgotten again.
-- Rows from before this migration have none (they are failures).

ALTER TABLE login_failures ADD COLUMN attempt BLOB;
CREATE INDEX login_failures_attempt ON login_failures (attempt);
