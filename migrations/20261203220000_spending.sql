-- Spending (issue 21). One row per finished turn with what it cost, written in the same
-- transaction as its TurnCompleted event: budgets add these up, the Usage page groups them
-- by day, project and agent (joined through sessions).
CREATE TABLE turn_spend (
    session_id TEXT NOT NULL,
    -- The seq of the turn's TurnCompleted event.
    seq INTEGER NOT NULL,
    ended_at_ms INTEGER NOT NULL,
    -- US dollars, when the agent reported a cost; NULL when it reports none.
    cost_usd REAL,
    -- Input plus output tokens (cache reads and writes are not counted).
    tokens INTEGER NOT NULL,
    -- 1 when the cost is the agent's own estimate (Claude Code prices tokens itself).
    estimated INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (session_id, seq)
);
CREATE INDEX turn_spend_by_time ON turn_spend (ended_at_ms);

-- Turns stored before this migration.
INSERT INTO turn_spend (session_id, seq, ended_at_ms, cost_usd, tokens, estimated)
SELECT session_id, seq, created_at_ms,
       json_extract(body, '$.usage.cost_usd'),
       coalesce(json_extract(body, '$.usage.input_tokens'), 0)
         + coalesce(json_extract(body, '$.usage.output_tokens'), 0),
       coalesce(json_extract(body, '$.usage.cost_estimated'), 0)
FROM events WHERE json_extract(body, '$.type') = 'turn_completed';

-- Budgets set in the UI (they override Leptos.toml's [budgets]). scope: 'session' (target:
-- the session id), 'project' (target: the project id) or 'day' (target: ''). A NULL limit
-- is no limit in that unit.
CREATE TABLE budgets (
    scope TEXT NOT NULL,
    target TEXT NOT NULL DEFAULT '',
    max_usd REAL,
    max_tokens INTEGER,
    PRIMARY KEY (scope, target)
);
