
-- Issue 10: call_created_at_idx dropped.  Every query that orders or
-- filters calls by created_at also says which calls (live or ended), and
-- call_live_idx, call_analytics_idx or call_span_idx serve it: no plan
-- chose it, over 323,000 calls either, and every new call paid its entry.
DROP INDEX pgcall.call_created_at_idx;
