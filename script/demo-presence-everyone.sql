-- The demo's presence policy: every signed-in user sees everyone's presence,
-- so the people list of the demo shows who is online.  pgcall's own default
-- is private (only people who share a live call or room); a real app
-- replaces pgcall.presence_visible with its own rule (docs/presence.md).
CREATE OR REPLACE FUNCTION pgcall.presence_visible(viewer text, subject text)
RETURNS boolean
LANGUAGE sql STABLE
AS $$ SELECT true $$;
