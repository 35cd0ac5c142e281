
-- Issue 10: whether a user is busy reads participant_live_idx (the calls the
-- user is live in: a few rows, the joined ones among them), so every
-- participant row written no longer updates an index of its own for it.
DROP INDEX pgcall.participant_joined_idx;
