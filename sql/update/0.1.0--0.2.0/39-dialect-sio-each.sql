-------------------------------------------------------------------------------
-- Dialect templates: arrays reshaped element by element
--
-- {"$each": <path to an array>, "$to": <template>} fills the template in once
-- per element of the array, with the element at $.item ([] when the path
-- names no array).  Seed 001's call_participants (the call's participants in
-- the seed's camelCase) needs it.  The REST dialects (40-dialect-rest.sql)
-- define dialect_fill the same way; whichever part comes last replaces it
-- with the same function.  Inbound only: outbound templates keep to the
-- paths the bridge evaluates ($.event and $.me), so a "$to" with $.item
-- paths is refused there by dialect_template_ok.
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
'A dialect template filled in from a context: every string that is a path ($. or $[) replaced by the value it names, members whose path names nothing left out; an object {"$each": <path>, "$to": <template>} becomes the array of the template filled in for each element of the array the path names (the element at $.item; [] when it names no array).';
