-- 0010 (PostgreSQL): the chats of the inbox, claimed one at a time by worker processes.

-- Several worker processes share the inbox (handlers.worker, PostgreSQL): one chat is
-- handled by one worker at a time, which holds the chat's row here locked (SELECT … FOR UPDATE
-- SKIP LOCKED) while it handles the chat's pending rows in ``id`` order, and marks each done
-- after handling it. The ingress writes the row with the update (ON CONFLICT DO NOTHING). A
-- worker killed mid-chat drops its connection, the lock goes with it, and another worker
-- takes the chat. SQLite has the same table (its one process does not need it).
CREATE TABLE inbox_chats (
    channel  TEXT NOT NULL,
    chat_key TEXT NOT NULL,
    PRIMARY KEY (channel, chat_key)
);
CREATE INDEX inbox_chat_pending ON inbox(state, channel, chat_key, id);
