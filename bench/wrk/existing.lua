-- createOrGet on an existing key: the read path (200).
dofile(os.getenv("BENCH_WRK_DIR") .. "/common.lua")
request = function()
  return wrk.format("POST", createOrGetPath, headers, existingBody)
end
