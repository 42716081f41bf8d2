-- wrk script of bench/benchlib.py (load_http): requests from a file, checks on each answer.
-- WRK_REQUESTS: one request a line, "GET <path>" or "POST <path> <content-type> <hex body>".
-- WRK_ORDER: "random" (any line, any number of times) or "once" (each line in turn, per
-- thread from its own offset: fresh nonces). WRK_CLOSE=1 adds "Connection: close".
-- WRK_MIN_BYTES: an answer counts as good when 200, DER (0x30 first) and at least this long.
local requests = {}
for line in io.lines(os.getenv("WRK_REQUESTS")) do
  local method, path, ctype, hex = line:match("^(%S+) (%S+) ?(%S*) ?(%S*)$")
  local headers = {}
  if os.getenv("WRK_CLOSE") == "1" then headers["Connection"] = "close" end
  local body = nil
  if method == "POST" then
    headers["Content-Type"] = ctype
    body = hex:gsub("..", function(cc) return string.char(tonumber(cc, 16)) end)
  end
  requests[#requests + 1] = wrk.format(method, path, headers, body)
end
local order = os.getenv("WRK_ORDER") or "random"
local min_bytes = tonumber(os.getenv("WRK_MIN_BYTES") or "100")
local threads = {}

function setup(thread)
  thread:set("id", #threads)
  table.insert(threads, thread)
end

function init(args)
  good, bad = 0, 0
  counter = id * math.floor(#requests / 8)
  math.randomseed(id * 7919 + 1)
end

function request()
  if order == "random" then return requests[math.random(#requests)] end
  counter = counter + 1
  return requests[(counter % #requests) + 1]
end

function response(status, headers, body)
  if status == 200 and #body >= min_bytes and string.byte(body, 1) == 48 then
    good = good + 1
  else
    bad = bad + 1
  end
end

function done(summary, latency, requests)
  local g, b = 0, 0
  for _, t in ipairs(threads) do
    g = g + t:get("good")
    b = b + t:get("bad")
  end
  io.write(string.format(
    'WRK {"requests": %d, "good": %d, "bad": %d, "seconds": %.6f, "p50_ms": %.3f, ' ..
    '"p99_ms": %.3f, "connect_errors": %d, "read_errors": %d, "timeouts": %d}\n',
    summary.requests, g, b, summary.duration / 1e6, latency:percentile(50) / 1000,
    latency:percentile(99) / 1000, summary.errors.connect, summary.errors.read,
    summary.errors.timeout))
end
