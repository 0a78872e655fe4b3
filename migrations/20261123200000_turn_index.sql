-- Pages of a long transcript start at user messages (whole turns): finding the Nth newest
-- user message before a seq reads this index instead of every event's JSON.
CREATE INDEX events_user_messages ON events (session_id, seq)
    WHERE json_extract(body, '$.type') = 'user_message';
