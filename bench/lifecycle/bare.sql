-- Plain copies of pgcall's tables (columns, defaults, checks, indexes,
-- the foreign keys) without triggers, functions or row-level security.
CREATE SCHEMA bare;
CREATE TABLE bare.call (LIKE pgcall.call INCLUDING ALL);
CREATE TABLE bare.participant (LIKE pgcall.participant INCLUDING ALL,
    FOREIGN KEY (call_id) REFERENCES bare.call (id) ON DELETE CASCADE);
CREATE TABLE bare.participant_session (LIKE pgcall.participant_session INCLUDING ALL,
    FOREIGN KEY (call_id, user_id) REFERENCES bare.participant (call_id, user_id) ON DELETE CASCADE);
CREATE SEQUENCE bare.event_id_seq AS bigint CACHE 1;
CREATE TABLE bare.event (LIKE pgcall.event INCLUDING ALL);
