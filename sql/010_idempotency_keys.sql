-- HTTP `Idempotency-Key` (POST /v1/reports): the first answer to an upload sent with a key, so a client that
-- retries (a lost answer, a timeout) gets the same answer and nothing is ingested again.
--
-- Keyed by the store token's store and the key (a key belongs to the store that used it). `body_digest` is
-- SHA-256 over the upload's files (every part's bytes), so the same key with another body is refused.
-- An accepted upload's row is written in the upload's own transaction (atomic with the data); a rejection's
-- right after. Rows older than 24 hours no longer count: the daemon ignores them and deletes them
-- opportunistically (created_at index); a new upload with an expired key replaces its row.
CREATE TABLE ops.idempotency_key (
    store_code   text        NOT NULL,
    key          text        NOT NULL CHECK (length(key) BETWEEN 1 AND 200),
    body_digest  text        NOT NULL,
    status       int         NOT NULL CHECK (status BETWEEN 100 AND 599),
    answer       text        NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (store_code, key)
);
CREATE INDEX idempotency_key_created_idx ON ops.idempotency_key (created_at);
