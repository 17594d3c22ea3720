-- 0008: the outbox. Every message for someone other than the person speaking — a draft to the
-- officers, a returned or accepted draft, a committee point, a «nhắc», every reminder and
-- digest, the blocked-member notice — is a row here, written in the transaction of the change
-- that causes it, and sent by one sender for every channel (bot/delivery.py). Planned
-- reminders move in from ``reminders``: same ids, same states.
-- Times are ISO-8601 UTC text with microseconds, so text order is time order.

CREATE TABLE outbox (
    id          TEXT PRIMARY KEY,      -- reminders: r{round}:m{member}:{kind}:{day}; notices: n{hex}
    round_id    INTEGER REFERENCES rounds(id),
    member_id   INTEGER NOT NULL REFERENCES members(id),  -- who receives it
    kind        TEXT NOT NULL,         -- a reminder kind, or 'notice'
    subject_id  INTEGER,               -- the member a blocked-member notice is about
    template    TEXT,                  -- notices: the message template (reminders: from the kind)
    context     TEXT,                  -- notices: the template's facts, JSON; never answer text
    document    TEXT,                  -- {"review_id": …, "version": …}: loaded when sent
    quiet       INTEGER NOT NULL DEFAULT 1,  -- 1: waits for the end of quiet hours
    due_at      TEXT NOT NULL,         -- the planned moment; staleness is judged from it
    wake_at     TEXT NOT NULL,         -- not before: due_at, or later after quiet hours/retries
    status      TEXT NOT NULL DEFAULT 'planned'
                CHECK (status IN ('planned', 'sending', 'sent', 'dropped', 'failed')),
    attempts    INTEGER NOT NULL DEFAULT 0,
    channel     TEXT,                  -- the account it was last handed to
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

-- When an update from this account was last handled: notices go to the account used last.
ALTER TABLE accounts ADD COLUMN last_seen_at TEXT;
-- The last menu shown to this account that typed numbers and keywords resolve against
-- (JSON; NULL: the member's own review, which keeps its own binding in reviews.shown_qid).
ALTER TABLE accounts ADD COLUMN menu TEXT;
