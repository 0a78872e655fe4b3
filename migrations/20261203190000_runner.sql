-- Agents in a runner outlive the server. A restarted server asks the runner for the outputs
-- of the session's agent after the last one stored, which is the larger of:
--   * events.agent_output: the number of the output that made an event, written in the
--     event's own INSERT (so storing it costs nothing extra), counted from the event at
--     sessions.runner_from_seq on, where that agent's outputs began;
--   * sessions.runner_seq: the last output stored that made no event (rare: "ready").
ALTER TABLE events ADD COLUMN agent_output INTEGER;
ALTER TABLE sessions ADD COLUMN runner_agent TEXT;
ALTER TABLE sessions ADD COLUMN runner_from_seq INTEGER NOT NULL DEFAULT 0;
ALTER TABLE sessions ADD COLUMN runner_seq INTEGER NOT NULL DEFAULT 0;
