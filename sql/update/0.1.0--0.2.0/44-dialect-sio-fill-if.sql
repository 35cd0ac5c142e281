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
-- dialect_fill is the one of 40-dialect-rest.sql ($each/$to) with $if added:
-- a later change to either must be made here too.  Both constructs are
-- inbound only (the bridge's outbound mapper evaluates plain paths), so
-- dialect_template_ok now refuses their keys in outbound templates, where
-- they would have been sent as literal members.
-------------------------------------------------------------------------------

CREATE OR REPLACE FUNCTION pgcall.dialect_fill(template jsonb, ctx jsonb)
RETURNS jsonb
LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    k text;
    v jsonb;
    r jsonb;
    result jsonb;
BEGIN
    CASE jsonb_typeof(template)
    WHEN 'object' THEN
        IF template ? '$if' AND template ? '$then' THEN
            r := CASE WHEN jsonb_typeof(template -> '$if') = 'string'
                      THEN jsonb_path_query_first(ctx, (template ->> '$if')::jsonpath) END;
            IF r IS NOT NULL AND r NOT IN ('null', 'false') THEN
                RETURN pgcall.dialect_fill(template -> '$then', ctx);
            END IF;
            RETURN coalesce(pgcall.dialect_fill(template -> '$else', ctx), 'null');
        END IF;
        IF template ? '$each' AND template ? '$to' THEN
            r := CASE WHEN jsonb_typeof(template -> '$each') = 'string'
                      THEN jsonb_path_query_first(ctx, (template ->> '$each')::jsonpath) END;
            IF jsonb_typeof(r) IS DISTINCT FROM 'array' THEN
                RETURN '[]';
            END IF;
            SELECT coalesce(jsonb_agg(pgcall.dialect_fill(template -> '$to',
                                                          ctx || jsonb_build_object('item', e)) ORDER BY n), '[]')
              INTO result
              FROM jsonb_array_elements(r) WITH ORDINALITY AS a(e, n);
            RETURN result;
        END IF;
        result := '{}';
        FOR k, v IN SELECT * FROM jsonb_each(template) LOOP
            IF jsonb_typeof(v) = 'string' AND (v #>> '{}') ~ '^\$[.[]' THEN
                r := jsonb_path_query_first(ctx, (v #>> '{}')::jsonpath);
                CONTINUE WHEN r IS NULL;
            ELSE
                r := pgcall.dialect_fill(v, ctx);
            END IF;
            result := result || jsonb_build_object(k, r);
        END LOOP;
        RETURN result;
    WHEN 'array' THEN
        SELECT coalesce(jsonb_agg(pgcall.dialect_fill(e, ctx) ORDER BY n), '[]')
          INTO result
          FROM jsonb_array_elements(template) WITH ORDINALITY AS a(e, n);
        RETURN result;
    WHEN 'string' THEN
        IF (template #>> '{}') ~ '^\$[.[]' THEN
            RETURN coalesce(jsonb_path_query_first(ctx, (template #>> '{}')::jsonpath), 'null');
        END IF;
        RETURN template;
    ELSE
        RETURN template;
    END CASE;
END
$$;

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
