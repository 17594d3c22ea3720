-- 0005: operations shared by the command line and the secretary's desk.
-- access_log: actor_id may now be NULL, meaning the operator at the command line (who is
-- no member); SQLite cannot relax NOT NULL in place, so the table is rebuilt.

CREATE TABLE access_log_new (
    id        INTEGER PRIMARY KEY,
    actor_id  INTEGER REFERENCES members(id),
    action    TEXT NOT NULL,
    target_id INTEGER REFERENCES members(id),
    at        TEXT NOT NULL
);
INSERT INTO access_log_new (id, actor_id, action, target_id, at)
    SELECT id, actor_id, action, target_id, at FROM access_log;
DROP TABLE access_log;
ALTER TABLE access_log_new RENAME TO access_log;
CREATE INDEX access_log_target ON access_log(target_id);
