-- Several server nodes (issue 23): a session's rev (one more per published metadata change)
-- is stored with the row, so a node that takes the session over, or a restarted server,
-- goes on counting where the last one stopped and browsers keep applying its patches.
ALTER TABLE sessions ADD COLUMN rev INTEGER NOT NULL DEFAULT 0;
