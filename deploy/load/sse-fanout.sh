#!/usr/bin/env bash
# SSE fan-out check for a LOCAL Beacon Runner.
#
# Submits one job (default: config/examples/reference-job.json), opens N concurrent
# `curl -N` subscribers on GET /jobs/{id}/events, waits until every stream ends or the time
# budget runs out, and reports how many subscribers received `job.finished`.
# Optionally (WRK_SECONDS > 0, wrk installed) hammers GET /jobs/{id} with wrk meanwhile.
#
# Usage (from the repository root):
#   deploy/load/sse-fanout.sh                       # 20 subscribers, at most 60 s
#   SUBSCRIBERS=100 DURATION=45 deploy/load/sse-fanout.sh
#   BASE_URL=http://127.0.0.1:8081 RUNNER_API_TOKEN=... deploy/load/sse-fanout.sh
#
# Environment:
#   BASE_URL          default http://127.0.0.1:8080; must be a loopback address
#   SUBSCRIBERS       number of SSE subscribers, 1..200 (default 20)
#   DURATION          time budget in seconds for the whole run, 5..60 (default 60)
#   JOB_FILE          job to submit (default config/examples/reference-job.json)
#   RUNNER_API_TOKEN  sent as "Authorization: Bearer ..." when set
#   WRK_SECONDS       0 (default) = no wrk; else 1..30 s of wrk -t2 -c16 on GET /jobs/{id}
#   KEEP_LOGS         1 = keep the per-subscriber logs (their directory is printed)
#
# Exit status: 0 if every subscriber received job.finished, 1 if some did not, 2 on usage or
# set-up errors.
set -euo pipefail

BASE_URL="${BASE_URL:-http://127.0.0.1:8080}"
SUBSCRIBERS="${SUBSCRIBERS:-20}"
DURATION="${DURATION:-60}"
JOB_FILE="${JOB_FILE:-config/examples/reference-job.json}"
WRK_SECONDS="${WRK_SECONDS:-0}"
KEEP_LOGS="${KEEP_LOGS:-0}"
MAX_SUBSCRIBERS=200
MAX_DURATION=60

die() { echo "sse-fanout: $*" >&2; exit 2; }
is_uint() { [[ "$1" =~ ^[0-9]+$ ]]; }

# ---- arguments and safety bounds ---------------------------------------------------------
if ! { is_uint "$SUBSCRIBERS" && ((SUBSCRIBERS >= 1 && SUBSCRIBERS <= MAX_SUBSCRIBERS)); }; then
  die "SUBSCRIBERS must be 1..$MAX_SUBSCRIBERS, but was '$SUBSCRIBERS'"
fi
if ! { is_uint "$DURATION" && ((DURATION >= 5 && DURATION <= MAX_DURATION)); }; then
  die "DURATION must be 5..$MAX_DURATION seconds, but was '$DURATION'"
fi
if ! { is_uint "$WRK_SECONDS" && ((WRK_SECONDS <= 30)); }; then
  die "WRK_SECONDS must be 0..30, but was '$WRK_SECONDS'"
fi

# Local instances only: extract the host of scheme://host[:port][/path].
BASE_URL="${BASE_URL%/}"
[[ "$BASE_URL" =~ ^https?://(\[[^]]+\]|[^/:]+)(:[0-9]+)?(/.*)?$ ]] \
  || die "BASE_URL must look like http://127.0.0.1:8080, but was '$BASE_URL'"
host="${BASH_REMATCH[1]}"
case "$host" in
  127.*|localhost|'[::1]') ;;
  *) die "refusing to load-test '$host': only loopback addresses (127.x, localhost, [::1]) are allowed" ;;
esac

command -v curl >/dev/null || die "curl is required"
[[ -f "$JOB_FILE" ]] || die "job file '$JOB_FILE' not found (run from the repository root or set JOB_FILE)"

auth=()
[[ -n "${RUNNER_API_TOKEN:-}" ]] && auth=(-H "Authorization: Bearer ${RUNNER_API_TOKEN}")

work="$(mktemp -d "${TMPDIR:-/tmp}/sse-fanout.XXXXXX")"
pids=()
cleanup() {
  # Only the processes this script started, by pid.
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  if [[ "$KEEP_LOGS" == 1 ]]; then echo "logs kept in $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

start_epoch=$(date +%s)
deadline=$((start_epoch + DURATION))
remaining() { local r=$((deadline - $(date +%s))); ((r > 0)) && echo "$r" || echo 0; }

# ---- 1. is it up? ------------------------------------------------------------------------
ready_code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 "$BASE_URL/actuator/health/readiness" || true)
[[ "$ready_code" == 200 ]] || die "$BASE_URL/actuator/health/readiness answered '$ready_code' (is the runner up?)"

# ---- 2. submit the job -------------------------------------------------------------------
key="sse-fanout-$(date +%s)-$$-$RANDOM"
code=$(curl -sS --max-time 10 -o "$work/submit.body" -D "$work/submit.headers" -w '%{http_code}' \
  -X POST "$BASE_URL/jobs" \
  -H 'Content-Type: application/json' -H 'Accept: application/json' \
  -H "Idempotency-Key: $key" ${auth[@]+"${auth[@]}"} \
  --data-binary "@$JOB_FILE") || die "POST /jobs failed"
if [[ "$code" != 202 && "$code" != 200 ]]; then
  echo "POST /jobs answered $code:" >&2; cat "$work/submit.body" >&2; echo >&2
  exit 2
fi

# Job id from the Location header (/jobs/{id}), else from the body's first "id".
job_id=$(tr -d '\r' <"$work/submit.headers" | sed -n 's#^[Ll]ocation:.*/jobs/\([^/?]*\).*$#\1#p' | tail -1)
if [[ -z "$job_id" ]]; then
  job_id=$(sed -n 's/^[^{]*{[^}]*"id"[[:space:]]*:[[:space:]]*"\([^"]*\)".*$/\1/p' "$work/submit.body" | head -1)
fi
[[ -n "$job_id" ]] || die "could not find the job id in the POST /jobs response"
echo "job $job_id submitted ($code); opening $SUBSCRIBERS subscribers, budget ${DURATION}s"

# ---- 3. subscribers ----------------------------------------------------------------------
# Each curl ends when the server completes the stream after job.finished, or at --max-time.
# A subscriber that connects after some events gets them replayed first (contract section 5).
budget=$(remaining)
((budget >= 1)) || budget=1   # curl treats --max-time 0 as "no limit"
for ((i = 1; i <= SUBSCRIBERS; i++)); do
  curl -sS -N --max-time "$budget" --connect-timeout 5 \
    -H 'Accept: text/event-stream' ${auth[@]+"${auth[@]}"} \
    -o "$work/sub-$i.events" -w '%{http_code} %{time_starttransfer} %{time_total}\n' \
    "$BASE_URL/jobs/$job_id/events" >"$work/sub-$i.meta" 2>"$work/sub-$i.err" &
  pids+=("$!")
done

# ---- 4. optional read load while streams are open ---------------------------------------
if ((WRK_SECONDS > 0)); then
  if command -v wrk >/dev/null; then
    wrk_s=$(( WRK_SECONDS < $(remaining) ? WRK_SECONDS : $(remaining) ))
    if ((wrk_s > 0)); then
      wrk_hdr=()
      [[ -n "${RUNNER_API_TOKEN:-}" ]] && wrk_hdr=(-H "Authorization: Bearer ${RUNNER_API_TOKEN}")
      echo "wrk: ${wrk_s}s of GET /jobs/$job_id"
      wrk -t2 -c16 -d"${wrk_s}s" --timeout 5s ${wrk_hdr[@]+"${wrk_hdr[@]}"} "$BASE_URL/jobs/$job_id" | sed 's/^/  wrk: /' || true
    fi
  else
    echo "wrk not installed; skipping the read-load phase"
  fi
fi

# ---- 5. wait and report ------------------------------------------------------------------
# curl's --max-time bounds every subscriber; `wait` therefore returns within the budget.
failed_curls=0
for pid in "${pids[@]}"; do wait "$pid" || failed_curls=$((failed_curls + 1)); done
pids=()
elapsed=$(( $(date +%s) - start_epoch ))

finished=0; min_ev=""; max_ev=0; first_finished=""
for ((i = 1; i <= SUBSCRIBERS; i++)); do
  f="$work/sub-$i.events"
  [[ -f "$f" ]] || : >"$f"
  n=$(grep -c '^id:' "$f" || true)
  [[ -z "$min_ev" || "$n" -lt "$min_ev" ]] && min_ev=$n
  ((n > max_ev)) && max_ev=$n
  if grep -Eq '^event:[[:space:]]*job\.finished[[:space:]]*$' "$f"; then
    finished=$((finished + 1))
    if [[ -z "$first_finished" ]]; then
      first_finished=$(grep -A3 -E '^event:[[:space:]]*job\.finished' "$f" | sed -n 's/^data:[[:space:]]*//p' | head -1)
    fi
  fi
done

# Time to job.finished per subscriber = curl's total time (the stream ends right after it).
times=$(awk '$1 == 200 {print $3}' "$work"/sub-*.meta | sort -n)
pct() { [[ -n "$times" ]] && awk -v q="$1" '{a[NR]=$1} END {i=int(q*(NR-1))+1; printf "%.2f", a[i]}' <<<"$times" || echo "-"; }

echo
echo "subscribers:            $SUBSCRIBERS"
echo "received job.finished:  $finished"
echo "curl errors/timeouts:   $failed_curls"
echo "events per subscriber:  min $min_ev, max $max_ev (should be equal)"
echo "stream time (s):        min $(pct 0) / p50 $(pct 0.5) / p95 $(pct 0.95) / max $(pct 1)"
echo "elapsed:                ${elapsed}s of ${DURATION}s budget"
[[ -n "$first_finished" ]] && echo "job.finished data:      $first_finished"
if ((finished < SUBSCRIBERS)); then
  echo "first errors:"; cat "$work"/sub-*.err 2>/dev/null | sort | uniq -c | head -5
  exit 1
fi
