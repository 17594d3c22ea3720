-- 0003: planned reminders (the source of truth for what is sent when) and unreachable accounts.
-- Times are ISO-8601 UTC text with microseconds, so text order is time order.

CREATE TABLE reminders (
    id         TEXT PRIMARY KEY,           -- deterministic: r{round}:m{member}:{kind}:{day}
    round_id   INTEGER NOT NULL REFERENCES rounds(id),
    member_id  INTEGER NOT NULL REFERENCES members(id),  -- who receives it
    kind       TEXT NOT NULL,
    subject_id INTEGER,                    -- the member it is about (an "unreachable" notice)
    due_at     TEXT NOT NULL,              -- the planned moment; staleness is judged from it
    wake_at    TEXT NOT NULL,              -- not before: due_at, or later after quiet hours/retries
    status     TEXT NOT NULL DEFAULT 'planned'
               CHECK (status IN ('planned', 'sending', 'sent', 'dropped', 'failed')),
    attempts   INTEGER NOT NULL DEFAULT 0,
    sent_at    TEXT,
    note       TEXT
);
CREATE INDEX reminders_wake ON reminders(status, wake_at);
CREATE INDEX reminders_round ON reminders(round_id, status);

-- Set when the chat answered 403 (the person blocked the bot); cleared when they write again.
ALTER TABLE accounts ADD COLUMN unreachable_at TEXT;
