-- wrk script shared by the benchmarks: POST /v1/assessments with the profile file named by
-- PROFILE (default: the mature disc reference program), authenticated with API_KEY.
local path = os.getenv("PROFILE") or "src/scoring/reference_programs/disc_mature_allogeneic.json"
local file = assert(io.open(path, "r")); local profile = file:read("*a"); file:close()
wrk.method = "POST"
wrk.body = '{"profile": ' .. profile .. '}'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. os.getenv("API_KEY")
