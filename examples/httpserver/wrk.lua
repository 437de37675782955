-- wrk script: POST the sample order to the pricing API.
--   go run ./examples/httpserver -sample > /tmp/order.json
--   wrk -t2 -c32 -d10s -s examples/httpserver/wrk.lua http://127.0.0.1:8080 -- /tmp/order.json
-- The body file is the first argument after "--" (default: order.json).

function init(args)
  local path = args[1] or "order.json"
  local f = assert(io.open(path, "rb"), "cannot open " .. path .. ": create it with -sample")
  wrk.body = f:read("*a")
  f:close()
  wrk.method = "POST"
  wrk.path = "/v1/orders/price"
  wrk.headers["Content-Type"] = "application/json"
end

local bad = 0

function response(status, headers, body)
  if status ~= 200 then
    bad = bad + 1
  end
end

function done(summary, latency, requests)
  io.write(string.format("non-200 responses: %d\n", summary.errors.status))
end
