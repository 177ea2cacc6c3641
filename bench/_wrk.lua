-- wrk script of api_create_payment.py: POST /api/v1/payments, each request with its own
-- Idempotency-Key and a receivable no request used before (ids from a file, split by thread),
-- or POST /bench/insert (mode "insert"). Prints one JSON line with the figures at the end.
-- wrk -s _wrk.lua URL -- <mode> <ids file> <token> <key prefix>

local threads = {}

function setup(thread)
  thread:set("tid", #threads)
  table.insert(threads, thread)
end

function init(args)
  mode, ids_file, token, prefix = args[1], args[2], args[3], args[4]
  ids = {}
  if mode == "payments" then
    for line in io.lines(ids_file) do ids[#ids + 1] = line end
  end
  nthreads = tonumber(args[5])
  next_index = tid + 1
  sent, failed, exhausted = 0, 0, 0
  insert_body = '{"note": "bench"}'
end

function request()
  sent = sent + 1
  if mode == "insert" then
    return wrk.format("POST", "/bench/insert", {["Content-Type"] = "application/json"}, insert_body)
  end
  local id = ids[next_index]
  if id == nil then
    exhausted = exhausted + 1
    id = "0"  -- refused with 422: counted as a failure, never a second payment
  end
  local key = prefix .. "-" .. tid .. "-" .. next_index
  next_index = next_index + nthreads
  local body = '{"receivables": [{"receivable": ' .. id .. '}], "method": "card", '
    .. '"return_url": "https://bench.example/zurueck"}'
  return wrk.format("POST", "/api/v1/payments", {
    ["Authorization"] = "Bearer " .. token,
    ["Content-Type"] = "application/json",
    ["Idempotency-Key"] = key,
  }, body)
end

function response(status, headers, body)
  if status ~= 201 then failed = failed + 1 end
end

function done(summary, latency, requests)
  local failures, out_of_ids, sent = 0, 0, 0
  for _, thread in ipairs(threads) do
    failures = failures + thread:get("failed")
    out_of_ids = out_of_ids + thread:get("exhausted")
    sent = sent + thread:get("sent")
  end
  io.write(string.format(
    '{"requests": %d, "duration_us": %d, "p50_us": %d, "p99_us": %d, "max_us": %d, '
      .. '"failed": %d, "exhausted": %d, "socket_errors": %d, "sent": %d}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    latency.max, failures, out_of_ids,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    sent
  ))
end
