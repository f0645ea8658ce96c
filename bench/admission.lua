-- wrk script: POSTs the AdmissionReview in $REVIEW (default bench/admission-review.json)
-- on every request, over wrk's keep-alive connections.
local path = os.getenv("REVIEW") or "bench/admission-review.json"
local f = assert(io.open(path, "r"))
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = f:read("*a")
f:close()
