-- wrk script: GET /api/v1/exams/{id} (each read appends a durable exam.read audit event).
-- Usage: wrk ... -s get_exam.lua URL -- EXAM_ID
function init(args)
  path = "/api/v1/exams/" .. (args[1] or "1")
end

function request()
  return wrk.format("GET", path)
end
