-- POSTs WRK_BODY (or WRK_BODY_BYTES bytes of "x") as WRK_CONTENT_TYPE to the URL given on
-- the command line; prints a JSON summary at the end.
wrk.method = "POST"
local size = tonumber(os.getenv("WRK_BODY_BYTES") or "")
if size then wrk.body = string.rep("x", size) else wrk.body = os.getenv("WRK_BODY") end
wrk.headers["Content-Type"] = os.getenv("WRK_CONTENT_TYPE") or "application/json"
local token = os.getenv("WRK_TOKEN")
if token and token ~= "" then wrk.headers["x-runner-token"] = token end

local depth = tonumber(os.getenv("WRK_PIPELINE") or "1")
if depth > 1 then
  init = function(args)
    local one = wrk.format(nil, nil)
    local all = {}
    for i = 1, depth do all[i] = one end
    pipelined = table.concat(all)
  end
  request = function() return pipelined end
end

done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "WRKJSON {\"requests\":%d,\"duration_us\":%d,\"p50_us\":%d,\"p99_us\":%d,\"connect\":%d,\"read\":%d,\"write\":%d,\"status\":%d,\"timeout\":%d}\n",
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    e.connect, e.read, e.write, e.status, e.timeout))
end
