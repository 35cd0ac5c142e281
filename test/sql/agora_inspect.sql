-- pgcall.agora_token_inspect: Agora's published test vectors (app id
-- 970CA35d..., certificate 5CFd2fd1..., salt 1, issued at 1111111), the
-- certificate rotation, and every way a token can be malformed.

-- Without the parts that depend on the current time.
CREATE FUNCTION pg_temp.timeless(j jsonb) RETURNS jsonb
LANGUAGE sql AS $$
    SELECT CASE jsonb_typeof(j)
        WHEN 'object' THEN (SELECT coalesce(jsonb_object_agg(k, pg_temp.timeless(v)), '{}')
                              FROM jsonb_each(j) AS e(k, v) WHERE k NOT IN ('expires_in', 'expired'))
        WHEN 'array' THEN (SELECT coalesce(jsonb_agg(pg_temp.timeless(v)), '[]')
                             FROM jsonb_array_elements(j) AS e(v))
        ELSE j END
$$;

CREATE TEMP TABLE vector (name text PRIMARY KEY, token text, channel text, account text);
INSERT INTO vector (name, token) VALUES
  ('007 rtc uid', '007eJxTYBBbsMMnKq7p9Hf/HcIX5kce9b518kCiQgSr5Zrp4X1Tu6UUGCzNDZwdjU1TUs0Mkk1MzExMk5ISUy0SjQxNDcwMk4yN3b8IMEQwMTAwMoAwBIL4CgzmKeZGxmamqUmWFsYmFqbGluapxqnGaZYpJmYGSSkpiVwMRhYWRsYmhkbmxgDCaiTj'),
  ('007 rtc any user', '007eJxTYLhzZP08Lxa1Pg57+TcXb/3cZ3wi4V6kbpbOog0G2dOYk20UGCzNDZwdjU1TUs0Mkk1MzExMk5ISUy0SjQxNDcwMk4yN3b8IMEQwMTAwMoAwBIL4CgzmKeZGxmamqUmWFsYmFqbGluapxqnGaZYpJmYGSSkpiQwMADacImo='),
  ('007 rtc and rtm', '007eJxTYOAQsrQ5s3TfH+1tvy8zZZ46EpCc0V43JXdGd2jS8porKo4KDJbmBs6OxqYpqWYGySYmZiamSUmJqRaJRoamBmaGScbG7l8EGCKYGBgYGRgYmBgYGVgYGMF8JjDJDCZZwKQCg3mKuZGxmWlqkqWFsYmFqbGleapxqnGaZYqJmUFSSkoiF4ORhYWRsYmhkbkxyCyISZwMJanFJfGlxalFACKnKng='),
  ('007 chat user', '007eJxTYNAIsnbS3v/A5t2TC6feR15r+6cq8bqAvfaW+tk/Vzz+p6xTYLA0N3B2NDZNSTUzSDYxMTMxTUpKTLVINDI0NTAzTDI2dv8iwBDBxMDAyADCrAyMDIxgPheDkYWFkbGJoZG5MQAfpR64'),
  ('007 streaming, fcdn, rtm2 from C++', '007eJxTYPj86Lzdz79M25wNn/lMfvu+TkfmdpiviKvChm8ZV3SWndytwGBpbuDsaGyakmpmkGxiYmZimpSUmGqRaGRoamBmmGRs7P5FgCGCiYGBkYGBgRkImYAsEJ8JTCowmKeYGxmbmaYmWVoYm1iYGluapxqnGqdZppiYGSSlpCRyMRhZWBgZmxgamRuzUaSbA6gXopuToSS1uCS+tDi1iJkB4jQmoGBuanFxYnqqbiKCmcTIAIEcDMUlRamJubqJLGD1jAxsDCD9uokAO/VDvQ=='),
  ('006 rtc uid', '006970CA35de60c44645bbae8a215061b33IACV0fZUBw+72cVoL9eyGGh3Q6Poi8bgjwVLnyKSJyOXR7dIfRBXoFHlEAABAAAAR/QQAAEAAQCvKDdW'),
  ('006 rtc publisher', '006970CA35de60c44645bbae8a215061b33IACMv3I+fsRSejxy6luEwzA/1t/zbEHWfJCJ5m8ssFP/fLdIfRBXoFHlIgABAAAAR/QQAAQAAQCvKDdWAgCvKDdWAwCvKDdWBACvKDdW'),
  ('006 rtm', '006970CA35de60c44645bbae8a215061b33IAAsR0qgiCxv0vrpRcpkz5BrbfEWCBZ6kvR6t7qG/wJIQob86ogAAAAAEAABAAAAR/QQAAEA6AOvKDdW');

-- Unconfigured: the token decodes; the signature cannot be checked.
SELECT jsonb_pretty(pg_temp.timeless(pgcall.agora_token_inspect(token))) FROM vector WHERE name = '007 rtc uid';

SET pgcall.agora_app_id = '970CA35de60c44645bbae8a215061b33';
SELECT pgcall.set_secret('agora_app_certificate', '5CFd2fd1755d40ecb72977518be15d3b');

-- Every vector, in full; 006 ones with the channel and uid they were made
-- for, which they hold only as checksums.
UPDATE vector SET channel = '7d72365eb983485397e3e3f9d460bdda', account = '2882341273' WHERE name LIKE '006 rtc%';
UPDATE vector SET channel = 'test_user' WHERE name = '006 rtm';
SELECT name, jsonb_pretty(pg_temp.timeless(pgcall.agora_token_inspect(token, channel, account))) FROM vector ORDER BY name;

-- Without the channel and uid, a 006 signature cannot be checked.
SELECT pgcall.agora_token_inspect(token)->'signature' AS without_channel
  FROM vector WHERE name = '006 rtc uid';
SELECT pgcall.agora_token_inspect(token, '7d72365eb983485397e3e3f9d460bdda', '2882341274')->'signature' AS wrong_uid,
       pgcall.agora_token_inspect(token, '7d72365eb983485397e3e3f9d460bddb', '2882341273')->'channel_matches' AS wrong_channel
  FROM vector WHERE name = '006 rtc uid';
SELECT pgcall.agora_token_inspect(token, 'test_user')->'signature' AS rtm_with_user_id
  FROM vector WHERE name = '006 rtm';
-- 007 tokens carry channel and uid; given ones are compared.
SELECT j->'channel_matches' AS channel_matches, j->'account_matches' AS account_matches
  FROM vector, pgcall.agora_token_inspect(token, '7d72365eb983485397e3e3f9d460bdda', 'nobody') AS j
 WHERE name = '007 rtc uid';

-- Certificate rotation: the secondary certificate is tried after the
-- primary, and the answer says which one signed.
SELECT pgcall.set_secret('agora_app_certificate', 'ffffffffffffffffffffffffffffffff');
SELECT name, pgcall.agora_token_inspect(token)->'signature' AS signature
  FROM vector WHERE name LIKE '007%' ORDER BY name;
SELECT pgcall.set_secret('agora_app_certificate_secondary', '5CFd2fd1755d40ecb72977518be15d3b');
SELECT name, pgcall.agora_token_inspect(token)->'signature' AS signature
  FROM vector WHERE name LIKE '007%' ORDER BY name;
SELECT name, pgcall.agora_token_inspect(token, 'test_user')->'signature' AS signature
  FROM vector WHERE name = '006 rtm';
SELECT pgcall.set_secret('agora_app_certificate', '5CFd2fd1755d40ecb72977518be15d3b');
SELECT pgcall.set_secret('agora_app_certificate_secondary', NULL);

-- Another app id configured: inspect says the token is not for it (the
-- signature depends on the certificate only).
SET pgcall.agora_app_id = '0123456789abcdef0123456789abcdef';
SELECT j->'app_id_matches' AS app_id_matches, j->'signature' AS signature
  FROM vector, pgcall.agora_token_inspect(token) AS j WHERE name = '007 rtc uid';
SET pgcall.agora_app_id = '970CA35de60c44645bbae8a215061b33';

-- A token changed in transit: another byte of content fails the signature.
SELECT pgcall.agora_token_inspect(overlay(token placing 'A' from 40 for 1), '7d72365eb983485397e3e3f9d460bdda', '2882341273')->'signature' AS altered
  FROM vector WHERE name = '006 rtc uid';

-- Surrounding whitespace is ignored; NULL gives NULL.
SELECT pgcall.agora_token_inspect(E'  ' || token || E'\n')->'signature' AS padded
  FROM vector WHERE name = '007 rtc uid';
SELECT pgcall.agora_token_inspect(NULL) IS NULL AS null_token;

-- Malformed tokens (P400H): the message says what is wrong.
SELECT pgcall.agora_token_inspect('');
SELECT pgcall.agora_token_inspect('   ');
SELECT pgcall.agora_token_inspect('hello');
SELECT pgcall.agora_token_inspect('00');
SELECT pgcall.agora_token_inspect('005AQAoAEJERTJDRDdFNkZDNkU0ODYxNkYxQTYwOUVFNTM1M0U5ODNCQjFDNDQQAJcMo13mDERkW7roohUGGzOwKDdW9buDA68oN1YAAA==');
SELECT pgcall.agora_token_inspect('007');
SELECT pgcall.agora_token_inspect('007invalid');
SELECT pgcall.agora_token_inspect('007eJ');
SELECT pgcall.agora_token_inspect(left(token, 60)) FROM vector WHERE name = '007 rtc uid';
SELECT pgcall.agora_token_inspect(left(token, -1)) FROM vector WHERE name = '007 rtc uid';
SELECT pgcall.agora_token_inspect(token || 'AAAA') FROM vector WHERE name = '007 rtc uid';
SELECT pgcall.agora_token_inspect(replace(token, '+', ' ')) FROM vector WHERE name = '007 rtc and rtm';
SELECT pgcall.agora_token_inspect(replace(token, '/', '_')) FROM vector WHERE name = '007 rtc uid';
SELECT pgcall.agora_token_inspect('007' || encode(convert_to('not zlib at all', 'UTF8'), 'base64'));
-- Hand-made contents (a dummy signature) for each way the fields can break.
SELECT pgcall.agora_token_inspect('007eJwDAAAAAAE=');
SELECT pgcall.agora_token_inspect('007eJxTYBAkAFgZLM0NnB0ZGRgYmICYmQEEAGqsA3A=');
SELECT pgcall.agora_token_inspect('007eJxTYBAkABQYLM0NnB0BO2kDhQ==');
SELECT pgcall.agora_token_inspect('007eJxTYBAkABQYLM0NnB2NTVNSzQySTUzMTEyTkhJTLRKNDE0NzAyTjI3dvwgwRDAxMDAygDAjwwtmANy5DTM=');
SELECT pgcall.agora_token_inspect('007eJxTYBAkABQYLM0NnB2NTVNSzQySTUzMTEyTkhJTLRKNDE0NzAyTjI3dvwgwRDAxMDAygDCI5GJITEoGABrZDXg=');
-- Decodable oddities are reported, not refused: an unknown service type
-- (decoding stops there, as in Agora's decoders), bytes after the last field.
SELECT pg_temp.timeless(pgcall.agora_token_inspect('007eJxTYBAkABQYLM0NnB2NTVNSzQySTUzMTEyTkhJTLRKNDE0NzAyTjI3dvwgwRDAxMDAygHAyQ0VlFQDr7A4V')) - 'app_id';
SELECT pg_temp.timeless(pgcall.agora_token_inspect('007eJxTYBAkABQYLM0NnB2NTVNSzQySTUzMTEyTkhJTLRKNDE0NzAyTjI3dvwgwRDAxMDAygEBVFQDDvg06')) - 'app_id';
SELECT pgcall.agora_token_inspect('007' || repeat('A', 20000));
SELECT pgcall.agora_token_inspect('006invalid');
SELECT pgcall.agora_token_inspect('006970CA35de60c44645bbae8a215061b33');
SELECT pgcall.agora_token_inspect('006970CA35de60c44645bbae8a215061bZZIACV0fZUBw');
SELECT pgcall.agora_token_inspect(left(token, 80)) FROM vector WHERE name = '006 rtc uid';
SELECT pgcall.agora_token_inspect(left(token, 36)) FROM vector WHERE name = '006 rtc uid';
SELECT pgcall.agora_token_inspect('006970CA35de60c44645bbae8a215061b33!!!!');

SELECT pgcall.set_secret('agora_app_certificate', NULL);
RESET pgcall.agora_app_id;
