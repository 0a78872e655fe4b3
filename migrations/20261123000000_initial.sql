-- Sessions and their append-only event logs.
CREATE TABLE sessions (
    id TEXT PRIMARY KEY NOT NULL,
    title TEXT NOT NULL,
    agent TEXT NOT NULL,
    cwd TEXT NOT NULL,
    permission_mode TEXT NOT NULL,
    model TEXT,
    -- SessionState as JSON ({"state": "idle"}, {"state": "error", "message": "..."}).
    state TEXT NOT NULL,
    agent_session_id TEXT,
    created_at_ms INTEGER NOT NULL,
    last_activity_ms INTEGER NOT NULL,
    preview TEXT NOT NULL DEFAULT '',
    -- Usage as JSON.
    usage TEXT NOT NULL DEFAULT '{"input_tokens":0,"output_tokens":0,"cost_usd":null}',
    message_count INTEGER NOT NULL DEFAULT 0,
    archived INTEGER NOT NULL DEFAULT 0
);

-- One row per SessionEvent, numbered 1, 2, 3... per session. Never updated, never deleted.
CREATE TABLE events (
    session_id TEXT NOT NULL REFERENCES sessions(id),
    seq INTEGER NOT NULL,
    created_at_ms INTEGER NOT NULL,
    -- The event as JSON (SessionEvent).
    body TEXT NOT NULL,
    PRIMARY KEY (session_id, seq)
);
