-- Machines: hosts whose runners connect to the server (issue 23). A machine enrolls once
-- with a one-time code (only its hash is kept) and gets a credential (hashed too);
-- revoking keeps the row, so the Machines page says when.
CREATE TABLE machines (
    id TEXT PRIMARY KEY NOT NULL,
    name TEXT NOT NULL,
    secret_hash TEXT NOT NULL UNIQUE,
    host TEXT,
    version TEXT,
    created_at_ms BIGINT NOT NULL,
    last_contact_ms BIGINT,
    revoked_at_ms BIGINT
);

CREATE TABLE machine_enrollments (
    code_hash TEXT PRIMARY KEY NOT NULL,
    name TEXT NOT NULL,
    created_at_ms BIGINT NOT NULL,
    expires_at_ms BIGINT NOT NULL,
    machine_id TEXT
);

-- A project is a folder on one machine ('': the server's own host).
ALTER TABLE projects ADD COLUMN machine_id TEXT NOT NULL DEFAULT '';
ALTER TABLE projects DROP CONSTRAINT projects_path_key;
ALTER TABLE projects ADD UNIQUE (machine_id, path);
