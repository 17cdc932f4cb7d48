-- wrk script: POST the result call for the ids in $IDS_FILE (one a line),
-- round-robin from a random start per thread, with $API_KEY. Used by
-- bench/compare.sh and bench/levers.sh, so both poll the same way.
local ids = {}
for line in io.lines(os.getenv("IDS_FILE")) do if #line > 0 then ids[#ids+1] = line end end
local i = 0
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = os.getenv("API_KEY")
function init(args) math.randomseed(os.time() + math.floor(os.clock() * 1e6)); i = math.random(#ids) end
function request()
	i = i % #ids + 1
	return wrk.format(nil, nil, nil, '{"id":"' .. ids[i] .. '"}')
end
