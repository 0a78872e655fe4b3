-- The server-side read marker: everything up to this seq was read in some browser tab.
ALTER TABLE sessions ADD COLUMN read_seq INTEGER NOT NULL DEFAULT 0;
