-- GET a meeting by id (200).
dofile(os.getenv("BENCH_WRK_DIR") .. "/common.lua")
request = function()
  return wrk.format("GET", getPath, headers)
end
