-- Agents in a runner outlive the server: a session remembers which runner agent is its own
-- and the number of the last output of it that is stored, written in the same transaction
-- as the event that output made. A restarted server asks the runner for the rest.
ALTER TABLE sessions ADD COLUMN runner_agent TEXT;
ALTER TABLE sessions ADD COLUMN runner_seq INTEGER NOT NULL DEFAULT 0;
