
-- Issue 10: a large call's event recipients stored out of line without
-- compression (pglz cost 2 million instructions a row inside the commit's
-- serialized part).  Rows already written keep their compressed lists.
ALTER TABLE pgcall.event ALTER COLUMN recipients SET STORAGE EXTERNAL;
