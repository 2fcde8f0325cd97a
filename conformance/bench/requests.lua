-- wrk script: replay prepared xAPI requests and report per-status counts.
--
--   wrk -t2 -c64 -d20s -s requests.lua http://127.0.0.1:8080 -- requests.tsv 7 2.0.0
--
-- requests.tsv holds one request per line: METHOD, path with query, the
-- Authorization header and the body (may be empty), separated by tabs.
-- Every thread starts at its own seeded offset and cycles through the file.
-- The last argument is the X-Experience-API-Version to send (default 2.0.0).
-- done() prints one line "WRK_JSON {...}" for the benchmark driver, with
-- "sent": requests started; those minus "requests" (wrk's answered ones)
-- got no answer: still in flight when the run ended, or lost to a socket error.

local items = {}
local next_item = 1
statuses = {}
sent = 0

local threads = {}

function setup(thread)
  thread:set("thread_no", #threads + 1)
  table.insert(threads, thread)
end

local function split(line)
  local fields = {}
  local start = 1
  for _ = 1, 3 do
    local tab = line:find("\t", start, true)
    fields[#fields + 1] = line:sub(start, tab - 1)
    start = tab + 1
  end
  fields[#fields + 1] = line:sub(start)
  return fields
end

function init(args)
  for line in io.lines(args[1]) do
    local f = split(line)
    local headers = {
      ["Authorization"] = f[3],
      ["X-Experience-API-Version"] = args[3] or "2.0.0",
    }
    if f[4] ~= "" then
      headers["Content-Type"] = "application/json"
    end
    items[#items + 1] = wrk.format(f[1], f[2], headers, f[4] ~= "" and f[4] or nil)
  end
  math.randomseed((tonumber(args[2]) or 1) * 1000 + (thread_no or 0))
  next_item = math.random(#items)
end

function request()
  sent = sent + 1
  local req = items[next_item]
  next_item = next_item % #items + 1
  return req
end

function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end

function done(summary, latency, requests)
  local total = {}
  -- wrk calls request() once before the run, on its first thread, to check
  -- the request (script_verify_request): that one is never sent.
  local total_sent = -1
  for _, thread in ipairs(threads) do
    total_sent = total_sent + thread:get("sent")
    for status, n in pairs(thread:get("statuses")) do
      total[status] = (total[status] or 0) + n
    end
  end
  local parts = {}
  for status, n in pairs(total) do
    parts[#parts + 1] = string.format('"%d":%d', status, n)
  end
  local e = summary.errors
  io.write(string.format(
    'WRK_JSON {"requests":%d,"sent":%d,"duration_us":%d,"connect_errors":%d,"read_errors":%d,' ..
    '"write_errors":%d,"timeouts":%d,"p50_us":%d,"p90_us":%d,"p99_us":%d,"max_us":%d,' ..
    '"statuses":{%s}}\n',
    summary.requests, total_sent, summary.duration, e.connect, e.read, e.write, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max,
    table.concat(parts, ",")))
end
