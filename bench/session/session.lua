-- wrk: one seed-000 "session" request (a caller starting a call) by a
-- random user to a random other user.  MODE=node posts the seed's shape to
-- /api/calls/session; MODE=pgcall posts to /rpc/call_session with the
-- caller's JWT (line i of $TOKENS is user u<i>'s).
local tokens = {}
local mode = os.getenv("MODE")

function init(args)
  for line in io.lines(os.getenv("TOKENS")) do tokens[#tokens + 1] = line end
  math.randomseed(os.time() + tonumber(tostring({}):sub(8), 16) % 100000)
end

function request()
  local i = math.random(#tokens)
  local b = math.random(1000000)
  if mode == "node" then
    return wrk.format("POST", "/api/calls/session", { ["Content-Type"] = "application/json" },
      string.format('{"userId":"u%d","otherUserId":"v%d","type":"voice"}', i, b))
  end
  return wrk.format("POST", "/rpc/call_session", {
    ["Authorization"] = "Bearer " .. tokens[i],
    ["Content-Type"] = "application/json",
  }, string.format('{"other_user":"v%d","type":"voice"}', b))
end

local non200 = 0
function response(status, headers, body)
  if status ~= 200 then
    non200 = non200 + 1
    if non200 <= 3 then io.stderr:write("status " .. status .. ": " .. body .. "\n") end
  end
end
