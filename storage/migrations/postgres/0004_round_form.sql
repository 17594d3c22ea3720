-- 0004 (PostgreSQL): each round names its form pack; see the SQLite file.
ALTER TABLE rounds ADD COLUMN form_id TEXT;
