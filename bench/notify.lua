-- wrk script for bench/notify_bench.py: each thread sends its share of pre-signed v3 notifications
-- (one line each: timestamp, nonce, signature, serial, signature type, body; tab-separated), each once.
-- If a share runs out before the duration ends, requests repeat earlier ones (duplicates), counted in `extra`.
-- Usage: wrk -t2 -c64 -d60s -s bench/notify.lua URL -- MESSAGES_FILE THREADS
local threads = {}
local next_id = 0

function setup(thread)
  thread:set("id", next_id)
  next_id = next_id + 1
  table.insert(threads, thread)
end

function init(args)
  local file, nthreads = args[1], tonumber(args[2])
  requests_ = {}
  local line_no = 0
  for line in io.lines(file) do
    if line_no % nthreads == id then
      local ts, nonce, sig, serial, kind, body =
        line:match("^([^\t]*)\t([^\t]*)\t([^\t]*)\t([^\t]*)\t([^\t]*)\t(.*)$")
      requests_[#requests_ + 1] = wrk.format("POST", nil, {
        ["Content-Type"] = "application/json",
        ["Wechatpay-Timestamp"] = ts, ["Wechatpay-Nonce"] = nonce,
        ["Wechatpay-Signature"] = sig, ["Wechatpay-Serial"] = serial, ["Wechatpay-Signature-Type"] = kind,
      }, body)
    end
    line_no = line_no + 1
  end
  sent, answered, failed, extra = 0, 0, 0, 0
end

function request()
  sent = sent + 1
  if sent > #requests_ then
    extra = extra + 1
  end
  return requests_[((sent - 1) % #requests_) + 1]
end

function response(status, headers, body)
  answered = answered + 1
  if status < 200 or status >= 300 then
    failed = failed + 1
  end
end

function done(summary, latency, requests)
  local failed_total, extra_total = 0, 0
  for _, thread in ipairs(threads) do
    failed_total = failed_total + thread:get("failed")
    extra_total = extra_total + thread:get("extra")
  end
  io.write(string.format(
    'WRK_JSON {"requests": %d, "duration_us": %d, "p50_us": %d, "p90_us": %d, "p99_us": %d, "max_us": %d, ' ..
    '"non2xx": %d, "socket_errors": %d, "timeouts": %d, "extra": %d}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(90), latency:percentile(99),
    latency.max, failed_total, summary.errors.connect + summary.errors.read + summary.errors.write,
    summary.errors.timeout, extra_total))
end
