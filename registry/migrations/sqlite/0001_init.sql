-- Registry versions: each import is one version; the documents of a version are
-- the members, catalogue and responsibility list as canonical JSON.
CREATE TABLE registry_versions (
    version      INTEGER PRIMARY KEY,
    content_hash TEXT    NOT NULL,
    created_ms   INTEGER NOT NULL,
    effective_ms INTEGER NOT NULL,
    source       TEXT    NOT NULL
);

CREATE TABLE registry_documents (
    version INTEGER NOT NULL REFERENCES registry_versions (version),
    kind    TEXT    NOT NULL,
    body    TEXT    NOT NULL,
    PRIMARY KEY (version, kind)
);

-- The exchange log. One row holds the size; a batch of appends reserves its
-- indices by incrementing it inside the same transaction that inserts the
-- leaves, so indices are contiguous and gap-free whatever commits or fails.
CREATE TABLE log_meta (
    id         INTEGER PRIMARY KEY CHECK (id = 1),
    origin     TEXT    NOT NULL,
    hash_alg   TEXT    NOT NULL,
    created_ms INTEGER NOT NULL,
    size       INTEGER NOT NULL
);

CREATE TABLE log_leaves (
    idx        INTEGER PRIMARY KEY,
    leaf_hash  BLOB    NOT NULL,
    leaf       BLOB    NOT NULL,
    time_ms    INTEGER NOT NULL,
    request_id TEXT    NOT NULL,
    consumer   TEXT,
    provider   TEXT,
    resource   TEXT,
    outcome    TEXT    NOT NULL,
    code       TEXT
);

CREATE INDEX log_leaves_time ON log_leaves (time_ms);
CREATE INDEX log_leaves_request ON log_leaves (request_id);
