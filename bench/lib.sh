# bench/lib.sh — what bench/compare.sh and bench/levers.sh share: output
# helpers and starting and stopping the servers they measure. Sourced, not
# run; the sourcing script sets tmp (a scratch directory) and pids (an
# array of the processes it started, stopped on exit).

say() { printf '\n== %s\n' "$*"; }
note() { printf '   %s\n' "$*"; }

# start NAME CMD...: start a server in the background, wait (20 s at most)
# until it is up, and set $url and $last_pid. The address comes from its
# "listening on http://HOST:PORT" line, or, when START_URL is set (for a
# server told its port that logs nothing at start), from a successful connect.
url=""
last_pid=""
start() {
	local name=$1 i
	shift
	# Created here, not by the background job's redirection, which may
	# not have run yet when the loop below first reads it.
	: >"$tmp/$name.log"
	"$@" >"$tmp/$name.log" 2>&1 &
	last_pid=$!
	pids+=("$last_pid")
	for ((i = 0; i < 200; i++)); do
		if [[ -n "${START_URL:-}" ]]; then
			local hp=${START_URL#http://}
			if (exec 3<>"/dev/tcp/${hp%:*}/${hp##*:}") 2>/dev/null; then
				url=$START_URL
				return 0
			fi
		else
			url=$(sed 's/\x1b\[[0-9;]*m//g' "$tmp/$name.log" | { grep -oE 'listening on https?://[^ "]+' || true; } | head -1 | sed 's/listening on //')
			if [[ -n "$url" ]]; then
				return 0
			fi
		fi
		if ! kill -0 "$last_pid" 2>/dev/null; then
			note "$name exited before listening:"
			sed 's/^/     /' "$tmp/$name.log" | tail -20
			return 1
		fi
		sleep 0.1
	done
	note "$name did not come up within 20 s:"
	sed 's/^/     /' "$tmp/$name.log" | tail -20
	return 1
}

# stop PID: SIGTERM, then wait (10 s at most) before SIGKILL; forget PID.
stop() {
	local pid=$1 i keep=()
	if kill -TERM "$pid" 2>/dev/null; then
		for ((i = 0; i < 100; i++)); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.1
		done
		kill -KILL "$pid" 2>/dev/null || true
	fi
	wait "$pid" 2>/dev/null || true
	for i in "${pids[@]}"; do
		[[ "$i" != "$pid" ]] && keep+=("$i")
	done
	pids=("${keep[@]:-}")
}

# free_port: a loopback port nobody listens on (for servers that need one).
free_port() {
	local p i
	for ((i = 0; i < 100; i++)); do
		p=$((20000 + RANDOM % 20000))
		if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
			echo "$p"
			return 0
		fi
	done
	return 1
}

