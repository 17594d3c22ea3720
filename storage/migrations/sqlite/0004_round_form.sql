-- 0004: each round names the form pack its members fill in (NULL: the configured default),
-- so a cell can move to a new form version in a new round without touching the old ones.
ALTER TABLE rounds ADD COLUMN form_id TEXT;
