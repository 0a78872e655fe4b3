-- API tokens (issue 24): named tokens for scripts. Only the SHA-256 of a token is kept; the
-- token itself is shown once, when it is made. A revoked token stays listed, refused.
CREATE TABLE api_tokens (
    id TEXT PRIMARY KEY NOT NULL,
    name TEXT NOT NULL,
    secret_hash TEXT NOT NULL UNIQUE,
    created_at_ms INTEGER NOT NULL,
    -- NULL until first used.
    last_used_ms INTEGER,
    -- NULL while valid.
    revoked_at_ms INTEGER,
    -- 1 for the token the server writes to <data_dir>/cli.json for the command line on this
    -- machine; replaced at each start.
    local INTEGER NOT NULL DEFAULT 0
);
