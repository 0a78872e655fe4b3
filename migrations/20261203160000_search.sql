-- Importing other CLIs' sessions and searching every transcript (issue 19).

-- The CLI store a session was imported from ('claude', 'codex'), NULL for sessions begun here.
ALTER TABLE sessions ADD COLUMN imported_from TEXT;

-- One row per imported transcript file: how far it was imported, so importing again adds
-- only what the file gained since.
CREATE TABLE imports (
    path TEXT PRIMARY KEY NOT NULL,
    source TEXT NOT NULL,
    session_id TEXT NOT NULL REFERENCES sessions(id),
    -- Bytes of the file read (up to its last complete line) and events made from them.
    bytes INTEGER NOT NULL,
    events INTEGER NOT NULL,
    imported_at_ms INTEGER NOT NULL
);

-- The full-text index of transcripts: one row per user message, assistant message, thought
-- and tool call. Kept in step with `events` inside the writer's transaction. The rowid is
-- the entry's time (ms * 65536 + a counter), so newest-first reads the index backwards and
-- stops early. The filters are indexed columns of one
-- token each (the agent and project ids with only their letters and digits), so a filter
-- narrows the match inside the index instead of discarding rows after it.
CREATE VIRTUAL TABLE search_index USING fts5(
    body,
    role,
    agent,
    project,
    session_id UNINDEXED,
    -- The seq of the entry's first event: where its transcript opens.
    seq UNINDEXED,
    at_ms UNINDEXED,
    tokenize = 'unicode61 remove_diacritics 2'
);

-- The index's hot tail: a session whose reply or thought is still streaming, and the seq
-- of its first delta not in search_index yet. A delta costs no write here (the row is made
-- by the first one; writing a full-text row per delta cost the relay path ~5 ms at p99).
-- When the session's next other event is stored, its deltas since `from_seq` are read back
-- from `events` and indexed, a message per row, in that event's transaction; searches read
-- the same deltas from the log, so a delta is searchable as soon as it is stored.
CREATE TABLE search_streaming (
    session_id TEXT PRIMARY KEY NOT NULL,
    from_seq INTEGER NOT NULL
);

-- Index what earlier versions stored: user messages, tool calls, and assistant messages
-- and thoughts with their deltas joined (a whole message per row here).
INSERT INTO search_index (rowid, body, role, agent, project, session_id, seq, at_ms)
SELECT entries.created_at_ms * 65536
         + (row_number() OVER (PARTITION BY entries.created_at_ms ORDER BY entries.session_id, entries.seq) - 1),
       entries.body, entries.role,
       'a' || lower(replace(replace(replace(s.agent, '-', ''), '_', ''), '.', '')),
       'p' || lower(replace(coalesce(s.project_id, 'none'), '-', '')),
       entries.session_id, entries.seq, entries.created_at_ms
FROM (
    SELECT session_id, seq, created_at_ms, 'user' AS role, json_extract(body, '$.text') AS body
    FROM events WHERE json_extract(body, '$.type') = 'user_message'
    UNION ALL
    SELECT session_id, seq, created_at_ms, 'tool',
           concat_ws(' ', json_extract(body, '$.title'), json_extract(body, '$.name'),
                     json_extract(body, '$.input.command'), json_extract(body, '$.input.file_path'),
                     json_extract(body, '$.input.path'))
    FROM events WHERE json_extract(body, '$.type') = 'tool_call'
    UNION ALL
    SELECT session_id, min(seq), min(created_at_ms),
           CASE json_extract(body, '$.type') WHEN 'thinking' THEN 'thinking' ELSE 'assistant' END,
           group_concat(json_extract(body, '$.text'), '' ORDER BY seq)
    FROM events
    WHERE json_extract(body, '$.type') IN ('assistant_delta', 'assistant_message', 'thinking')
    GROUP BY session_id, json_extract(body, '$.type') = 'thinking', json_extract(body, '$.message_id')
) AS entries JOIN sessions s ON s.id = entries.session_id;
