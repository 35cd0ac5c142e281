-- Seed 003 speaks Socket.IO and REST, and pgcall.dialect_error words both:
-- an unknown socket event and an unknown route share SQLSTATE 42883.  The
-- REST route table's row ('Route not found', 42-dialect-rest-seeds.sql)
-- made every unknown socket event 'Route not found' instead of the
-- 'Unknown event "<name>"' seed 003's clients get (docs/migrating/seed003.md).
-- Without the row each keeps its own raised text, and an unknown route is
-- still 404 'Route not found' (pgcall.dialect_http_status, dialect_http's
-- message).
DELETE FROM pgcall.dialect_error WHERE dialect = 'seed003' AND sqlstate = '42883';
