-- wrk: POST /rpc/call_start as a random user (tokens from $TOKENS) to a
-- random callee, the request a caller's app sends.
local tokens = {}

function init(args)
  for line in io.lines(os.getenv("TOKENS")) do tokens[#tokens + 1] = line end
  math.randomseed(os.time() + tonumber(tostring({}):sub(8), 16) % 100000)
end

function request()
  local t = tokens[math.random(#tokens)]
  local body = string.format('{"invitees":["v%d"]}', math.random(1000000))
  return wrk.format("POST", "/rpc/call_start", {
    ["Authorization"] = "Bearer " .. t,
    ["Content-Type"] = "application/json",
  }, body)
end
