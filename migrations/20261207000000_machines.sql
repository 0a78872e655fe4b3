-- Machines: hosts whose runners connect to the server (issue 23). A machine enrolls once
-- with a one-time code (only its hash is kept) and gets a credential (hashed too);
-- revoking keeps the row, so the Machines page says when.
CREATE TABLE machines (
    id TEXT PRIMARY KEY NOT NULL,
    name TEXT NOT NULL,
    secret_hash TEXT NOT NULL UNIQUE,
    host TEXT,
    version TEXT,
    created_at_ms INTEGER NOT NULL,
    last_contact_ms INTEGER,
    revoked_at_ms INTEGER
);

CREATE TABLE machine_enrollments (
    code_hash TEXT PRIMARY KEY NOT NULL,
    name TEXT NOT NULL,
    created_at_ms INTEGER NOT NULL,
    expires_at_ms INTEGER NOT NULL,
    -- Set when a runner redeemed it: a code works once.
    machine_id TEXT
);

-- A project is a folder on one machine ('' : the server's own host), so two machines may
-- each have a project at the same path. SQLite cannot change a column's UNIQUE in place:
-- the table is made again (nothing references it by key).
CREATE TABLE projects_on_machines (
    id TEXT PRIMARY KEY NOT NULL,
    name TEXT NOT NULL,
    path TEXT NOT NULL,
    machine_id TEXT NOT NULL DEFAULT '',
    created_at_ms INTEGER NOT NULL,
    UNIQUE (machine_id, path)
);
INSERT INTO projects_on_machines (id, name, path, created_at_ms)
    SELECT id, name, path, created_at_ms FROM projects;
DROP TABLE projects;
ALTER TABLE projects_on_machines RENAME TO projects;
