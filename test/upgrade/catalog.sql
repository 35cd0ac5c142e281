-- Everything an install of pgcall puts in the catalog, one line per fact, in
-- a stable order: what test/suites/93-upgrade compares between a fresh
-- install and an older release brought up to date with ALTER EXTENSION
-- UPDATE.  Oids, and the names PostgreSQL makes up, are left out.
\pset format unaligned
\pset tuples_only on
WITH ext AS (SELECT oid FROM pg_extension WHERE extname = 'pgcall'),
members AS (
    SELECT d.classid, d.objid
      FROM pg_depend d, ext
     WHERE d.refclassid = 'pg_extension'::regclass AND d.refobjid = ext.oid AND d.deptype = 'e'
)
SELECT line FROM (
    -- every member object, by its description
    SELECT 'member ' || pg_describe_object(classid, objid, 0) AS line FROM members
    UNION ALL
    -- functions: full definitions, owners' grants, comments
    SELECT 'function ' || p.oid::regprocedure::text || E'\n' || pg_get_functiondef(p.oid)
      FROM pg_proc p JOIN members m ON m.classid = 'pg_proc'::regclass AND m.objid = p.oid
     WHERE p.prokind <> 'a'
    UNION ALL
    SELECT 'function acl ' || p.oid::regprocedure::text || ' ' || coalesce(p.proacl::text, 'default')
      FROM pg_proc p JOIN members m ON m.classid = 'pg_proc'::regclass AND m.objid = p.oid
    UNION ALL
    SELECT 'comment ' || pg_describe_object(m.classid, m.objid, 0) || ': ' || obj_description(m.objid, c.relname)
      FROM members m JOIN pg_class c ON c.oid = m.classid
     WHERE obj_description(m.objid, c.relname) IS NOT NULL
    UNION ALL
    -- tables: columns, constraints, indexes, policies, RLS, grants
    SELECT format('column %s.%s %s%s%s', c.relname, a.attname, format_type(a.atttypid, a.atttypmod),
                  CASE WHEN a.attnotnull THEN ' not null' ELSE '' END,
                  coalesce(' default ' || pg_get_expr(ad.adbin, ad.adrelid), ''))
      FROM pg_class c JOIN members m ON m.classid = 'pg_class'::regclass AND m.objid = c.oid
      JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
      LEFT JOIN pg_attrdef ad ON ad.adrelid = c.oid AND ad.adnum = a.attnum
    UNION ALL
    SELECT format('constraint %s %s', c.relname, pg_get_constraintdef(k.oid))
      FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid
      JOIN members m ON m.classid = 'pg_class'::regclass AND m.objid = c.oid
    UNION ALL
    SELECT 'index ' || regexp_replace(pg_get_indexdef(i.indexrelid), '^CREATE (UNIQUE )?INDEX \S+', 'CREATE \1INDEX')
      FROM pg_index i JOIN members m ON m.classid = 'pg_class'::regclass AND m.objid = i.indrelid
    UNION ALL
    SELECT format('table %s rls %s force %s acl %s', c.relname, c.relrowsecurity, c.relforcerowsecurity,
                  coalesce(c.relacl::text, 'default'))
      FROM pg_class c JOIN members m ON m.classid = 'pg_class'::regclass AND m.objid = c.oid
    UNION ALL
    SELECT format('policy %s.%s %s %s to %s using %s check %s', tablename, policyname, permissive, cmd,
                  roles::text, coalesce(qual, '-'), coalesce(with_check, '-'))
      FROM pg_policies WHERE schemaname = 'pgcall'
    UNION ALL
    SELECT format('trigger %s', regexp_replace(pg_get_triggerdef(t.oid), ' ON \S+', ' ON ' || c.relname))
      FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
      JOIN members m ON m.classid = 'pg_class'::regclass AND m.objid = c.oid
     WHERE NOT t.tgisinternal
    UNION ALL
    -- data the install script seeds and the API depends on
    SELECT 'api_function ' || name FROM pgcall.api_function
    UNION ALL
    -- roles the extension creates or relies on, and their memberships among pgcall roles
    SELECT format('role %s member of %s', r.rolname, g.rolname)
      FROM pg_auth_members am JOIN pg_roles r ON r.oid = am.member JOIN pg_roles g ON g.oid = am.roleid
     WHERE r.rolname LIKE 'pgcall\_%' AND g.rolname LIKE 'pgcall\_%'
) facts
ORDER BY line;
