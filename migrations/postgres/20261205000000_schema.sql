-- The whole schema on PostgreSQL, as the SQLite migrations in the folder above leave it
-- (2026-12-05). Integers are BIGINT and money DOUBLE PRECISION, so each column reads back
-- as the same Rust type on both engines; flags are 0/1 BIGINTs as in SQLite.

-- SQLite's json_extract for the paths the queries use ('$.type', '$.a.b'), as text: one
-- query text runs on both engines. IMMUTABLE, so the partial index below may use it.
CREATE FUNCTION json_extract(body TEXT, path TEXT) RETURNS TEXT
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$ SELECT (body::jsonb) #>> string_to_array(substr(path, 3), '.') $$;

CREATE TABLE projects (
    id TEXT PRIMARY KEY NOT NULL,
    name TEXT NOT NULL,
    path TEXT NOT NULL UNIQUE,
    created_at_ms BIGINT NOT NULL
);

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
    created_at_ms BIGINT NOT NULL,
    last_activity_ms BIGINT NOT NULL,
    preview TEXT NOT NULL DEFAULT '',
    -- Usage as JSON.
    usage TEXT NOT NULL DEFAULT '{"input_tokens":0,"output_tokens":0,"cost_usd":null}',
    message_count BIGINT NOT NULL DEFAULT 0,
    archived BIGINT NOT NULL DEFAULT 0,
    read_seq BIGINT NOT NULL DEFAULT 0,
    project_id TEXT,
    -- Worktree as JSON, when the session has one.
    worktree TEXT,
    imported_from TEXT,
    runner_agent TEXT,
    runner_from_seq BIGINT NOT NULL DEFAULT 0,
    runner_seq BIGINT NOT NULL DEFAULT 0,
    compare_id TEXT
);

-- One row per SessionEvent, numbered 1, 2, 3... per session. Never updated, never deleted.
CREATE TABLE events (
    session_id TEXT NOT NULL REFERENCES sessions(id),
    seq BIGINT NOT NULL,
    created_at_ms BIGINT NOT NULL,
    -- The event as JSON (SessionEvent).
    body TEXT NOT NULL,
    agent_output BIGINT,
    PRIMARY KEY (session_id, seq)
);
CREATE INDEX events_user_messages ON events (session_id, seq)
    WHERE json_extract(body, '$.type') = 'user_message';

CREATE TABLE logins (
    id TEXT PRIMARY KEY NOT NULL,
    secret_hash TEXT NOT NULL UNIQUE,
    created_at_ms BIGINT NOT NULL,
    last_used_ms BIGINT NOT NULL,
    user_agent TEXT NOT NULL DEFAULT ''
);

CREATE TABLE imports (
    path TEXT PRIMARY KEY NOT NULL,
    source TEXT NOT NULL,
    session_id TEXT NOT NULL REFERENCES sessions(id),
    bytes BIGINT NOT NULL,
    events BIGINT NOT NULL,
    imported_at_ms BIGINT NOT NULL
);

-- The full-text index: the rows SQLite keeps in FTS5 (rowid = the entry's time, ms * 65536
-- + a counter), with `words`, the body split as FTS5's unicode61 splits it (on everything
-- but letters and digits, lowercase), indexed by GIN.
CREATE TABLE search_index (
    rowid BIGINT PRIMARY KEY,
    body TEXT NOT NULL,
    role TEXT NOT NULL,
    agent TEXT NOT NULL,
    project TEXT NOT NULL,
    session_id TEXT NOT NULL,
    seq BIGINT NOT NULL,
    at_ms BIGINT NOT NULL,
    words tsvector GENERATED ALWAYS AS
        (to_tsvector('simple', regexp_replace(lower(body), '[^[:alnum:]]+', ' ', 'g'))) STORED
);
CREATE INDEX search_index_words ON search_index USING GIN (words);

-- The index's hot tail (see the SQLite migration 20261203160000_search.sql).
CREATE TABLE search_streaming (
    session_id TEXT PRIMARY KEY NOT NULL,
    from_seq BIGINT NOT NULL
);

CREATE TABLE turn_spend (
    session_id TEXT NOT NULL,
    seq BIGINT NOT NULL,
    ended_at_ms BIGINT NOT NULL,
    cost_usd DOUBLE PRECISION,
    tokens BIGINT NOT NULL,
    estimated BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (session_id, seq)
);
CREATE INDEX turn_spend_by_time ON turn_spend (ended_at_ms);

CREATE TABLE budgets (
    scope TEXT NOT NULL,
    target TEXT NOT NULL DEFAULT '',
    max_usd DOUBLE PRECISION,
    max_tokens BIGINT,
    PRIMARY KEY (scope, target)
);

CREATE TABLE comparisons (
    id TEXT PRIMARY KEY NOT NULL,
    project_id TEXT NOT NULL,
    base_commit TEXT NOT NULL,
    prompt TEXT NOT NULL,
    created_at_ms BIGINT NOT NULL,
    kept_session TEXT
);

CREATE TABLE api_tokens (
    id TEXT PRIMARY KEY NOT NULL,
    name TEXT NOT NULL,
    secret_hash TEXT NOT NULL UNIQUE,
    created_at_ms BIGINT NOT NULL,
    last_used_ms BIGINT,
    revoked_at_ms BIGINT,
    local BIGINT NOT NULL DEFAULT 0
);
