-- 0007: the inbox (every update stored before the channel is told it arrived), what the member
-- was last shown, and invite codes kept until the secretary has received them.

-- One row per update a channel delivered, written (and committed) before the channel is told
-- it was received, then handled from here: pending -> done once every handler has finished.
-- ``update_key`` is the channel's own id (Telegram's update_id), so a delivery repeated after
-- a crash is recognised; ``chat_key`` orders the work: one chat's rows are handled strictly in
-- ``id`` order, different chats at once. ``attempts`` counts the starts that found the row
-- still pending; a row that keeps a restarted process from finishing is set aside ('failed').
-- The payload (it holds what the member wrote) is dropped once the row is done.
CREATE TABLE inbox (
    id          INTEGER PRIMARY KEY,
    channel     TEXT NOT NULL,
    update_key  TEXT NOT NULL,
    chat_key    TEXT NOT NULL,
    payload     TEXT,
    received_at TEXT NOT NULL,
    state       TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'done', 'failed')),
    attempts    INTEGER NOT NULL DEFAULT 0,
    done_at     TEXT,
    UNIQUE (channel, update_key)
);
CREATE INDEX inbox_pending ON inbox(channel, state, id);

-- The question (or "#sum", the review list) the member was last shown, so a typed choice is
-- applied only to the question on their screen. ``reply_lost`` is set when the reply to the
-- member's last message could not be delivered: the next message shows where they stand.
ALTER TABLE reviews ADD COLUMN shown_qid TEXT;
ALTER TABLE reviews ADD COLUMN reply_lost INTEGER NOT NULL DEFAULT 0;

-- Invite codes issued by a roster import, in plain text only until the secretary's chat has
-- received the list (then the rows are deleted; only the hash in ``invites`` remains). A crash
-- while the list is being sent therefore cannot lose a code: the list is sent again from here.
CREATE TABLE invite_handover (
    upload_id  INTEGER NOT NULL REFERENCES roster_uploads(id),
    member_id  INTEGER NOT NULL REFERENCES members(id),
    code       TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    PRIMARY KEY (upload_id, member_id)
);
