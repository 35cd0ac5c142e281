// errors.js: what to tell a person when pgcall refuses something.
//
// One sentence per SQLSTATE of pgcall.error_codes() (the browser tests
// check that every code the database can raise has one here), plus the
// bridge's own refusals (PGRST…, PostgREST's codes) and the socket's
// ('offline', 'timeout').  The database's message stays available as
// details: these are for people, it is for developers.

export const MESSAGES = {
  // 400: what was sent is not acceptable
  P400A: 'That channel name cannot be used.',
  P400B: 'That account name cannot be used.',
  P400C: 'That numeric user id is out of range.',
  P400D: 'The Agora app id is not set up correctly.',
  P400E: 'The Agora app certificate is not set up correctly.',
  P400F: 'That lifetime is too short or too long.',
  P400G: 'That token role does not exist.',
  P400H: 'That token is damaged or is not an Agora token.',
  P400I: 'That user id is empty, too long or has characters that are not allowed.',
  P400J: 'That secret is unknown or its value does not fit it.',
  P400K: 'A pgcall setting on the server has a value that cannot be used: ask the operator.',
  P400L: 'A call is either audio or video.',
  P400M: 'That status is not one pgcall knows.',
  P400N: 'The connection details sent to the other side were not understood.',
  P400O: 'Pick at least one person, each only once, and not yourself.',
  P400P: 'That number of results is out of the allowed range.',
  P400Q: 'That reason is not allowed or is too long.',
  P400R: 'Something needed for this is missing.',
  P400S: 'The title is empty or too long, or the description is too long.',
  P400T: 'That period, grouping or time zone is not allowed.',
  P400U: 'That call preference has a value that is not allowed.',
  P400V: 'That is more people than one call may ring at once.',
  P400W: 'That webhook address cannot be used: it must be http(s), without credentials, and not a private or local address.',
  P400X: 'Those webhook settings are not valid: check the event types and limits.',
  P400Y: 'That is more people than the people list can follow at once (1,000 at most).',
  // 401 and 403: who you are and what you may do
  P401A: 'You are not signed in.',
  P403A: 'You cannot act for someone else.',
  P403B: 'You are not part of this call.',
  P403C: 'This call is private and you were not invited.',
  P403D: 'Only the host can do this for everyone.',
  P403E: 'You were removed from this call and cannot join it again.',
  P403F: 'Only administrators can do this.',
  P403G: 'User ids are hidden: administrators see pseudonyms only.',
  // 404 and 409: the call as it is now
  P404A: 'That call does not exist.',
  P404B: 'That person is not in this call.',
  P404C: 'That webhook endpoint does not exist.',
  P404D: 'That webhook delivery does not exist.',
  P409A: 'The call was already answered, possibly on another of your devices.',
  P409B: 'The call has already ended.',
  P409C: 'That cannot be done in the call\'s current state.',
  P409D: 'The call is full.',
  P409E: 'This call has already rung as many people as it may.',
  P409F: 'That webhook delivery is being sent right now: try again in a moment.',
  P410A: 'Some updates were missed while offline: the page reloaded what it shows.',
  P413A: 'That message is too large to send.',
  P429A: 'Too many requests: wait a moment and try again.',
  // 503: the server is not set up for it, or is busy
  P503A: 'Agora is not set up on this server.',
  P503B: 'No relay (TURN) server is set up: calls may not connect across networks.',
  P503C: 'Pseudonymous reports are on but not set up: ask the operator to set the pseudonym key.',
  P503D: 'The server is busy with this call: try again.',
  P503E: 'That webhook endpoint has no signing secret: rotate its secret first.',

  // the bridge (PostgREST's codes)
  PGRST000: 'The server cannot reach its database: try again shortly.',
  PGRST001: 'The server cannot reach its database: try again shortly.',
  PGRST003: 'The server is too busy right now: try again shortly.',
  PGRST100: 'The request was not understood.',
  PGRST101: 'That request method is not allowed here.',
  PGRST106: 'That part of the API is not available.',
  PGRST116: 'No single result was found.',
  PGRST202: 'The server does not offer that function.',
  PGRST203: 'The request matches more than one function: name all arguments.',
  PGRST301: 'Your sign-in token is not valid: sign in again.',
  PGRST302: 'You need to sign in for this.',
  PGRST303: 'Your sign-in has expired or is not accepted: sign in again.',
  PGRST403: 'That is not allowed.',
  PGRST404: 'Not found.',
  PGRST408: 'The request took too long to arrive.',
  PGRST411: 'The request is missing its length.',
  PGRST413: 'The request is too large.',
  PGRST414: 'The request address is too long.',
  PGRST426: 'This address needs a WebSocket.',
  PGRST429: 'Too many connections or requests: wait a moment and try again.',
  PGRST431: 'The request headers are too large.',
  PGRST503: 'The server is shutting down or overloaded: try again shortly.',
  // PostgreSQL itself
  42501: 'You do not have permission to do this.',
  // the page's socket
  offline: 'You are offline: the page reconnects by itself.',
  timeout: 'The server did not answer in time: try again.',
};

// A sentence for a refusal err ({code, message, ...}); what, when given,
// says what was being done ("Could not end the call").
export function explain(err, what = '') {
  const text = MESSAGES[err?.code] ?? err?.message ?? String(err);
  return what ? `${what}: ${text}` : text;
}
