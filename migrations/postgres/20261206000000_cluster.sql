-- Several server nodes on one database (issue 23).

-- A session's rev (one more per published metadata change) goes on from where the last
-- node that drove it stopped.
ALTER TABLE sessions ADD COLUMN rev BIGINT NOT NULL DEFAULT 0;

-- Which node drives a session: it alone runs the session's task (stores its events, runs
-- its agent). Renewed by its holder every few seconds; another node may take it once it
-- has expired (its holder stopped or lost the database). Taken when a session is created,
-- before its row is stored (so no foreign key).
CREATE TABLE session_leases (
    session_id TEXT PRIMARY KEY NOT NULL,
    node_id TEXT NOT NULL,
    expires_at_ms BIGINT NOT NULL
);
CREATE INDEX session_leases_node ON session_leases(node_id);

-- A command for a session, from a node that does not drive it to the node that does, and
-- the answer. Each row is taken once (`taken`) by the node it names.
CREATE TABLE node_commands (
    id BIGSERIAL PRIMARY KEY,
    node_id TEXT NOT NULL,
    from_node TEXT NOT NULL,
    session_id TEXT NOT NULL,
    body TEXT NOT NULL,
    taken BIGINT NOT NULL DEFAULT 0,
    answer TEXT,
    created_at_ms BIGINT NOT NULL
);
CREATE INDEX node_commands_open ON node_commands(node_id) WHERE taken = 0;
