# stack-common.sh - helpers shared by scripts/stack and scripts/components/*.
#
# A component is an executable `scripts/components/NAME` called as `NAME up DIR` or
# `NAME down DIR`. On `up` it keeps all its state under DIR/NAME/, logs to
# DIR/log/NAME.log, records every process it started in DIR/pids/NAME (one PID a line,
# via record_pid), writes the variables it offers to DIR/env/NAME.env (via env_set), and
# exits 0 only once it is ready; otherwise it exits non-zero after `fail`, which names
# the log. It may read what earlier components offered by sourcing DIR/stack.env.
# `down` is optional extra clean-up: scripts/stack itself stops the recorded PIDs.
# Sourced, not executed; POSIX sh.

# die MSG - print MSG on stderr and exit 1
die() {
	echo "$*" >&2
	exit 1
}

# fail NAME DIR WHAT - report that component NAME is not ready, with its log's tail
fail() {
	echo "stack: $1: $3 (log: $2/log/$1.log)" >&2
	if [ -f "$2/log/$1.log" ]; then
		tail -n 20 "$2/log/$1.log" | sed 's/^/    /' >&2
	fi
	exit 1
}

# comp_init NAME DIR - create the component's directories
comp_init() {
	mkdir -p "$2/$1" "$2/log" "$2/pids" "$2/env"
	: >"$2/env/$1.env"
}

# record_pid NAME DIR PID - remember a process that `down` must stop
record_pid() {
	echo "$3" >>"$2/pids/$1"
}

# env_set NAME DIR KEY VALUE - offer KEY=VALUE (single-quoted) in stack.env
env_set() {
	v=$(printf '%s' "$4" | sed "s/'/'\\\\''/g")
	printf "%s='%s'\n" "$3" "$v" >>"$2/env/$1.env"
}

# free_port [ADDR] - print a TCP port that is free right now on ADDR (default 127.0.0.1)
# and that no other component of this stack was given (scripts/stack keeps the list in
# VR_STACK_PORTS: a port is only reserved once its daemon binds it, so two calls in a row
# could otherwise return the same one)
free_port() {
	while :; do
		fp=$(/usr/bin/python3 -c 'import socket,sys
s=socket.socket(); s.bind((sys.argv[1],0)); print(s.getsockname()[1])' "${1:-127.0.0.1}")
		if [ -n "${VR_STACK_PORTS:-}" ]; then
			grep -qx "$fp" "$VR_STACK_PORTS" 2>/dev/null && continue
			echo "$fp" >>"$VR_STACK_PORTS"
		fi
		echo "$fp"
		return 0
	done
}

# wait_tcp HOST PORT SECONDS - wait until something accepts on HOST:PORT
wait_tcp() {
	/usr/bin/python3 -c 'import socket,sys,time
end=time.time()+float(sys.argv[3])
while time.time()<end:
    try:
        socket.create_connection((sys.argv[1],int(sys.argv[2])),0.5).close(); sys.exit(0)
    except OSError: time.sleep(0.1)
sys.exit(1)' "$1" "$2" "$3"
}

# wait_file PATH SECONDS - wait until PATH exists and is not empty
wait_file() {
	n=0
	while [ ! -s "$1" ]; do
		n=$((n + 1))
		[ "$n" -gt $(($2 * 10)) ] && return 1
		sleep 0.1
	done
	return 0
}

