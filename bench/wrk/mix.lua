-- 90 % reads (GET by id), 10 % durable creates (createOrGet with a new externalId).
dofile(os.getenv("BENCH_WRK_DIR") .. "/common.lua")
request = function()
  if math.random() < 0.9 then return wrk.format("GET", getPath, headers) end
  return wrk.format("POST", createOrGetPath, headers, '{"externalId":"' .. newKey() .. '","subject":"Bench"}')
end
