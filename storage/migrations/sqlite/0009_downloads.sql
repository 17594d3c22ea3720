-- 0009: one-time download links (the .docx reaches a Zalo member as a link, since the Zalo Bot
-- API cannot send files) and the short-lived links of page previews Zalo's servers fetch.

-- Only the SHA-256 of a link's token is kept, as for invites. A 'docx' link is bound to one
-- submission version (review_id, version) and loads the draft from ``submissions`` when used;
-- a 'preview' (the PNG of page 1) or a 'file' that is no submission (the secretary's bundle)
-- keeps its bytes in ``content``, wiped once the link has expired or is used up.
-- ``member_id`` is the person the link was given to: every download is written to access_log
-- as theirs ('download' or 'preview'), with the draft's owner as the target.
CREATE TABLE downloads (
    id          INTEGER PRIMARY KEY,
    token_hash  TEXT NOT NULL UNIQUE,
    kind        TEXT NOT NULL CHECK (kind IN ('docx', 'preview', 'file')),
    review_id   INTEGER,
    version     INTEGER,
    member_id   INTEGER REFERENCES members(id),
    filename    TEXT NOT NULL,
    media_type  TEXT NOT NULL,
    content     BLOB,
    created_at  TEXT NOT NULL,
    expires_at  TEXT NOT NULL,
    max_uses    INTEGER NOT NULL,
    uses        INTEGER NOT NULL DEFAULT 0,
    FOREIGN KEY (review_id, version) REFERENCES submissions(review_id, version),
    CHECK (kind != 'docx' OR (review_id IS NOT NULL AND version IS NOT NULL))
);
CREATE INDEX downloads_expiry ON downloads(expires_at);
