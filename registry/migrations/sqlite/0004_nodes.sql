-- Gateway nodes sharing this store. Each node upserts its row about once a
-- second; a node whose heartbeat is older than a few seconds counts as gone.
-- The live count divides per-second rates between nodes; the rows also show
-- operators which node runs which registry version.
CREATE TABLE nodes (
    name             TEXT    PRIMARY KEY,
    exchange_addr    TEXT    NOT NULL,
    admin_addr       TEXT    NOT NULL,
    started_ms       INTEGER  NOT NULL,
    heartbeat_ms     INTEGER  NOT NULL,
    registry_version INTEGER  NOT NULL,
    integrator       INTEGER  NOT NULL
);
