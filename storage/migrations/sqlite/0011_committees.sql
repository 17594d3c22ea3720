-- 0011: the committee above the cells (đảng ủy / chi ủy cơ sở), its officers, the web page's
-- one-time login links and sessions, and what a round keeps once its answer texts are purged.
-- Times are ISO-8601 UTC text with microseconds (storage.outbox.ts), so text order is time order.

-- A committee owns cells. Cells created before this migration named their committee as text
-- (cells.party_committee, printed in the forms' header): each distinct name becomes one
-- committee, and the text stays as the header.
CREATE TABLE committees (
    id         INTEGER PRIMARY KEY,
    name       TEXT NOT NULL,
    created_at TEXT NOT NULL
);
ALTER TABLE cells ADD COLUMN committee_id INTEGER REFERENCES committees(id);
INSERT INTO committees (name, created_at)
    SELECT party_committee, MIN(created_at) FROM cells WHERE party_committee != ''
    GROUP BY party_committee ORDER BY MIN(id);
UPDATE cells SET committee_id = (SELECT c.id FROM committees c WHERE c.name = cells.party_committee)
    WHERE party_committee != '';
CREATE INDEX cells_committee ON cells(committee_id);

-- Committee officers: a member (of any cell, or of a cell of its own where no round is held)
-- who sees every cell of the committee and nothing beyond it. Revoking deletes the row;
-- access_log keeps who granted and revoked it.
CREATE TABLE committee_officers (
    committee_id INTEGER NOT NULL REFERENCES committees(id),
    member_id    INTEGER NOT NULL REFERENCES members(id),
    created_at   TEXT NOT NULL,
    PRIMARY KEY (committee_id, member_id)
);
CREATE INDEX committee_officers_member ON committee_officers(member_id);

-- One-time login links for the web page, sent in the private chat: only the SHA-256 of the
-- token is kept; a link works once, for a few minutes.
CREATE TABLE web_logins (
    token_hash TEXT PRIMARY KEY,
    member_id  INTEGER NOT NULL REFERENCES members(id),
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    used_at    TEXT
);
-- A browser's session after a login: only the SHA-256 of the cookie's value is kept.
CREATE TABLE web_sessions (
    token_hash TEXT PRIMARY KEY,
    member_id  INTEGER NOT NULL REFERENCES members(id),
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    ended_at   TEXT
);
CREATE INDEX web_sessions_expiry ON web_sessions(expires_at);

-- What the web page and the committee's chat view looked at (a cell, a file), beside the
-- member the row is about.
ALTER TABLE access_log ADD COLUMN detail TEXT;

-- The member's proposed level and self-score as of their last submission, recorded with it:
-- the committee's view reads them without the answers, and they stay after a purge.
-- ``answered`` is the number of answered questions, kept when the answers themselves go.
ALTER TABLE reviews ADD COLUMN self_level TEXT;
ALTER TABLE reviews ADD COLUMN self_score INTEGER;
ALTER TABLE reviews ADD COLUMN answered INTEGER;
ALTER TABLE reviews ADD COLUMN purged_at TEXT;

-- Retention: when the round was closed, exported and purged. A round closed before this
-- migration has no closed_at: its meeting date stands in for it.
ALTER TABLE rounds ADD COLUMN closed_at TEXT;
ALTER TABLE rounds ADD COLUMN exported_at TEXT;
ALTER TABLE rounds ADD COLUMN purged_at TEXT;
