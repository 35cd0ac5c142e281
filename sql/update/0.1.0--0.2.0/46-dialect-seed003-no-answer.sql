-------------------------------------------------------------------------------
-- Seed 003's REST status words (docs/migrating/seed003.md): the seed says
-- no-answer while a call rings ("still ringing"), so its initiate reply and
-- its history say so too; an initiate that ended at once (the receiver
-- offline) says its end reason, as reject and end do.
-------------------------------------------------------------------------------

UPDATE pgcall.dialect_route
   SET response = jsonb_set(response, '{data,status}',
           '{"$if": "$.out.call.status == \"ringing\"", "$then": "no-answer",
             "$else": {"$if": "$.out.call.status == \"ended\"", "$then": "$.out.call.end_reason",
                       "$else": "$.out.call.status"}}')
 WHERE dialect = 'seed003' AND method = 'POST' AND path = '/api/calls/initiate';

UPDATE pgcall.dialect_route
   SET response = jsonb_set(response, '{data,$to,status}',
           '{"$if": "$.item.status == \"ringing\"", "$then": "no-answer", "$else": "$.item.status"}')
 WHERE dialect = 'seed003' AND method = 'GET' AND path IN ('/api/calls/history', '/api/calls/missed');
