-- Projects: folders of the user's code that sessions run in (issue 17).
CREATE TABLE projects (
    id TEXT PRIMARY KEY NOT NULL,
    name TEXT NOT NULL,
    -- Canonical folder path; one project per folder.
    path TEXT NOT NULL UNIQUE,
    created_at_ms INTEGER NOT NULL
);

-- The project a session belongs to (sessions stored before projects get one made from
-- their cwd at start-up), and its git worktree as JSON (Worktree: path, branch,
-- base_branch, base_commit) when it has one.
ALTER TABLE sessions ADD COLUMN project_id TEXT;
ALTER TABLE sessions ADD COLUMN worktree TEXT;
