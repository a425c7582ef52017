-- Shared by the scenario scripts: the token, and a done() that prints one JSON line of figures.
token = os.getenv("BENCH_TOKEN") or ""
createOrGetPath = os.getenv("BENCH_CREATE_PATH") or "/v1.0/me/onlineMeetings/createOrGet"
getPath = os.getenv("BENCH_GET_PATH") or "/"
existingBody = os.getenv("BENCH_EXISTING_BODY") or '{"externalId":"bench-existing"}'
headers = { ["Authorization"] = "Bearer " .. token, ["Content-Type"] = "application/json" }

local threads = {}
local nextId = 1

function setup(thread)
  thread:set("threadId", nextId)
  nextId = nextId + 1
  table.insert(threads, thread)
end

function done(summary, latency, requests)
  local non2xx = 0
  for _, thread in ipairs(threads) do non2xx = non2xx + (thread:get("non2xx") or 0) end
  io.write(string.format(
    'WRK_RESULT {"requests":%d,"durationUs":%d,"p50Us":%d,"p99Us":%d,"maxUs":%d,"errors":%d,"non2xx":%d}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99), latency.max,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout, non2xx))
end

non2xx = 0
function response(status, headers, body)
  if status < 200 or status > 299 then non2xx = non2xx + 1 end
end

-- A key no other request, thread or run uses.
counter = 0
function newKey()
  counter = counter + 1
  return string.format("bench-%s-%d-%d", runId, threadId, counter)
end
runId = os.getenv("BENCH_RUN_ID") or tostring(os.time())
