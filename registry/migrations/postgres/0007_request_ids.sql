-- Request ids as idempotency keys: a consumer's Yrdx-Request-Id names one
-- request for a day. The row binds the id to what was asked (fingerprint:
-- SHA-256 of the API, path, query and body), the first leaf that recorded it,
-- and whether that request was counted against period quotas. While a request
-- with the id is being answered, busy_until_ms holds it; a row past
-- expires_ms is removed by the node.
CREATE TABLE request_ids (
    consumer      TEXT    NOT NULL,
    request_id    TEXT    NOT NULL,
    fingerprint   TEXT    NOT NULL,
    first_leaf    BIGINT,
    counted       BIGINT  NOT NULL,
    busy_until_ms BIGINT  NOT NULL,
    expires_ms    BIGINT  NOT NULL,
    PRIMARY KEY (consumer, request_id)
);
CREATE INDEX request_ids_expiry ON request_ids (expires_ms);
