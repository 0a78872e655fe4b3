-- Comparisons (issue 21): sessions asked the same prompt together ("Ask several"), each in
-- its own worktree made from one base commit of one project.
CREATE TABLE comparisons (
    id TEXT PRIMARY KEY NOT NULL,
    project_id TEXT NOT NULL,
    base_commit TEXT NOT NULL,
    prompt TEXT NOT NULL,
    created_at_ms INTEGER NOT NULL,
    -- The attempt kept ("Keep this one"), once chosen.
    kept_session TEXT
);
ALTER TABLE sessions ADD COLUMN compare_id TEXT;
