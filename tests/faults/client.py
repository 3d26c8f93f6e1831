"""HTTP client of the fault scripts (standard library only).

  client.py one METHOD PATH [--body FILE] [--key KEY]
      one request; prints {status, ms, retry_after, problem, body} as JSON.
  client.py until-ok METHOD PATH [--body FILE] [--max-seconds S]
      repeats the request every 50 ms until it succeeds; prints {ms, attempts, statuses}.
  client.py load --threads N --seconds S --body FILE [--keys PREFIX] [--retry-seconds R]
                 [--fresh-connections] [--mix post,get] [--record FILE]
      N threads send requests for S seconds; prints a JSON summary. With --keys every POST
      carries a unique Idempotency-Key, and --retry-seconds makes each thread retry a failed
      request (503, 504, 409, connection error) with the same key until it is acknowledged,
      as a client should. --record writes one line per attempt.

Every request carries `Authorization: Bearer $API_KEY`. The base URL is $BASE_URL.
"""

import argparse
import http.client
import json
import os
import sys
import threading
import time
import urllib.parse

BASE = urllib.parse.urlsplit(os.environ.get("BASE_URL", "http://127.0.0.1:8080"))
API_KEY = os.environ.get("API_KEY", "")
RETRYABLE = {409, 503, 504}


def connect(timeout):
    return http.client.HTTPConnection(BASE.hostname, BASE.port, timeout=timeout)


def send(connection, method, path, body=None, key=None, close=False):
    """One request on `connection`; returns an outcome dict (never raises for network errors)."""
    headers = {"Authorization": f"Bearer {API_KEY}", "Accept": "application/json"}
    if body is not None:
        headers["Content-Type"] = "application/json"
    if key is not None:
        headers["Idempotency-Key"] = key
    if close:
        headers["Connection"] = "close"
    started = time.monotonic()
    outcome = {"method": method, "path": path, "key": key}
    stage = "connect"
    try:
        if connection.sock is None:
            connection.connect()
        stage = "send"
        connection.request(method, path, body=body, headers=headers)
        stage = "response"
        response = connection.getresponse()
        raw = response.read()
        outcome["status"] = response.status
        outcome["retry_after"] = response.getheader("Retry-After")
        content_type = response.getheader("Content-Type") or ""
        outcome["problem"] = content_type.startswith("application/problem+json")
        try:
            parsed = json.loads(raw) if raw else None
        except ValueError:
            parsed = None
        if response.status >= 400 or method != "POST":
            outcome["body"] = parsed
        elif isinstance(parsed, dict):
            outcome["id"] = parsed.get("id")
            outcome["replayed"] = response.getheader("Idempotent-Replayed") == "true"
        if response.will_close or close:
            connection.close()
    except (OSError, http.client.HTTPException) as error:
        connection.close()
        outcome["error"] = f"{stage}:{type(error).__name__}"
    outcome["ms"] = round((time.monotonic() - started) * 1000, 1)
    return outcome


def read_body(path):
    return open(path, "rb").read() if path else None


def command_one(arguments):
    outcome = send(connect(arguments.timeout), arguments.method, arguments.path, read_body(arguments.body), arguments.key)
    print(json.dumps(outcome))


def command_until_ok(arguments):
    body = read_body(arguments.body)
    started = time.monotonic()
    attempts, statuses = 0, {}
    connection = connect(arguments.timeout)
    while time.monotonic() - started < arguments.max_seconds:
        attempts += 1
        outcome = send(connection, arguments.method, arguments.path, body)
        label = str(outcome.get("status", outcome.get("error")))
        statuses[label] = statuses.get(label, 0) + 1
        if 200 <= outcome.get("status", 0) < 300:
            break
        time.sleep(0.05)
    print(json.dumps({"ms": round((time.monotonic() - started) * 1000), "attempts": attempts, "statuses": statuses,
                      "ok": 200 <= outcome.get("status", 0) < 300}))


def percentile(values, fraction):
    if not values:
        return 0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def command_load(arguments):
    body = read_body(arguments.body)
    mix = arguments.mix.split(",")
    stop_new = time.monotonic() + arguments.seconds
    give_up = stop_new + arguments.retry_seconds
    lock = threading.Lock()
    attempts = []
    acknowledged = {}
    unacknowledged = []

    def worker(number):
        connection = connect(arguments.timeout)
        sequence = 0
        local = []
        while time.monotonic() < stop_new:
            method = mix[sequence % len(mix)].upper()
            key = f"{arguments.keys}-{number}-{sequence}" if arguments.keys and method == "POST" else None
            sequence += 1
            path = "/v1/assessments"
            while True:
                outcome = send(connection, method, path, body if method == "POST" else None, key,
                               close=arguments.fresh_connections)
                outcome["t"] = round(time.monotonic() - started, 3)
                local.append(outcome)
                status = outcome.get("status", 0)
                if 200 <= status < 300:
                    if key is not None:
                        with lock:
                            acknowledged[key] = outcome.get("id")
                    break
                retryable = "error" in outcome or status in RETRYABLE
                if not (arguments.retry_seconds and key and retryable and time.monotonic() < give_up):
                    if key is not None:
                        with lock:
                            unacknowledged.append(key)
                    if "error" in outcome:
                        time.sleep(0.05)  # the service is gone: do not spin on refused connections
                    break
                retry_after = outcome.get("retry_after")
                time.sleep(min(float(retry_after), 1.0) if retry_after else 0.2)
        with lock:
            attempts.extend(local)

    started = time.monotonic()
    threads = [threading.Thread(target=worker, args=(number,)) for number in range(arguments.threads)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    by_status, errors = {}, {}
    for outcome in attempts:
        if "error" in outcome:
            errors[outcome["error"]] = errors.get(outcome["error"], 0) + 1
        else:
            by_status[str(outcome["status"])] = by_status.get(str(outcome["status"]), 0) + 1
    latencies = [outcome["ms"] for outcome in attempts]
    summary = {
        "attempts": len(attempts),
        "by_status": by_status,
        "errors": errors,
        "non_2xx_without_problem": sum(1 for o in attempts if o.get("status", 0) >= 400 and not o.get("problem")),
        "p50_ms": percentile(latencies, 0.5),
        "p99_ms": percentile(latencies, 0.99),
        "max_ms": max(latencies, default=0),
        "acknowledged": len(acknowledged),
        "unacknowledged": len(unacknowledged),
        "first_success_after_failure_s": None,
    }
    failures = sorted(o["t"] for o in attempts if "error" in o or o.get("status", 0) >= 500)
    if failures:
        later = sorted(o["t"] for o in attempts if 200 <= o.get("status", 0) < 300 and o["t"] > failures[-1])
        summary["last_failure_t"] = failures[-1]
        summary["first_failure_t"] = failures[0]
        summary["first_success_after_failure_s"] = round(later[0] - failures[-1], 3) if later else None
    if arguments.record:
        with open(arguments.record, "w") as record:
            for outcome in sorted(attempts, key=lambda o: o["t"]):
                record.write(json.dumps(outcome) + "\n")
        with open(arguments.record + ".acknowledged", "w") as record:
            for key, assessment_id in sorted(acknowledged.items()):
                record.write(f"{key}\t{assessment_id}\n")
    print(json.dumps(summary))


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--timeout", type=float, default=30.0, help="socket timeout per request, seconds")
    commands = parser.add_subparsers(dest="command", required=True)
    one = commands.add_parser("one")
    until_ok = commands.add_parser("until-ok")
    for sub in (one, until_ok):
        sub.add_argument("method")
        sub.add_argument("path")
        sub.add_argument("--body")
    one.add_argument("--key")
    until_ok.add_argument("--max-seconds", type=float, default=10.0)
    load = commands.add_parser("load")
    load.add_argument("--threads", type=int, default=8)
    load.add_argument("--seconds", type=float, default=5.0)
    load.add_argument("--body", required=True)
    load.add_argument("--keys")
    load.add_argument("--retry-seconds", type=float, default=0.0)
    load.add_argument("--fresh-connections", action="store_true")
    load.add_argument("--mix", default="post")
    load.add_argument("--record")
    arguments = parser.parse_args()
    {"one": command_one, "until-ok": command_until_ok, "load": command_load}[arguments.command](arguments)


if __name__ == "__main__":
    sys.exit(main())
