-- 0002: what the cell's secretary does: decisions on drafts, points raised by the
-- committee (gợi ý kiểm điểm), the collective's shortcomings, roster uploads awaiting
-- confirmation, the secretary's pending question, and who opened which draft.

ALTER TABLE reviews ADD COLUMN decision TEXT CHECK (decision IN ('returned', 'accepted'));
ALTER TABLE reviews ADD COLUMN decision_comment TEXT;
ALTER TABLE reviews ADD COLUMN decided_at TEXT;
ALTER TABLE reviews ADD COLUMN decided_by INTEGER REFERENCES members(id);
ALTER TABLE members ADD COLUMN joined_on TEXT;

-- Points a member must explain (section IV) and last round's shortcomings carried into
-- section III, one row each, in the order the member is asked.
CREATE TABLE review_items (
    id         INTEGER PRIMARY KEY,
    round_id   INTEGER NOT NULL REFERENCES rounds(id),
    member_id  INTEGER NOT NULL REFERENCES members(id),
    kind       TEXT NOT NULL CHECK (kind IN ('suggestion', 'carryover')),
    text       TEXT NOT NULL,
    created_by INTEGER REFERENCES members(id),
    created_at TEXT NOT NULL
);
CREATE INDEX review_items_member ON review_items(round_id, member_id, kind);

-- The collective's shortcomings; members holding posts explain their share (section V).
CREATE TABLE collective_shortcomings (
    id         INTEGER PRIMARY KEY,
    round_id   INTEGER NOT NULL REFERENCES rounds(id),
    text       TEXT NOT NULL,
    created_by INTEGER REFERENCES members(id),
    created_at TEXT NOT NULL
);

-- What an officer's next typed message means (a comment on a returned draft, a point…).
CREATE TABLE officer_prompts (
    member_id  INTEGER PRIMARY KEY REFERENCES members(id),
    kind       TEXT NOT NULL,
    target_id  INTEGER,
    created_at TEXT NOT NULL
);

CREATE TABLE roster_uploads (
    id          INTEGER PRIMARY KEY,
    cell_id     INTEGER NOT NULL REFERENCES cells(id),
    uploaded_by INTEGER NOT NULL REFERENCES members(id),
    filename    TEXT NOT NULL,
    content     BLOB NOT NULL,
    created_at  TEXT NOT NULL,
    status      TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'imported', 'rejected'))
);

-- Who opened, returned or accepted whose draft, and when.
CREATE TABLE access_log (
    id        INTEGER PRIMARY KEY,
    actor_id  INTEGER NOT NULL REFERENCES members(id),
    action    TEXT NOT NULL,
    target_id INTEGER REFERENCES members(id),
    at        TEXT NOT NULL
);
