-- 0008 (PostgreSQL): the outbox; see storage/migrations/sqlite/0008_outbox.sql.

CREATE TABLE outbox (
    id          TEXT PRIMARY KEY,
    round_id    BIGINT REFERENCES rounds(id),
    member_id   BIGINT NOT NULL REFERENCES members(id),
    kind        TEXT NOT NULL,
    subject_id  BIGINT,
    template    TEXT,
    context     TEXT,
    document    TEXT,
    quiet       INTEGER NOT NULL DEFAULT 1,
    due_at      TEXT NOT NULL,
    wake_at     TEXT NOT NULL,
    status      TEXT NOT NULL DEFAULT 'planned'
                CHECK (status IN ('planned', 'sending', 'sent', 'dropped', 'failed')),
    attempts    INTEGER NOT NULL DEFAULT 0,
    channel     TEXT,
    external_id TEXT,
    sent_at     TEXT,
    note        TEXT
);
INSERT INTO outbox (id, round_id, member_id, kind, subject_id, due_at, wake_at, status,
                    attempts, sent_at, note)
    SELECT id, round_id, member_id, kind, subject_id, due_at, wake_at, status, attempts,
           sent_at, note FROM reminders;
DROP TABLE reminders;
CREATE INDEX outbox_wake ON outbox(status, wake_at);
CREATE INDEX outbox_round ON outbox(round_id, status);

ALTER TABLE accounts ADD COLUMN last_seen_at TEXT;
ALTER TABLE accounts ADD COLUMN menu TEXT;
