-- wrk script: durable POST /api/v1/exams with a fresh client_exam_id per request (every request
-- is a new exam, not a replay). Token from the environment: FETAL_TOKEN.
-- Usage: FETAL_TOKEN=... wrk -t2 -c64 -d10s --latency -s post_exam.lua http://127.0.0.1:8088/api/v1/exams
local counter = 0
local threads_started = 0
local run_tag = tostring(os.time())

-- Runs in wrk's main Lua state once per thread; the global lands in that thread's state.
function setup(thread)
  threads_started = threads_started + 1
  thread:set("thread_tag", "t" .. threads_started)
end

local features = '{"baseline_value":120,"accelerations":0,"fetal_movement":0,' ..
  '"uterine_contractions":0,"light_decelerations":0,"severe_decelerations":0,' ..
  '"prolongued_decelerations":0,"abnormal_short_term_variability":73,' ..
  '"mean_value_of_short_term_variability":0.5,' ..
  '"percentage_of_time_with_abnormal_long_term_variability":43,' ..
  '"mean_value_of_long_term_variability":2.4,"histogram_width":64,"histogram_min":62,' ..
  '"histogram_max":126,"histogram_number_of_peaks":2,"histogram_number_of_zeroes":0,' ..
  '"histogram_mode":120,"histogram_mean":137,"histogram_median":121,"histogram_variance":73,' ..
  '"histogram_tendency":1}'
local result = '{"class":"Suspect","probabilities":[0.2,0.7,0.1],"model_version":1}'

wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. (os.getenv("FETAL_TOKEN") or "")

function request()
  counter = counter + 1
  local body = '{"client_exam_id":"bench-' .. run_tag .. '-' .. thread_tag .. '-' .. counter ..
    '","features":' .. features .. ',"client_result":' .. result ..
    ',"client_time":"2026-11-28T13:45:00Z"}'
  return wrk.format(nil, nil, nil, body)
end
