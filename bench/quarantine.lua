-- quarantine.lua - wrk script of bench/quarantine.sh: every request is a random line of
-- the file named after "--", each line "TOKEN<TAB>PATH" (several users' tokens, each with
-- its own path, e.g. its own page-2 cursor or its own address).
--   wrk ... http://127.0.0.1:PORT -s bench/quarantine.lua -- REQUESTS-FILE
local reqs = {}

function init(args)
	for line in io.lines(args[1]) do
		local token, path = line:match("^(%S+)\t(%S+)$")
		if token then
			reqs[#reqs + 1] = wrk.format("GET", path, {
				["Host"] = wrk.headers["Host"] or "127.0.0.1",
				["Authorization"] = "Bearer " .. token,
			})
		end
	end
	assert(#reqs > 0, "quarantine.lua: no requests in " .. tostring(args[1]))
	-- each thread has its own Lua state: seed it differently
	math.randomseed(os.time() + tonumber(tostring(reqs):match("0x(%x+)") or "0", 16) % 1000003)
end

function request()
	return reqs[math.random(#reqs)]
end
