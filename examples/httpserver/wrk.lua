-- wrk script: POST the sample order to the pricing API.
--   go run ./examples/httpserver -sample > /tmp/order.json
--   wrk -t1 -c32 -d10s -s examples/httpserver/wrk.lua http://127.0.0.1:8080 -- /tmp/order.json
-- The body file is the first argument after "--" (default: order.json).
-- -compare -load wrk runs it the same way and reads the slabtrack-wrk line.

function init(args)
  local path = args[1] or "order.json"
  local f = assert(io.open(path, "rb"), "cannot open " .. path .. ": create it with -sample")
  wrk.body = f:read("*a")
  f:close()
  wrk.method = "POST"
  wrk.path = "/v1/orders/price"
  wrk.headers["Content-Type"] = "application/json"
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("non-200 responses: %d\n", e.status))
  io.write(string.format(
    "slabtrack-wrk requests=%d non200=%d socket_errors=%d duration_us=%d p50_us=%d p99_us=%d p999_us=%d\n",
    summary.requests, e.status, e.connect + e.read + e.write + e.timeout, summary.duration,
    latency:percentile(50), latency:percentile(99), latency:percentile(99.9)))
end
