-- The exchange log's Merkle tree. Appends write leaves only (0001); one
-- integrator at a time reads the leaves past `log_tree.size`, computes the node
-- hashes they complete and signs a checkpoint, all in one transaction that
-- moves `log_tree.size` forward only if it still holds the size it started
-- from. So the nodes and checkpoints always describe one tree, whatever
-- crashes or races.
CREATE TABLE log_tree (
    id   INTEGER PRIMARY KEY CHECK (id = 1),
    size INTEGER NOT NULL
);
INSERT INTO log_tree (id, size) VALUES (1, 0);

-- Every complete-subtree hash, keyed by its position in the append-only
-- sequence of stored hashes (RFC 9162 trees in tlog order: leaf hash, then
-- the subtrees that leaf completes, bottom up).
CREATE TABLE log_nodes (
    id   INTEGER PRIMARY KEY,
    hash BLOB    NOT NULL
);

-- Signed checkpoints (C2SP signed notes), one per integration.
CREATE TABLE log_checkpoints (
    size    INTEGER PRIMARY KEY,
    root    BLOB    NOT NULL,
    note    TEXT    NOT NULL,
    time_ms INTEGER NOT NULL
);

-- Regulators filter leaves by these.
CREATE INDEX log_leaves_consumer ON log_leaves (consumer, idx);
CREATE INDEX log_leaves_provider ON log_leaves (provider, idx);
CREATE INDEX log_leaves_resource ON log_leaves (resource, idx);
