-- Quota reservations: a node takes a block of calls from a counter in
-- quota_usage and grants them from memory. A counter's limit binds its count
-- plus every node's reservation. A node writes back what it spent and renews
-- its rows about once a second; a row not renewed for the lease time belongs
-- to a node that is gone, and the next node to touch the counter counts it as
-- spent and deletes it.
CREATE TABLE quota_leases (
    entry      TEXT    NOT NULL,
    consumer   TEXT    NOT NULL,
    period     TEXT    NOT NULL,
    node       TEXT    NOT NULL,
    units      BIGINT  NOT NULL,
    renewed_ms BIGINT  NOT NULL,
    PRIMARY KEY (entry, consumer, period, node)
);
CREATE INDEX quota_leases_node ON quota_leases (node);
