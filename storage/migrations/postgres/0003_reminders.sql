-- 0003 (PostgreSQL): planned reminders and unreachable accounts; see the SQLite file.

CREATE TABLE reminders (
    id         TEXT PRIMARY KEY,
    round_id   BIGINT NOT NULL REFERENCES rounds(id),
    member_id  BIGINT NOT NULL REFERENCES members(id),
    kind       TEXT NOT NULL,
    subject_id BIGINT,
    due_at     TEXT NOT NULL,
    wake_at    TEXT NOT NULL,
    status     TEXT NOT NULL DEFAULT 'planned'
               CHECK (status IN ('planned', 'sending', 'sent', 'dropped', 'failed')),
    attempts   INTEGER NOT NULL DEFAULT 0,
    sent_at    TEXT,
    note       TEXT
);
CREATE INDEX reminders_wake ON reminders(status, wake_at);
CREATE INDEX reminders_round ON reminders(round_id, status);

ALTER TABLE accounts ADD COLUMN unreachable_at TEXT;
