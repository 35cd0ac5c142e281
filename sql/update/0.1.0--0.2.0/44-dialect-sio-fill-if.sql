-------------------------------------------------------------------------------
-- Dialect templates: a value chosen by a condition
--
-- {"$if": <path>, "$then": <template>, "$else": <template>} is $then filled
-- in when the path names a value other than null and false, else $else (null
-- without one).  Seed 001's active-call route answers data: null when the
-- room has no live call (not an object whose members are all left out), and
-- seed 004's routes word pgcall's kind and media in the seed's upper case
-- ({"$if": "$.out.call.kind == \"group\"", "$then": "GROUP", "$else": "DIRECT"}).
--
-- dialect_fill is C (extension/dialect_fill.c, declared in
-- 40-dialect-rest.sql); here its comment says what $if does.  Both constructs are
-- inbound only (the bridge's outbound mapper evaluates plain paths), so
-- dialect_template_ok now refuses their keys in outbound templates, where
-- they would have been sent as literal members.
-------------------------------------------------------------------------------

COMMENT ON FUNCTION pgcall.dialect_fill(jsonb, jsonb) IS
'A dialect template filled in from a context: every string that is a path ($. or $[) replaced by the value it names, members whose path names nothing left out; an object {"$each": <path>, "$to": <template>} becomes the array of the template filled in for each element of the array the path names (the element at $.item; [] when it names no array); an object {"$if": <path>, "$then": <template>, "$else": <template>} becomes $then filled in when the path names a value other than null and false, else $else (null without one).';

CREATE OR REPLACE FUNCTION pgcall.dialect_template_ok(template jsonb, outbound boolean DEFAULT false)
RETURNS boolean
LANGUAGE sql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT NOT EXISTS (
        SELECT FROM pg_catalog.jsonb_path_query(template, 'strict $.**') v
         WHERE pg_catalog.jsonb_typeof(v) = 'string'
           AND (v #>> '{}') ~ '^\$[.[]'
           AND NOT CASE WHEN outbound
                        THEN (v #>> '{}') ~ '^\$\.(event|me)(\.[A-Za-z0-9_]{1,63}|\[[0-9]{1,6}\])*$'
                        ELSE pg_catalog.jsonb_path_exists('{}', (v #>> '{}')::jsonpath) IS NOT NULL END)
       AND NOT (outbound AND EXISTS (
        SELECT FROM pg_catalog.jsonb_path_query(template, 'strict $.**') v
         WHERE pg_catalog.jsonb_typeof(v) = 'object'
           AND v ?| ARRAY['$each', '$to', '$if', '$then', '$else']))
$$;

COMMENT ON FUNCTION pgcall.dialect_template_ok(jsonb, boolean) IS
'Whether every path in a dialect template is usable: a valid SQL/JSON path inbound; outbound only $.event or $.me followed by .member and [index] steps (what the bridge evaluates), and none of the inbound constructs ($each/$to, $if/$then/$else).';
