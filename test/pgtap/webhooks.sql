-- Webhooks: endpoint URL rules, who may manage endpoints, that signing
-- secrets stay unreadable, the outbox pgcall.webhook_enqueue() writes (offline
-- rings, their stop, filters) and the state machine of a delivery (claim,
-- lease, concurrency, report, back-off, dead letter, replay, purge).  The
-- capture at commit itself is in test/sql/webhooks.sql (pgTAP rolls back).
BEGIN;
SELECT plan(73);

SELECT pgcall.webhook_event_types() LIMIT 1;	-- load the library: its settings exist
SET LOCAL pgcall.webhook_allow_private = off;
SET LOCAL pgcall.webhook_max_attempts = 3;

CREATE FUNCTION pg_temp.as_role(r text) RETURNS void LANGUAGE sql AS $$
    SELECT set_config('role', r, true);
    SELECT set_config('request.jwt.claims', json_build_object('sub', 'tap-' || r, 'role', r)::text, true);
$$;
CREATE FUNCTION pg_temp.due() RETURNS void LANGUAGE sql AS $$
    UPDATE pgcall.webhook_delivery SET next_attempt_at = now() - interval '1 second'
     WHERE status IN ('pending', 'delivering')
$$;

-- URL rules ------------------------------------------------------------------

SELECT is(pgcall.webhook_url_check('HTTPS://Hooks.Example.COM'), 'https://hooks.example.com/', 'scheme and host lower-cased, a path added');
SELECT is(pgcall.webhook_url_check('https://example.com:8443/p/q?x=1'), 'https://example.com:8443/p/q?x=1', 'port, path and query kept');
SELECT is(pgcall.webhook_url_check('http://93.184.216.34/hook'), 'http://93.184.216.34/hook', 'a public address');
SELECT throws_ok($$SELECT pgcall.webhook_url_check('ftp://example.com/')$$, 'P400W', NULL, 'only http and https');
SELECT throws_ok($$SELECT pgcall.webhook_url_check('https://user:pw@example.com/')$$, 'P400W', NULL, 'no credentials in the URL');
SELECT throws_ok($$SELECT pgcall.webhook_url_check('https://example.com/#frag')$$, 'P400W', NULL, 'no fragment');
SELECT throws_ok($$SELECT pgcall.webhook_url_check('https://exa mple.com/')$$, 'P400W', NULL, 'no spaces');
SELECT throws_ok($$SELECT pgcall.webhook_url_check(E'https://example.com/\n')$$, 'P400W', NULL, 'no control characters');
SELECT throws_ok($$SELECT pgcall.webhook_url_check('https://example.com:0/')$$, 'P400W', NULL, 'port 0');
SELECT throws_ok($$SELECT pgcall.webhook_url_check('https://example.com:70000/')$$, 'P400W', NULL, 'port above 65535');
SELECT throws_ok($$SELECT pgcall.webhook_url_check('https:///x')$$, 'P400W', NULL, 'no host');
SELECT throws_ok($$SELECT pgcall.webhook_url_check('http://127.0.0.1/')$$, 'P400W',
    $$webhook URL 'http://127.0.0.1/': points at a loopback, private or link-local address$$, 'loopback refused by default');
SELECT throws_ok($$SELECT pgcall.webhook_url_check('http://localhost:8080/')$$, 'P400W', NULL, 'localhost refused');
SELECT throws_ok($$SELECT pgcall.webhook_url_check('http://10.1.2.3/')$$, 'P400W', NULL, '10/8 refused');
SELECT throws_ok($$SELECT pgcall.webhook_url_check('http://172.20.0.1/')$$, 'P400W', NULL, '172.16/12 refused');
SELECT throws_ok($$SELECT pgcall.webhook_url_check('http://192.168.1.1/')$$, 'P400W', NULL, '192.168/16 refused');
SELECT throws_ok($$SELECT pgcall.webhook_url_check('http://[::1]/')$$, 'P400W', NULL, '::1 refused');
SELECT throws_ok($$SELECT pgcall.webhook_url_check('http://[fe80::1]/')$$, 'P400W', NULL, 'IPv6 link-local refused');
SELECT throws_ok($$SELECT pgcall.webhook_url_check('http://[::ffff:127.0.0.1]/')$$, 'P400W', NULL, 'IPv4-mapped loopback refused');
SELECT throws_ok($$SELECT pgcall.webhook_url_check('http://2130706433/')$$, 'P400W', NULL, 'a decimal IPv4 address refused');
SELECT throws_ok($$SELECT pgcall.webhook_url_check('http://0x7f.1/')$$, 'P400W', NULL, 'a hex IPv4 address refused');
SET LOCAL pgcall.webhook_allow_private = on;
SELECT is(pgcall.webhook_url_check('http://127.0.0.1:9/h'), 'http://127.0.0.1:9/h', 'loopback allowed with webhook_allow_private');
SELECT throws_ok($$SELECT pgcall.webhook_url_check('http://169.254.169.254/latest/meta-data')$$, 'P400W',
    $$webhook URL 'http://169.254.169.254/latest/meta-data': points at an address no webhook may use (unspecified, multicast, reserved or cloud metadata)$$,
    'cloud metadata refused even then');
SELECT throws_ok($$SELECT pgcall.webhook_url_check('http://[fd00:ec2::254]/')$$, 'P400W', NULL, 'AWS IPv6 metadata refused even then');
SELECT throws_ok($$SELECT pgcall.webhook_url_check('http://0.0.0.0/')$$, 'P400W', NULL, '0.0.0.0 refused even then');

-- Endpoints and who may manage them -----------------------------------------

SELECT pg_temp.as_role('pgcall_user');
SELECT throws_ok($$SELECT pgcall.webhook_endpoint_create('https://example.com/')$$, '42501', NULL, 'an end user may not create endpoints');
SELECT throws_ok($$SELECT pgcall.webhook_endpoints()$$, '42501', NULL, 'nor list them');
SELECT throws_ok($$SELECT * FROM pgcall.webhook_delivery$$, '42501', NULL, 'nor read the outbox');
RESET ROLE;

SELECT pg_temp.as_role('pgcall_backend');
CREATE TEMP TABLE ep AS SELECT pgcall.webhook_endpoint_create('http://127.0.0.1:9/all') AS j;
SELECT matches((SELECT j->>'secret' FROM ep), '^whsec_[0-9a-f]{64}$', 'a backend creates an endpoint and sees its secret once');
SELECT ok(NOT (SELECT e ? 'secret' FROM pgcall.webhook_endpoints() e LIMIT 1), 'listing never shows a secret');
SELECT is((SELECT (e->>'secret_set')::boolean FROM pgcall.webhook_endpoints() e LIMIT 1), true, 'but says one is set');
SELECT throws_ok($$SELECT * FROM pgcall.secret$$, '42501', NULL, 'a backend cannot read pgcall.secret');
SELECT throws_ok($$SELECT pgcall.webhook_sign(1, 1, 'x')$$, '42501', NULL, 'nor make pgcall sign a body');
SELECT throws_ok($$SELECT pgcall.webhook_enqueue('[]')$$, '42501', NULL, 'nor write the outbox directly');
SELECT throws_ok($$SELECT * FROM pgcall.bridge_webhook_claim(gen_random_uuid(), 1)$$, '42501', NULL, 'nor claim deliveries');
SELECT throws_ok($$SELECT pgcall.webhook_endpoint_create('https://example.com/', ARRAY['call.nope'])$$, 'P400X',
    $$unknown webhook event type 'call.nope'$$, 'unknown event types refused');
SELECT throws_ok($$SELECT pgcall.webhook_endpoint_create('https://example.com/', ARRAY['call.signal'])$$, 'P400X', NULL,
    'call.signal is not a webhook event');
SELECT throws_ok($$SELECT pgcall.webhook_endpoint_create('https://example.com/', NULL, false, 0)$$, 'P400X', NULL, 'max_concurrency 0 refused');
SELECT throws_ok($$SELECT pgcall.webhook_endpoint_update(999999, enabled => false)$$, 'P404C', NULL, 'unknown endpoint');
RESET ROLE;

SELECT pg_temp.as_role('pgcall_admin');
CREATE TEMP TABLE ep2 AS SELECT pgcall.webhook_endpoint_create('http://127.0.0.1:9/offline',
    ARRAY['call.ring_offline', 'call.incoming'], true, 1) AS j;
SELECT is((SELECT j->'event_types' FROM ep2), '["call.incoming", "call.ring_offline"]'::jsonb, 'an admin creates one too; types sorted');
RESET ROLE;
SELECT is((SELECT count(*)::int FROM pgcall.secret WHERE name LIKE 'webhook:%'), 2, 'each endpoint has its secret in pgcall.secret');

-- The outbox -------------------------------------------------------------------

INSERT INTO pgcall.profile VALUES ('tap-caller', 'Tap Caller', 'https://example.com/t.png');
SELECT set_config('pgcall.user_id', 'tap-caller', true);
CREATE TEMP TABLE c AS SELECT (pgcall.call_start(ARRAY['tap-off', 'tap-on'], 'video') -> 'call' ->> 'id')::uuid AS id;
SELECT set_config('pgcall.user_id', '', true);
INSERT INTO pgcall.bridge (id) VALUES ('00000000-0000-0000-0000-0000000000b1');
INSERT INTO pgcall.presence (bridge_id, user_id, connections) VALUES ('00000000-0000-0000-0000-0000000000b1', 'tap-on', 1);

SELECT pgcall.webhook_enqueue(jsonb_build_array(
    jsonb_build_object('t', 'call.started', 'c', (SELECT id FROM c), 'r', jsonb_build_array('tap-caller')),
    jsonb_build_object('t', 'call.incoming', 'c', (SELECT id FROM c), 'r', jsonb_build_array('tap-off', 'tap-on'))));

SELECT bag_eq($$SELECT e.j->>'url', d.event_type, (d.body::jsonb->'recipients')::text
                 FROM pgcall.webhook_delivery d JOIN (SELECT j FROM ep UNION ALL SELECT j FROM ep2) e
                   ON (e.j->>'id')::bigint = d.endpoint_id$$,
    $$VALUES ('http://127.0.0.1:9/all', 'call.started', '["tap-caller"]'),
             ('http://127.0.0.1:9/all', 'call.incoming', '["tap-off", "tap-on"]'),
             ('http://127.0.0.1:9/all', 'call.ring_offline', '["tap-off"]'),
             ('http://127.0.0.1:9/offline', 'call.incoming', '["tap-off"]'),
             ('http://127.0.0.1:9/offline', 'call.ring_offline', '["tap-off"]')$$,
    'one delivery per event and endpoint; a ring_offline for the callee with no socket; only_offline drops the online one');
SELECT is((SELECT body::jsonb - 'id' - 'created_at' - 'call' FROM pgcall.webhook_delivery
            WHERE event_type = 'call.ring_offline' LIMIT 1),
    jsonb_build_object('type', 'call.ring_offline', 'recipients', '["tap-off"]'::jsonb,
        'caller', '{"user_id": "tap-caller", "display_name": "Tap Caller", "avatar_url": "https://example.com/t.png"}'::jsonb,
        'callee', jsonb_build_object('user_id', 'tap-off', 'status', 'invited',
            'ring_deadline', (SELECT ring_deadline FROM pgcall.participant WHERE user_id = 'tap-off'))),
    'the offline ring carries caller name and avatar, callee and ring deadline');
SELECT is((SELECT body::jsonb->'call'->>'media' FROM pgcall.webhook_delivery WHERE event_type = 'call.ring_offline' LIMIT 1),
    'video', 'and the media type');
SELECT ok((SELECT bool_and(body::jsonb->>'id' = delivery_id::text) FROM pgcall.webhook_delivery),
    'body.id is the delivery (idempotency) id');

UPDATE pgcall.participant SET status = 'declined', ring_deadline = NULL, reason = 'busy'
 WHERE call_id = (SELECT id FROM c) AND user_id = 'tap-off';
SELECT pgcall.webhook_enqueue(jsonb_build_array(
    jsonb_build_object('t', 'participant.declined', 'c', (SELECT id FROM c), 'r', jsonb_build_array('tap-off'))));
SELECT is((SELECT body::jsonb->>'reason' FROM pgcall.webhook_delivery WHERE event_type = 'call.ring_stopped'),
    'declined', 'when the offline callee stops ringing: call.ring_stopped with the reason');
SELECT pgcall.webhook_enqueue(jsonb_build_array(
    jsonb_build_object('t', 'participant.declined', 'c', (SELECT id FROM c), 'r', jsonb_build_array('tap-off'))));
SELECT is((SELECT count(*)::int FROM pgcall.webhook_delivery WHERE event_type = 'call.ring_stopped'), 1, 'and only once');

-- The state machine of a delivery -------------------------------------------

DELETE FROM pgcall.webhook_delivery WHERE endpoint_id <> (SELECT (j->>'id')::bigint FROM ep2);
SELECT pg_temp.due();
SET LOCAL ROLE pgcall_bridge;
CREATE TEMP TABLE claimed AS SELECT * FROM pgcall.bridge_webhook_claim('00000000-0000-0000-0000-0000000000b1', 10);
RESET ROLE;
SELECT is((SELECT count(*)::int FROM claimed), 1, 'max_concurrency 1: one of the two is claimed');
SELECT matches((SELECT signature FROM claimed), '^t=[0-9]+,v1=[0-9a-f]{64}$', 'signed');
SELECT is((SELECT signature FROM claimed),
    (SELECT pgcall.webhook_sign(d.endpoint_id, split_part(split_part(c.signature, ',', 1), '=', 2)::bigint, d.body)
       FROM claimed c JOIN pgcall.webhook_delivery d ON d.id = c.id),
    'over "t.body" with the endpoint secret');
SELECT is((SELECT (status, attempts, leased_by)::text FROM pgcall.webhook_delivery WHERE id = (SELECT id FROM claimed)),
    '(delivering,1,00000000-0000-0000-0000-0000000000b1)', 'leased to the bridge, attempt 1');
SELECT is((SELECT count(*)::int FROM pgcall.bridge_webhook_claim('00000000-0000-0000-0000-0000000000b2', 10)), 0,
    'another bridge gets nothing while the endpoint is at its limit');

SET LOCAL ROLE pgcall_bridge;
SELECT is(pgcall.bridge_webhook_report('00000000-0000-0000-0000-0000000000b2',
    jsonb_build_array(jsonb_build_object('id', (SELECT id FROM claimed), 'attempt', 1, 'status', 200))), 0,
    'a report from a bridge that does not hold the lease is dropped');
SELECT is(pgcall.bridge_webhook_report('00000000-0000-0000-0000-0000000000b1',
    jsonb_build_array(jsonb_build_object('id', (SELECT id FROM claimed), 'attempt', 7, 'status', 200))), 0,
    'so is one for another attempt');
SELECT is(pgcall.bridge_webhook_report('00000000-0000-0000-0000-0000000000b1',
    jsonb_build_array(jsonb_build_object('id', (SELECT id FROM claimed), 'attempt', 1, 'status', 503,
                                         'latency_ms', 12, 'error', 'HTTP 503'))), 1, 'a failure is reported');
RESET ROLE;
SELECT is((SELECT (status, last_status, next_attempt_at > now())::text FROM pgcall.webhook_delivery WHERE id = (SELECT id FROM claimed)),
    '(pending,503,t)', 'and retried later');
SELECT is((SELECT (attempt, http_status, latency_ms, error)::text FROM pgcall.webhook_attempts((SELECT id FROM claimed))),
    '(1,503,12,"HTTP 503")', 'the log has the attempt');

-- a lease that runs out: the next claim logs it and sends again
SELECT pg_temp.due();
DELETE FROM claimed;
INSERT INTO claimed SELECT * FROM pgcall.bridge_webhook_claim('00000000-0000-0000-0000-0000000000b1', 1);
SELECT is((SELECT attempt FROM claimed), 2, 'attempt 2');
SELECT pg_temp.due();
DELETE FROM claimed;
INSERT INTO claimed SELECT * FROM pgcall.bridge_webhook_claim('00000000-0000-0000-0000-0000000000b2', 1);
SELECT is((SELECT attempt FROM claimed), 3, 'a lease that ran out is taken over (attempt 3)');
SELECT is((SELECT error FROM pgcall.webhook_attempts((SELECT id FROM claimed)) WHERE attempt = 2),
    'no report from the bridge before its lease ran out', 'the lost attempt is in the log');
SELECT throws_ok(format('SELECT pgcall.webhook_replay(%s)', (SELECT id FROM claimed)), 'P409F', NULL,
    'no replay while an attempt is in flight');
SELECT is(pgcall.bridge_webhook_report('00000000-0000-0000-0000-0000000000b2',
    jsonb_build_array(jsonb_build_object('id', (SELECT id FROM claimed), 'attempt', 3, 'status', null, 'error', 'reset'))), 1,
    'the last allowed attempt fails');
SELECT is((SELECT (status, finished_at IS NOT NULL)::text FROM pgcall.webhook_delivery WHERE id = (SELECT id FROM claimed)),
    '(dead,t)', 'after webhook_max_attempts it is dead');
SELECT is(pgcall.webhook_replay((SELECT id FROM claimed)), true, 'replayed');
SELECT is((SELECT (status, attempt_limit)::text FROM pgcall.webhook_delivery WHERE id = (SELECT id FROM claimed)),
    '(pending,6)', 'pending again, with webhook_max_attempts more attempts');
SELECT pg_temp.due();
DELETE FROM claimed;
INSERT INTO claimed SELECT * FROM pgcall.bridge_webhook_claim('00000000-0000-0000-0000-0000000000b1', 5);
SELECT is(pgcall.bridge_webhook_report('00000000-0000-0000-0000-0000000000b1',
    (SELECT jsonb_agg(jsonb_build_object('id', id, 'attempt', attempt, 'status', 204)) FROM claimed)), 1,
    'delivered');
SELECT is((SELECT status FROM pgcall.webhook_delivery WHERE id = (SELECT id FROM claimed)), 'delivered', 'status delivered');
SELECT throws_ok($$SELECT pgcall.webhook_replay(-1)$$, 'P404D', NULL, 'unknown delivery');
SELECT throws_ok($$SELECT pgcall.webhook_purge(NULL, 'delivering')$$, 'P400M', NULL, 'in-flight ones cannot be purged');
SELECT is(pgcall.webhook_purge(NULL, 'delivered'), 1, 'purge delivered ones');

-- disabled endpoints are not claimed
SELECT pgcall.webhook_endpoint_update((SELECT (j->>'id')::bigint FROM ep2), enabled => false);
SELECT pg_temp.due();
SELECT is((SELECT count(*)::int FROM pgcall.bridge_webhook_claim('00000000-0000-0000-0000-0000000000b1', 10)), 0,
    'nothing is claimed for a disabled endpoint');
SELECT is(pgcall.webhook_endpoint_delete((SELECT (j->>'id')::bigint FROM ep2)), true, 'deleted');
SELECT is((SELECT count(*)::int FROM pgcall.secret WHERE name = 'webhook:' || (SELECT j->>'id' FROM ep2)), 0, 'with its secret');

SELECT * FROM finish();
ROLLBACK;
