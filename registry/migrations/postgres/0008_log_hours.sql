-- Exchanges counted per hour, so that an overview of a day or a month reads
-- at most 24 × 31 hours of counts instead of every leaf of the period. The
-- integrator adds the leaves it integrates in the same transaction that
-- moves the tree (src/tree.rs), so the counts cover exactly the leaves the
-- latest checkpoint covers. A missing consumer, provider, resource, list
-- entry or code is counted under '-'. `hour_ms` is the first millisecond of
-- the leaf's hour (by its `time_ms`), Unix time.
CREATE TABLE log_hours (
    hour_ms  BIGINT  NOT NULL,
    consumer TEXT    NOT NULL,
    provider TEXT    NOT NULL,
    resource TEXT    NOT NULL,
    entry    TEXT    NOT NULL,
    outcome  TEXT    NOT NULL,
    code     TEXT    NOT NULL,
    count    BIGINT  NOT NULL,
    PRIMARY KEY (hour_ms, consumer, provider, resource, entry, outcome, code)
);

-- The leaves integrated before this migration.
INSERT INTO log_hours (hour_ms, consumer, provider, resource, entry, outcome, code, count)
SELECT (time_ms / 3600000) * 3600000, COALESCE(consumer, '-'), COALESCE(provider, '-'),
       COALESCE(resource, '-'), COALESCE(convert_from(leaf, 'UTF8')::jsonb ->> 'entry', '-'),
       outcome, COALESCE(code, '-'), COUNT(*)
FROM log_leaves
WHERE idx < (SELECT size FROM log_tree WHERE id = 1)
GROUP BY 1, 2, 3, 4, 5, 6, 7;
