-- pgcall 0.1.0 -> 0.2.0 (ALTER EXTENSION pgcall UPDATE).
--
-- Made by `make sql` from sql/update/0.1.0--0.2.0/*.sql, in name order: one
-- file per change, so changes made side by side do not collide.  Every
-- change here is also in the fresh install script, and test/suites/93-upgrade
-- compares the two catalogs.

\echo Use "ALTER EXTENSION pgcall UPDATE TO '0.2.0'" to load this file. \quit
