-- wrk: POST /rpc/items with the query string in $QUERY (empty: the bare call).
local path = "/rpc/items"

function init(args)
  local q = os.getenv("QUERY") or ""
  if q ~= "" then path = path .. "?" .. q end
end

function request()
  return wrk.format("POST", path, {
    ["Content-Type"] = "application/json",
    ["Content-Profile"] = "bq",
  }, "{}")
end
