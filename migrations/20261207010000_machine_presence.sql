-- Which server node a machine's runner is connected to, until when (renewed by that node's
-- sweep): with several nodes, the sessions of a machine's projects are driven by the node
-- its runner dialled (issue 23). Unused with one server.
ALTER TABLE machines ADD COLUMN node_id TEXT;
ALTER TABLE machines ADD COLUMN node_until_ms INTEGER;
