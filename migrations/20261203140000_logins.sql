-- Browser logins (issue 18): the cookie holds a random secret; only its SHA-256 is kept.
CREATE TABLE logins (
    id TEXT PRIMARY KEY NOT NULL,
    secret_hash TEXT NOT NULL UNIQUE,
    created_at_ms INTEGER NOT NULL,
    last_used_ms INTEGER NOT NULL,
    -- The browser's User-Agent at login, for the list of logins.
    user_agent TEXT NOT NULL DEFAULT ''
);
