-- WebSocket tickets (docs/BROWSERS.md): a short-lived, single-use secret a
-- signed-in browser trades for one WebSocket connection as its login
-- session (`GET /v1/ws?ticket=`). Only the ticket's SHA-256 is kept. A
-- ticket belongs to its login session: ending the session (sign-out, a
-- password change, deactivation, an ended session) deletes its tickets.
-- `expires_at` orders the pruning of expired tickets.
CREATE TABLE ws_tickets (
    ticket_hash   BLOB PRIMARY KEY NOT NULL,
    session_hash  BLOB NOT NULL REFERENCES login_sessions (token_hash) ON DELETE CASCADE,
    expires_at    INTEGER NOT NULL
);
CREATE INDEX ws_tickets_session ON ws_tickets (session_hash);
CREATE INDEX ws_tickets_expiry ON ws_tickets (expires_at);
