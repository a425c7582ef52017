-- createOrGet with a new externalId every request: a durable create (201).
dofile(os.getenv("BENCH_WRK_DIR") .. "/common.lua")
request = function()
  return wrk.format("POST", createOrGetPath, headers, '{"externalId":"' .. newKey() .. '","subject":"Bench"}')
end
