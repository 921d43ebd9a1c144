#!/bin/sh
# bench/api.sh - apid's HTTP throughput: wrk against /healthz and /api/v1/me (API token).
#
# Starts apid alone (release build, build/bin) with the stack launcher inside a
# loopback-only network namespace, then for each endpoint runs wrk (-t2 -c64, DURATION
# seconds, default 10) and prints requests/s and p50/p99 latency, then apid's peak RSS.
# Reference on this kind of machine (../shared/FACTS.md): a bare libmicrohttpd server
# answering {} does ~116,000 req/s with the same wrk settings.
#   bench/api.sh [DURATION]
set -eu
ROOT=$(cd "$(dirname "$0")/.." && pwd)
if [ "${VR_IN_NETNS:-}" != 1 ]; then
	exec "$ROOT/scripts/netns-run" "$0" "$@"
fi
DURATION=${1:-10}
command -v wrk >/dev/null || { echo "bench: wrk is missing (scripts/setup)" >&2; exit 1; }
[ -x "$ROOT/build/bin/apid" ] || { echo "bench: build first (make build)" >&2; exit 1; }

DIR=$(mktemp -d /tmp/vrbench.XXXXXX)
trap '"$ROOT/scripts/stack" down "$DIR" >/dev/null 2>&1; rm -rf "$DIR"' EXIT
VR_STACK_COMPONENTS=apid VR_BIN_DIR="$ROOT/build/bin" VR_APID_THREADS=${VR_APID_THREADS:-2} \
	"$ROOT/scripts/stack" up "$DIR" >/dev/null
. "$DIR/stack.env"

session=$(curl -sf -H 'Content-Type: application/json' \
	-d "{\"username\":\"$VR_ADMIN_USER\",\"password\":\"$VR_ADMIN_PASSWORD\"}" \
	"$VR_API_URL/api/v1/auth/login" | jq -r .token)
token=$(curl -sf -H 'Content-Type: application/json' -H "Authorization: Bearer $session" \
	-d '{"name":"bench","role":"user"}' "$VR_API_URL/api/v1/tokens" | jq -r .token)

# run NAME URL [HEADER] - one wrk run, one line of figures
run() {
	out=$(wrk -t2 -c64 -d"${DURATION}s" --latency ${3:+-H "$3"} "$2")
	rps=$(echo "$out" | awk '/^Requests\/sec/ {print $2}')
	p50=$(echo "$out" | awk '$1 == "50%" {print $2}')
	p99=$(echo "$out" | awk '$1 == "99%" {print $2}')
	errs=$(echo "$out" | awk '/Non-2xx/ {print $4}')
	printf '%-32s %12s req/s   p50 %8s   p99 %8s   non-2xx %s\n' "$1" "$rps" "$p50" "$p99" \
		"${errs:-0}"
}

echo "$("$ROOT/build/bin/apid" --version) - wrk -t2 -c64 -d${DURATION}s on loopback, apid with ${VR_APID_THREADS:-2} threads, $(nproc) cores"
run "GET /healthz" "$VR_API_URL/healthz"
run "GET /api/v1/me (API token)" "$VR_API_URL/api/v1/me" "Authorization: Bearer $token"
run "GET /api/v1/me (session JWT)" "$VR_API_URL/api/v1/me" "Authorization: Bearer $session"
rss=$(awk '/VmHWM/ {print $2, $3}' "/proc/$VR_APID_PID/status")
echo "apid peak RSS: $rss (argon2id logins take 64 MiB each while they run)"
echo "reference: bare libmicrohttpd {} server, same wrk settings: ~116000 req/s (FACTS.md)"
