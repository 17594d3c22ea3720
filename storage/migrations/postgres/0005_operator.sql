-- 0005 (PostgreSQL): access_log.actor_id may be NULL (the operator at the command line).
-- SQLite rebuilds the table; PostgreSQL relaxes the column in place.
ALTER TABLE access_log ALTER COLUMN actor_id DROP NOT NULL;
CREATE INDEX access_log_target ON access_log(target_id);
