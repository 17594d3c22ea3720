-- 0001: cells, members, their chat accounts, invites, rounds, reviews and answers.
-- Times are ISO-8601 UTC text; dates are ISO-8601 text.

CREATE TABLE cells (
    id              INTEGER PRIMARY KEY,
    name            TEXT NOT NULL,
    party_committee TEXT NOT NULL DEFAULT '',
    place           TEXT NOT NULL DEFAULT '',
    created_at      TEXT NOT NULL
);

CREATE TABLE members (
    id          INTEGER PRIMARY KEY,
    cell_id     INTEGER NOT NULL REFERENCES cells(id),
    full_name   TEXT NOT NULL,
    birth_date  TEXT,
    party_post  TEXT,
    gov_post    TEXT,
    mass_post   TEXT,
    work_unit   TEXT,
    is_leader   INTEGER NOT NULL DEFAULT 0,
    role        TEXT NOT NULL DEFAULT 'member' CHECK (role IN ('member', 'secretary', 'deputy')),
    active      INTEGER NOT NULL DEFAULT 1,
    created_at  TEXT NOT NULL
);
CREATE INDEX members_cell ON members(cell_id);

-- A person's identity on one channel; one account belongs to one member.
CREATE TABLE accounts (
    channel     TEXT NOT NULL,
    external_id TEXT NOT NULL,
    member_id   INTEGER NOT NULL REFERENCES members(id),
    linked_at   TEXT NOT NULL,
    PRIMARY KEY (channel, external_id)
);
CREATE INDEX accounts_member ON accounts(member_id);

-- Only the SHA-256 of an invite code is kept.
CREATE TABLE invites (
    id          INTEGER PRIMARY KEY,
    code_hash   TEXT NOT NULL UNIQUE,
    member_id   INTEGER NOT NULL REFERENCES members(id),
    created_at  TEXT NOT NULL,
    expires_at  TEXT NOT NULL,
    used_at     TEXT,
    used_by     TEXT,
    revoked_at  TEXT
);

CREATE TABLE link_failures (
    id          INTEGER PRIMARY KEY,
    channel     TEXT NOT NULL,
    external_id TEXT NOT NULL,
    at          TEXT NOT NULL
);
CREATE INDEX link_failures_who ON link_failures(channel, external_id, at);

CREATE TABLE rounds (
    id           INTEGER PRIMARY KEY,
    cell_id      INTEGER NOT NULL REFERENCES cells(id),
    year         INTEGER NOT NULL,
    title        TEXT NOT NULL,
    meeting_date TEXT NOT NULL,
    member_due   TEXT NOT NULL,
    status       TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'closed')),
    created_at   TEXT NOT NULL
);
CREATE UNIQUE INDEX rounds_one_open ON rounds(cell_id) WHERE status = 'open';

CREATE TABLE reviews (
    id                INTEGER PRIMARY KEY,
    round_id          INTEGER NOT NULL REFERENCES rounds(id),
    member_id         INTEGER NOT NULL REFERENCES members(id),
    status            TEXT NOT NULL DEFAULT 'in_progress'
                      CHECK (status IN ('in_progress', 'submitted')),
    cursor            TEXT,
    pending_qid       TEXT,
    pending_text      TEXT,
    pending_warned    INTEGER NOT NULL DEFAULT 0,
    submitted_version INTEGER NOT NULL DEFAULT 0,
    created_at        TEXT NOT NULL,
    UNIQUE (round_id, member_id)
);

-- The current answer to each question ...
CREATE TABLE answers (
    review_id  INTEGER NOT NULL REFERENCES reviews(id),
    qid        TEXT NOT NULL,
    value      TEXT,
    skipped    INTEGER NOT NULL DEFAULT 0,
    vague      INTEGER NOT NULL DEFAULT 0,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (review_id, qid)
);

-- ... and every answer ever given, oldest first, so an edit never destroys anything.
CREATE TABLE answer_history (
    id          INTEGER PRIMARY KEY,
    review_id   INTEGER NOT NULL REFERENCES reviews(id),
    qid         TEXT NOT NULL,
    value       TEXT,
    skipped     INTEGER NOT NULL,
    vague       INTEGER NOT NULL,
    recorded_at TEXT NOT NULL
);
CREATE INDEX answer_history_review ON answer_history(review_id, qid);

CREATE TABLE submissions (
    review_id  INTEGER NOT NULL REFERENCES reviews(id),
    version    INTEGER NOT NULL,
    created_at TEXT NOT NULL,
    filename   TEXT NOT NULL,
    docx       BLOB NOT NULL,
    PRIMARY KEY (review_id, version)
);

-- Updates already handled, so a re-delivered update changes nothing.
CREATE TABLE processed_events (
    key TEXT PRIMARY KEY,
    at  TEXT NOT NULL
);
