-- 0013: a review's level and score are recorded once, even when the draft proposes neither.
-- Before, "never recorded" was read as "both empty", so a draft without a level or score was
-- read again at every start (bot/results.py). Results already recorded count as recorded.
ALTER TABLE reviews ADD COLUMN result_recorded INTEGER NOT NULL DEFAULT 0;
UPDATE reviews SET result_recorded = 1 WHERE self_level IS NOT NULL OR self_score IS NOT NULL;
