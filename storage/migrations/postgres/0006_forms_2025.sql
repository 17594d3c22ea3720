-- 0006 (PostgreSQL): the 2025 forms; see storage/migrations/sqlite/0006_forms_2025.sql.

ALTER TABLE members ADD COLUMN category TEXT NOT NULL DEFAULT 'no_post'
    CHECK (category IN ('leader', 'no_post', 'outside'));
UPDATE members SET category = 'leader' WHERE is_leader = 1;
ALTER TABLE members ADD COLUMN standing TEXT CHECK (standing IN ('exempted', 'suspended'));

ALTER TABLE answers ADD COLUMN prefilled INTEGER NOT NULL DEFAULT 0;
ALTER TABLE answer_history ADD COLUMN prefilled INTEGER NOT NULL DEFAULT 0;

UPDATE rounds SET form_id = 'form-02-2023' WHERE form_id IS NULL;
