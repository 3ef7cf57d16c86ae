-- wrk script: POST /api/v1/exams with a unique client_exam_id per request.
-- Usage: wrk ... -s post_exam.lua URL -- RUN_PREFIX
-- Each wrk thread numbers its own requests; the thread number and RUN_PREFIX make ids unique.
local threads = {}
local counter = 0

function setup(thread)
  thread:set("tid", #threads + 1)
  table.insert(threads, thread)
end

function init(args)
  prefix = args[1] or tostring(os.time())
  -- wrk.format replaces wrk.headers (the -H flags) when given a table: merge them.
  headers = {}
  for k, v in pairs(wrk.headers) do headers[k] = v end
  headers["Content-Type"] = "application/json"
end

local features = '"features":{"baseline_value":120,"accelerations":0,"fetal_movement":0,' ..
  '"uterine_contractions":0,"light_decelerations":0,"severe_decelerations":0,' ..
  '"prolongued_decelerations":0,"abnormal_short_term_variability":73,' ..
  '"mean_value_of_short_term_variability":0.5,' ..
  '"percentage_of_time_with_abnormal_long_term_variability":43,' ..
  '"mean_value_of_long_term_variability":2.4,"histogram_width":64,"histogram_min":62,' ..
  '"histogram_max":126,"histogram_number_of_peaks":2,"histogram_number_of_zeroes":0,' ..
  '"histogram_mode":120,"histogram_mean":137,"histogram_median":121,"histogram_variance":73,' ..
  '"histogram_tendency":1}'
local tail = ',"client_result":{"class":"Suspect","probabilities":[0.1,0.8,0.1],"model_version":1},' ..
  '"client_time":"2026-11-28T13:00:00Z"}'

function request()
  counter = counter + 1
  local body = '{"client_exam_id":"' .. prefix .. '-' .. tid .. '-' .. counter .. '",' .. features .. tail
  return wrk.format("POST", "/api/v1/exams", headers, body)
end

-- Non-2xx responses are counted by wrk itself ("Non-2xx or 3xx responses").
