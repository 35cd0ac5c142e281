-- POST /rpc/call_history {"limit": 20}: the native call the seed 003 route maps onto
wrk.method = "POST"
wrk.body = '{"limit": 20}'
wrk.headers["Content-Type"] = "application/json"
