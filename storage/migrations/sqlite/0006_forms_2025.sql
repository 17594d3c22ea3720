-- 0006: the 2025 forms (Quy định 366-QĐ/TW, Hướng dẫn 43-HD/BTCTW).
-- * Each member's category picks their form: 2A holds a leadership post ('leader'), 2B holds
--   none ('no_post'), 2C works outside the political system ('outside'). is_leader is kept
--   in step with it for the 2023 forms, which have only the leader/non-leader split.
-- * standing marks members who are not reviewed at all: exempted from Party work and
--   activities, or suspended (366 Điều 5 khoản 2, and 21-HD/BTCTW before it).
-- * A kept pre-fill (sections II.1, II.2, VI) is stored as such, so the draft is composed from
--   the follow-up answers as they stand when it is made, never from a stale copy.
-- * Rounds opened before this migration named no form when they used the configured default,
--   which was the 2023 form: they keep it, whatever the default is now.

ALTER TABLE members ADD COLUMN category TEXT NOT NULL DEFAULT 'no_post'
    CHECK (category IN ('leader', 'no_post', 'outside'));
UPDATE members SET category = 'leader' WHERE is_leader = 1;
ALTER TABLE members ADD COLUMN standing TEXT CHECK (standing IN ('exempted', 'suspended'));

ALTER TABLE answers ADD COLUMN prefilled INTEGER NOT NULL DEFAULT 0;
ALTER TABLE answer_history ADD COLUMN prefilled INTEGER NOT NULL DEFAULT 0;

UPDATE rounds SET form_id = 'form-02-2023' WHERE form_id IS NULL;
