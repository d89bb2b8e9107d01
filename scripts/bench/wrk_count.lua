-- wrk script for the profile (scripts/bench/profile.ts): exactly N requests
-- (`wrk -t1 -c1 -d<long> -s wrk_count.lua URL -- N`). After the Nth response
-- the thread stops sending, so no request is in flight, and "SITIO_WRK_DONE"
-- goes to stderr: wrk itself only ends when its duration is up, so the caller
-- sends it SIGINT on that line, and wrk then reports as wrk_report.lua does.
local limit = 0
local seen = 0

function init(args)
  limit = tonumber(args[1]) or 0
end

function response(status, headers, body)
  seen = seen + 1
  if limit > 0 and seen >= limit then
    wrk.thread:stop()
    io.stderr:write("SITIO_WRK_DONE\n")
    io.stderr:flush()
  end
end

done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '\nSITIO_WRK {"requests":%d,"duration_us":%d,"p50_us":%d,"p90_us":%d,"p99_us":%d,"max_us":%d,"mean_us":%.2f,' ..
    '"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d}}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(90), latency:percentile(99),
    latency.max, latency.mean, e.connect, e.read, e.write, e.status, e.timeout))
end
