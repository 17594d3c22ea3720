-- 0012: indexes the hot paths were missing (issue 10).
-- A leader's review and the desk read a round's collective shortcomings; every start forgets
-- the claimed updates older than a week. Both scanned their whole table.
CREATE INDEX collective_shortcomings_round ON collective_shortcomings(round_id);
CREATE INDEX processed_events_at ON processed_events(at);
