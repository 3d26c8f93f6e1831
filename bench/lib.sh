# Shared by the bench scripts (sourced).

# wrk_post_script BODY SCRIPT: writes to SCRIPT a wrk script that POSTs the JSON file BODY.
wrk_post_script() {
  cat >"$2" <<LUA
wrk.method = "POST"
wrk.body = io.open("$1"):read("*a")
wrk.headers["Content-Type"] = "application/json"
LUA
}
