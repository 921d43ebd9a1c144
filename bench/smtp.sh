#!/bin/sh
# bench/smtp.sh - vrgate's mail throughput against what an admin would set up instead.
#
# Three pipelines, each relaying to the same smtp-sink (the "internal server"), so that
# delivery costs the same everywhere:
#   alone        a private Postfix (bench/lib/postfix-*.cf.in) relaying to smtp-sink
#   alternative  the same Postfix, other listener, with rspamd's proxy worker as milter
#                (self_scan, unix socket) and rspamd's antivirus module calling clamd
#                (bench/lib/rspamd-*.conf.in) - the FACTS.md baseline, ~160 msg/s
#   vrgate       the stack (scripts/stack: mailsink clamd rspamd apid postfix agent), its
#                Postfix with vr-agent's milter (clamd, rspamd /checkv2, lists, anti-pub,
#                attachments, tracking to apid); the domain's internal server is moved to
#                the smtp-sink through apid (PATCH /api/v1/domains/{id})
# The alternative's rspamd uses the stack's generated rspamd configuration (same rules,
# same disabled network modules, same hyperscan cache) and the stack's clamd.
#
# Method (../shared/FACTS.md): smtp-source -s SESSIONS -m N -l SIZE to each pipeline, a
# warm-up of WARMUP messages then a timed run of N, for 1 KB and 12 KB bodies; runs are
# interleaved (alone, alternative, vrgate, alone, ...) and each figure is the median of
# RUNS. A run is timed from smtp-source's start until smtp-sink has received all N
# messages; CPU is the whole machine's busy time from /proc/stat over the same window.
# A run is valid only if smtp-source got no error, smtp-sink got exactly N messages and
# the pipeline's queue is empty afterwards (`postqueue -p`); otherwise it is reported
# INVALID with the reason, and so is every median it belongs to.
#
#   bench/smtp.sh                 full: warm-up 300, 2000 messages, 3 runs (~5 min)
#   VR_BENCH_QUICK=1 bench/smtp.sh  quick: warm-up 100, 500 messages, 3 runs
# Environment: VR_BENCH_MESSAGES, VR_BENCH_WARMUP, VR_BENCH_RUNS, VR_BENCH_SESSIONS (10),
# VR_BENCH_SIZES (bytes, "1024 12288"), VR_BENCH_PIPELINES ("alone alternative vrgate"),
# VR_BENCH_RSPAMD_CACHE (hyperscan cache kept between runs, /var/tmp/vrgate-bench-rspamd-hs),
# VR_BENCH_KEEP=1 (keep the state directory and print its path), VR_BIN_DIR (build/bin).
# Runs inside scripts/netns-run (loopback only), as root (Postfix, smtp-sink -u postfix).
set -eu
ROOT=$(cd "$(dirname "$0")/.." && pwd)
if [ "${VR_IN_NETNS:-}" != 1 ]; then
	exec "$ROOT/scripts/netns-run" "$0" "$@"
fi
LIB=$ROOT/bench/lib
BIN=${VR_BIN_DIR:-$ROOT/build/bin}
export PATH="$PATH:/usr/sbin:/sbin"

if [ "${VR_BENCH_QUICK:-0}" = 1 ]; then
	N=${VR_BENCH_MESSAGES:-500}
	WARMUP=${VR_BENCH_WARMUP:-100}
else
	N=${VR_BENCH_MESSAGES:-2000}
	WARMUP=${VR_BENCH_WARMUP:-300}
fi
RUNS=${VR_BENCH_RUNS:-3}
SESSIONS=${VR_BENCH_SESSIONS:-10}
SIZES=${VR_BENCH_SIZES:-1024 12288}
PIPELINES=${VR_BENCH_PIPELINES:-alone alternative vrgate}
HS_CACHE=${VR_BENCH_RSPAMD_CACHE:-/var/tmp/vrgate-bench-rspamd-hs}
SENDER=bench@sender.example   # matches no list: the stack starts with none
HELO=client.example
SUBJECT="vrgate benchmark"

die() {
	echo "bench: $*" >&2
	exit 1
}

[ "$(id -u)" = 0 ] || die "run as root (private Postfix instances, smtp-sink -u postfix)"
for c in smtp-source smtp-sink postfix postqueue rspamd clamd jq curl; do
	command -v "$c" >/dev/null 2>&1 || die "$c is missing (scripts/setup)"
done
[ -x "$BIN/vr-agent" ] && [ -x "$BIN/apid" ] || die "no $BIN/vr-agent or apid: build first (make build)"

DIR=$(mktemp -d /tmp/vrbench.XXXXXX)
chmod 755 "$DIR" # Postfix's daemons (user postfix) must reach its queue and data dirs
mkdir -p "$DIR/log" "$DIR/pids"
SINK_PID="" ALT_PID="" REF_STARTED=0 STACK_STARTED=0

# stop_pid PID - TERM, wait up to 15 s, then KILL
stop_pid() {
	[ -n "$1" ] || return 0
	kill -TERM "$1" 2>/dev/null || return 0
	i=0
	while kill -0 "$1" 2>/dev/null; do
		i=$((i + 1))
		[ $i -gt 150 ] && { kill -KILL "$1" 2>/dev/null || true; break; }
		sleep 0.1
	done
}

cleanup() {
	trap - EXIT INT TERM
	if [ "$REF_STARTED" = 1 ]; then
		postfix -c "$DIR/ref/etc" stop >/dev/null 2>&1 || true
		[ -s "$DIR/ref/queue/pid/master.pid" ] &&
			stop_pid "$(tr -d ' \n' <"$DIR/ref/queue/pid/master.pid")"
	fi
	stop_pid "$ALT_PID"
	stop_pid "$SINK_PID"
	[ "$STACK_STARTED" = 1 ] && "$ROOT/scripts/stack" down "$DIR" >/dev/null 2>&1 || true
	if [ "${VR_BENCH_KEEP:-0}" = 1 ]; then
		echo "bench: state kept in $DIR" >&2
	else
		rm -rf "$DIR"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ---- the stack: vrgate, and clamd + rspamd for the alternative --------------------------
VRGATE_OK=1
VRGATE_WHY=""
if ! "$BIN/vr-agent" --help 2>&1 | grep -q -- '--clamd'; then
	VRGATE_OK=0
	VRGATE_WHY="vr-agent --help has no --clamd"
fi
mkdir -p "$HS_CACHE"
stack_up() {
	STACK_STARTED=1
	VR_STACK_COMPONENTS="$1" VR_BIN_DIR="$BIN" VR_RSPAMD_CACHE="$HS_CACHE" \
		VR_RSPAMD_WAIT_HS=1 "$ROOT/scripts/stack" up "$DIR" >"$DIR/log/stack-up.out" 2>&1
}
if [ $VRGATE_OK = 1 ]; then
	if ! stack_up "mailsink clamd rspamd apid postfix agent"; then
		VRGATE_OK=0
		VRGATE_WHY="the stack did not start: $(grep -o 'stack: [a-z]*: .*' "$DIR/log/stack-up.out" |
			grep -v 'did not become ready' | head -n 1 | sed 's/^stack: //; s/ (log: .*//')"
	elif ! . "$DIR/stack.env" || [ -z "${VR_MILTER_SOCKET:-}" ] || [ ! -S "$VR_MILTER_SOCKET" ]; then
		VRGATE_OK=0
		VRGATE_WHY="no milter socket in $DIR/agent"
	fi
fi
if [ $VRGATE_OK = 0 ]; then
	"$ROOT/scripts/stack" down "$DIR" >/dev/null 2>&1 || true
	stack_up "mailsink clamd rspamd" || {
		cat "$DIR/log/stack-up.out" >&2
		die "the stack (mailsink clamd rspamd) did not start"
	}
fi
# shellcheck disable=SC1091
. "$DIR/stack.env"
# a mailbox of the internal server (not postmaster@, which filters may treat apart)
RCPT=$(printf '%s\n' $VR_MAILBOXES | grep -v '^postmaster@' | head -n 1)
DOMAIN=$VR_DOMAIN

# ---- the internal server: smtp-sink, counting messages ---------------------------------
SINK_PORT=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
SINK_OUT=$DIR/sink.counters
smtp-sink -u postfix -c -h exchange.corp.test "127.0.0.1:$SINK_PORT" 1024 >"$SINK_OUT" 2>"$DIR/log/sink.log" &
SINK_PID=$!

# sink_count - messages smtp-sink has received so far (its -c counters: "sess=S quit=Q mesg=N\r")
sink_count() {
	last=$(tail -c 80 "$SINK_OUT" 2>/dev/null) || last=""
	last=${last##*mesg=}
	last=${last%%[!0-9]*}
	echo "${last:-0}"
}

# free_port - a TCP port free right now on 127.0.0.1
free_port() {
	/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# ---- the alternative's rspamd: proxy worker, self_scan, milter on a unix socket ---------
ALT=$DIR/altrspamd
ALT_SOCK=$ALT/run/proxy.sock
start_alt_rspamd() {
	mkdir -p "$ALT/db" "$ALT/run"
	cp -r "$DIR/rspamd/conf" "$ALT/conf"
	sed "s|$DIR/rspamd/|$ALT/|g" "$DIR/rspamd/conf/override.d/options.inc" \
		>"$ALT/conf/override.d/options.inc"
	sed "s|@CLAMD@|$VR_CLAMD_SOCKET|g" "$LIB/rspamd-antivirus.conf.in" >"$ALT/conf/local.d/antivirus.conf"
	sed -e "s|@LOG@|$DIR/log/altrspamd.log|g" -e "s|@SOCKET@|$ALT_SOCK|g" \
		-e "s|@WORKERS@|${VR_RSPAMD_WORKERS:-$(nproc)}|g" "$LIB/rspamd-proxy.conf.in" >"$ALT/rspamd.conf"
	set -- --var="LOCAL_CONFDIR=$ALT/conf" --var="DBDIR=$ALT/db" --var="RUNDIR=$ALT/run" \
		--var="LOGDIR=$DIR/log"
	rspamadm "$@" configtest -c "$ALT/rspamd.conf" >>"$DIR/log/altrspamd.log" 2>&1 ||
		die "rspamadm configtest failed for the alternative (log: $DIR/log/altrspamd.log)"
	rspamd -f -i -c "$ALT/rspamd.conf" "$@" </dev/null >>"$DIR/log/altrspamd.log" 2>&1 &
	ALT_PID=$!
	i=0
	until [ -S "$ALT_SOCK" ] &&
		grep -q 'full hyperscan database of .* has been loaded' "$DIR/log/altrspamd.log"; do
		kill -0 "$ALT_PID" 2>/dev/null || die "the alternative's rspamd exited (log: $DIR/log/altrspamd.log)"
		i=$((i + 1))
		[ $i -gt 900 ] && die "the alternative's rspamd is not ready after 90 s"
		sleep 0.1
	done
}

# ---- the reference Postfix: "alone" and "alternative" listeners ------------------------
REF=$DIR/ref
start_ref_postfix() {
	mkdir -p "$REF/etc" "$REF/queue" "$REF/data"
	chown postfix:postfix "$REF/data"
	chmod 700 "$REF/data"
	ALONE_PORT=$(free_port)
	ALT_PORT=$(free_port)
	while [ "$ALT_PORT" = "$ALONE_PORT" ]; do ALT_PORT=$(free_port); done
	sed -e "s|@QUEUE@|$REF/queue|g" -e "s|@DATA@|$REF/data|g" -e "s|@LOG@|$DIR/log/refpostfix.log|g" \
		-e "s|@LOGDIR@|$DIR/log|g" -e "s|@DOMAIN@|$DOMAIN|g" -e "s|@SINK_PORT@|$SINK_PORT|g" \
		"$LIB/postfix-main.cf.in" >"$REF/etc/main.cf"
	sed -e "s|@ALONE_PORT@|127.0.0.1:$ALONE_PORT|g" -e "s|@ALT_PORT@|127.0.0.1:$ALT_PORT|g" \
		-e "s|@MILTER@|$ALT_SOCK|g" "$LIB/postfix-master.cf.in" >"$REF/etc/master.cf"
	REF_STARTED=1
	postfix -c "$REF/etc" check >>"$DIR/log/refpostfix.out" 2>&1 &&
		postfix -c "$REF/etc" start >>"$DIR/log/refpostfix.out" 2>&1 ||
		die "the reference Postfix did not start (postfix check; $DIR/log/refpostfix.*)"
	for p in $ALONE_PORT $ALT_PORT; do
		/usr/bin/python3 -c 'import socket,sys,time
for i in range(150):
    try: socket.create_connection(("127.0.0.1",int(sys.argv[1])),1).close(); sys.exit(0)
    except OSError: time.sleep(0.1)
sys.exit(1)' "$p" || die "the reference Postfix does not accept on $p"
	done
}

# ---- vrgate: the domain's internal server becomes the smtp-sink ------------------------
api() {
	if [ $# -ge 3 ]; then
		curl -sS -f -X "$1" -H "Authorization: Bearer $TOKEN" \
			-H 'Content-Type: application/json' -d "$3" "$VR_API_URL$2"
	else
		curl -sS -f -X "$1" -H "Authorization: Bearer $TOKEN" "$VR_API_URL$2"
	fi
}
point_vrgate_at_sink() {
	TOKEN=$(jq -n --arg u "$VR_ADMIN_USER" --arg p "$VR_ADMIN_PASSWORD" '{username: $u, password: $p}' |
		curl -sS -f -H 'Content-Type: application/json' -d @- "$VR_API_URL/api/v1/auth/login" |
		jq -r .token) || die "cannot log in to apid as $VR_ADMIN_USER"
	id=$(api GET /api/v1/domains | jq -r --arg d "$DOMAIN" '.items[] | select(.name == $d) | .id')
	[ -n "$id" ] || die "apid has no domain $DOMAIN"
	api PATCH "/api/v1/domains/$id" "{\"internal_host\":\"127.0.0.1\",\"internal_port\":$SINK_PORT}" >/dev/null ||
		die "apid refused PATCH /api/v1/domains/$id"
	want=$(api GET /api/v1/policy | jq -r .version)
	i=0
	while :; do
		got=$(api GET /api/v1/agents | jq -r --arg n "$VR_AGENT_NAME" \
			'.items[] | select(.name == $n) | .applied_version' 2>/dev/null || true)
		[ "${got:-0}" -ge "$want" ] 2>/dev/null && break
		i=$((i + 1))
		[ $i -gt 300 ] && die "vr-agent did not apply version $want within 60 s"
		sleep 0.2
	done
	grep -q "\[127.0.0.1\]:$SINK_PORT" "$VR_POSTFIX_CONFIG_DIR/transport" ||
		die "vrgate's Postfix transport does not point at the smtp-sink"
}

# ---- one run ----------------------------------------------------------------------------
# pipeline facts: port, Postfix config dir
p_port() {
	case $1 in
	alone) echo "$ALONE_PORT" ;;
	alternative) echo "$ALT_PORT" ;;
	vrgate) echo "${VR_SMTP_IN##*:}" ;;
	esac
}
p_conf() {
	case $1 in
	vrgate) echo "$VR_POSTFIX_CONFIG_DIR" ;;
	*) echo "$REF/etc" ;;
	esac
}

queue_empty() {
	postqueue -c "$1" -p 2>/dev/null | grep -q 'Mail queue is empty'
}

# cpu_busy - busy jiffies of the whole machine (user nice system irq softirq steal)
cpu_busy() {
	awk '$1 == "cpu" { print $2 + $3 + $4 + $7 + $8 + $9; exit }' /proc/stat
}
HZ=$(getconf CLK_TCK)

# send PIPELINE SIZE COUNT - send COUNT messages, wait until smtp-sink has them all.
# Sets RATE (msg/s), CPUMS (ms per message), WHY (empty when valid).
send() {
	conf=$(p_conf "$1")
	WHY=""
	# the previous run must have drained everywhere
	i=0
	until queue_empty "$REF/etc" 2>/dev/null || [ "$REF_STARTED" = 0 ]; do
		i=$((i + 1)); [ $i -gt 600 ] && break; sleep 0.1
	done
	if [ $VRGATE_OK = 1 ]; then
		i=0
		until queue_empty "$VR_POSTFIX_CONFIG_DIR"; do
			i=$((i + 1)); [ $i -gt 600 ] && break; sleep 0.1
		done
	fi
	c0=$(sink_count)
	want=$((c0 + $3))
	b0=$(cpu_busy)
	t0=$(date +%s%N)
	if ! smtp-source -s "$SESSIONS" -m "$3" -l "$2" -S "$SUBJECT" -M "$HELO" -f "$SENDER" \
		-t "$RCPT" "127.0.0.1:$(p_port "$1")" >"$DIR/log/source.out" 2>&1; then
		WHY="smtp-source: $(tail -n 1 "$DIR/log/source.out")"
	fi
	# deadline: 60 s after smtp-source is done
	end=$(($(date +%s) + 60))
	while [ "$(sink_count)" -lt "$want" ] && [ "$(date +%s)" -lt "$end" ]; do
		sleep 0.02
	done
	t1=$(date +%s%N)
	b1=$(cpu_busy)
	got=$(($(sink_count) - c0))
	[ -z "$WHY" ] && [ "$got" -ne "$3" ] && WHY="smtp-sink received $got of $3"
	if ! queue_empty "$conf"; then
		n=$(postqueue -c "$conf" -j 2>/dev/null | grep -c '"queue_name": *"deferred"' || true)
		WHY="${WHY:+$WHY; }queue not empty ($n deferred)"
	fi
	RATE=$(awk -v n="$3" -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", n / ((b - a) / 1e9) }')
	CPUMS=$(awk -v n="$3" -v a="$b0" -v b="$b1" -v hz="$HZ" 'BEGIN { printf "%.2f", (b - a) * 1000 / hz / n }')
}

# ---- set up, sanity checks ---------------------------------------------------------------
start_alt_rspamd
start_ref_postfix
[ $VRGATE_OK = 1 ] && point_vrgate_at_sink

# pipelines to measure; vrgate only when its milter runs
MEASURE=""
for p in $PIPELINES; do
	case $p in
	alone | alternative) MEASURE="$MEASURE $p" ;;
	vrgate) [ $VRGATE_OK = 1 ] && MEASURE="$MEASURE $p" ;;
	*) die "unknown pipeline $p" ;;
	esac
done

# one message of each size through each pipeline: must be delivered, not rejected/held
for p in $MEASURE; do
	for s in $SIZES; do
		send "$p" "$s" 1
		[ -z "$WHY" ] || die "$p: a $s-byte test message was not delivered: $WHY (logs: VR_BENCH_KEEP=1, $DIR/log)"
	done
done
# the alternative must call clamd on the whole message: EICAR as the plain-text body is rejected
eicar='X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*'
printf 'From: <%s>\nTo: <%s>\nSubject: eicar\n\n%s\n' "$SENDER" "$RCPT" "$eicar" >"$DIR/eicar.eml"
if smtp-source -m 1 -F "$DIR/eicar.eml" -M "$HELO" -f "$SENDER" -t "$RCPT" \
	"127.0.0.1:$ALT_PORT" >"$DIR/log/eicar.out" 2>&1; then
	die "the alternative did not reject EICAR: rspamd's antivirus module does not reach clamd (log: $DIR/log/altrspamd.log)"
fi

# background load: what the machine does without us (other jobs make the CPU figures noisy)
# background SECONDS - busy CPU in % of one core over SECONDS
background() {
	b0=$(cpu_busy)
	sleep "$1"
	b1=$(cpu_busy)
	awk -v a="$b0" -v b="$b1" -v hz="$HZ" -v t="$1" 'BEGIN { printf "%.0f", (b - a) * 100 / hz / t }'
}

# ---- the measurement: interleaved, median of RUNS ----------------------------------------
BG_BEFORE=$(background 3)
RESULTS=$DIR/results
: >"$RESULTS"
echo "bench: smtp-source -s $SESSIONS, warm-up $WARMUP + $N messages, $RUNS interleaved runs, sizes $SIZES; $(nproc) cores" >&2
for s in $SIZES; do
	r=1
	while [ $r -le "$RUNS" ]; do
		for p in $MEASURE; do
			send "$p" "$s" "$WARMUP"
			wwhy=$WHY
			send "$p" "$s" "$N"
			[ -n "$wwhy" ] && WHY="${WHY:+$WHY; }warm-up: $wwhy"
			printf '%s %s %s %s %s %s\n' "$p" "$s" "$r" "$RATE" "$CPUMS" "${WHY:-ok}" >>"$RESULTS"
			printf 'bench: %-11s %6s B run %s: %7s msg/s %6s ms CPU/msg %s\n' "$p" "$s" "$r" \
				"$RATE" "$CPUMS" "${WHY:+INVALID: $WHY}" >&2
		done
		r=$((r + 1))
	done
done

BG_AFTER=$(background 3)

# ---- report -------------------------------------------------------------------------------
# med PIPELINE SIZE FIELD - median of a field over the runs (4: msg/s, 5: ms/msg)
med() {
	awk -v p="$1" -v s="$2" -v f="$3" '$1 == p && $2 == s { print $f }' "$RESULTS" | sort -g |
		awk '{ v[NR] = $1 } END { if (NR == 0) print "-"; else if (NR % 2) print v[(NR + 1) / 2];
			else printf "%.2f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
invalid() {
	awk -v p="$1" -v s="$2" '$1 == p && $2 == s && $6 != "ok"' "$RESULTS" | head -n 1 |
		cut -d' ' -f6-
}
label() {
	case $1 in
	alone) echo "Postfix alone" ;;
	alternative) echo "Postfix + rspamd proxy milter + ClamAV" ;;
	vrgate) echo "vrgate (Postfix + vr-agent milter)" ;;
	esac
}
ver_postfix=$(postconf -d mail_version 2>/dev/null | sed 's/.*= //')
ver_rspamd=$(rspamd --version 2>/dev/null | head -n 1 | awk '{ print $NF }')
ver_clamd=$(clamd --version 2>/dev/null | cut -d/ -f1)
echo
echo "vrgate mail throughput - smtp-source -s $SESSIONS, $WARMUP warm-up + $N timed messages to 1 recipient,"
echo "into smtp-sink; median of $RUNS interleaved runs; CPU = whole machine ($(nproc) cores) from /proc/stat"
echo "Postfix $ver_postfix, rspamd $ver_rspamd, $ver_clamd; idle machine busy ${BG_BEFORE}% / ${BG_AFTER}% of a core (before / after)"
echo
printf '%-40s' "pipeline"
for s in $SIZES; do printf ' | %5s B: %7s %9s' "$s" "msg/s" "CPU ms/msg"; done
echo
for p in alone alternative vrgate; do
	case " $PIPELINES " in *" $p "*) ;; *) continue ;; esac
	printf '%-40s' "$(label "$p")"
	if [ "$p" = vrgate ] && [ $VRGATE_OK = 0 ]; then
		echo " | vrgate: milter not available in this build ($VRGATE_WHY)"
		continue
	fi
	for s in $SIZES; do
		printf ' | %8s %7s %9s' "" "$(med "$p" "$s" 4)" "$(med "$p" "$s" 5)"
	done
	echo
	for s in $SIZES; do
		w=$(invalid "$p" "$s")
		[ -z "$w" ] || echo "    INVALID at $s B: $w"
	done
done
case " $MEASURE " in
*" vrgate "*)
	case " $MEASURE " in *" alternative "*)
		printf '%-40s' "ratio vrgate / alternative"
		for s in $SIZES; do
			a=$(med alternative "$s" 4) v=$(med vrgate "$s" 4)
			ac=$(med alternative "$s" 5) vc=$(med vrgate "$s" 5)
			printf ' | %8s %7s %9s' "" "$(awk -v a="$a" -v b="$v" 'BEGIN { printf "%.2fx", b / a }')" \
				"$(awk -v a="$ac" -v b="$vc" 'BEGIN { printf "%.2fx", b / a }')"
		done
		echo
		;;
	esac
	;;
esac
echo "reference (FACTS.md): Postfix alone 383/308 msg/s, alternative 161/160 msg/s (1 KB / 12 KB)"
if [ -n "$(awk '$6 != "ok"' "$RESULTS")" ]; then
	echo "some runs were INVALID (see above): their figures do not count"
	exit 1
fi
