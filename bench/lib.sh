# bench/lib.sh — what bench/compare.sh, bench/levers.sh and bench/beside.sh
# share: output helpers, starting and stopping the servers they measure, one
# wrk run, and cleaning up. Sourced, not run; the sourcing script sets tmp (a
# scratch directory) and pids (an array of the processes it started), then
# runs `trap cleanup EXIT`.

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


# cleanup: stop every process still in pids, then remove tmp (kept, and
# named on stderr, with KEEP_TMP=1).
cleanup() {
	local pid
	for pid in "${pids[@]:-}"; do
		[[ -n "$pid" ]] && kill -TERM "$pid" 2>/dev/null || true
	done
	for pid in "${pids[@]:-}"; do
		[[ -n "$pid" ]] && wait "$pid" 2>/dev/null || true
	done
	if [[ "${KEEP_TMP:-0}" == 1 ]]; then
		echo "kept $tmp" >&2
	else
		rm -rf "$tmp"
	fi
}

# wrk_result URL LUA [OUT]: one wrk run (-t2 -c$CONC -d$DUR) of the result
# call with the request script LUA, its output kept in OUT; prints
# "req/s p50 p99", each n/a when wrk gave none, and req/s n/a when any
# answer was not 2xx (not comparable).
wrk_result() {
	local w=${3:-$tmp/wrk.$$.out} rps p50 p99
	wrk -t2 -c"$CONC" -d"$DUR" --timeout 10s --latency -s "$2" "$1/async/speech/result" >"$w" 2>&1 || true
	rps=$(awk '/^Requests\/sec:/{print $2}' "$w")
	p50=$(awk '$1=="50%"{print $2}' "$w")
	p99=$(awk '$1=="99%"{print $2}' "$w")
	if grep -q 'Non-2xx' "$w"; then rps=n/a; fi
	echo "${rps:-n/a} ${p50:-n/a} ${p99:-n/a}"
}
