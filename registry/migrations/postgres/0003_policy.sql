-- Quota usage per list entry, consumer and period (d:YYYY-MM-DD, m:YYYY-MM in
-- China Standard Time). Incremented atomically with a conditional upsert, so
-- the count never passes the limit, on one node or many.
CREATE TABLE quota_usage (
    entry    TEXT    NOT NULL,
    consumer TEXT    NOT NULL,
    period   TEXT    NOT NULL,
    count    BIGINT NOT NULL,
    PRIMARY KEY (entry, consumer, period)
);

CREATE INDEX registry_versions_effective ON registry_versions (effective_ms);
