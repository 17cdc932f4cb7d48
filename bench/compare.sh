#!/usr/bin/env bash
# bench/compare.sh — measure the result call of this module's server and its
# peers in ONE run, on the same machine, concurrency and duration, and print
# each as a ratio to a raw net/http ceiling. Run on demand, not in CI:
#
#   bench/compare.sh                 # everything (about 3-4 minutes)
#   DUR=5s PRISM=0 bench/compare.sh  # shorter, without Prism
#
# Targets, in this order, each started fresh on 127.0.0.1 with a free port:
#   1. ceiling   bench/ceiling: net/http writing a fixed valid result body
#   2. speechd   validation off (if speechd has a flag for it)
#   3. speechd   defaults: full request + response validation, auth (--keys)
#      (and, for information, the same with --log-level warn)
#   4. prism     Stoplight Prism 5.14.2 mock of openapi.json (needs npm)
# then speechd's create and lifecycle scenarios, the Go hot-path benchmarks
# (go test -bench) and a CPU profile of the in-process result call.
#
# Everything listens on and talks to 127.0.0.1; every run is bounded by
# DUR and REQS; every process started here is stopped by its pid on exit.
#
# Environment (defaults): CONC=64 DUR=10s REQS=5000000 WRK=1 PRISM=1
# GOBENCH=1 GOBENCH_COUNT=5 LIFECYCLE_CONC=8 OUT=<temp dir>/results.txt
set -euo pipefail

CONC=${CONC:-64}
DUR=${DUR:-10s}
REQS=${REQS:-5000000}
WRK=${WRK:-1}
PRISM=${PRISM:-1}
PRISM_VERSION=5.14.2
GOBENCH=${GOBENCH:-1}
GOBENCH_COUNT=${GOBENCH_COUNT:-5}
LIFECYCLE_CONC=${LIFECYCLE_CONC:-8}
KEY=${KEY:-compare-bench-key-0123456789}
# A fixed UUIDv4 for targets whose create does not make a real task (the
# ceiling answers any id; Prism mocks the create call with a placeholder).
FIXED_ID=5b0c3c1e-8f8a-4d43-9a51-1c2f6f0e7d11

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/speech-compare.XXXXXX")
OUT=${OUT:-$tmp/results.txt}
bin=$tmp/bin
mkdir -p "$bin"
pids=()

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
trap cleanup EXIT

say() { printf '\n== %s\n' "$*"; }
note() { printf '   %s\n' "$*"; }

# ---------------------------------------------------------------- machine
say "machine"
note "date:    $(date -u +%Y-%m-%dT%H:%M:%SZ)"
note "nproc:   $(nproc)"
note "cpu:     $(awk -F': ' '/^model name/{print $2; exit}' /proc/cpuinfo)"
note "go:      $(go version)"
note "commit:  $(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
note "load:    $(cut -d' ' -f1-3 /proc/loadavg) (1/5/15 min; other work on the machine skews every number)"
note "config:  CONC=$CONC DUR=$DUR REQS=$REQS"

# ------------------------------------------------------------------ build
say "build"
go build -o "$bin/speech" ./cmd/speech
go build -o "$bin/ceiling" ./bench/ceiling
have_speechd=0
if go build -o "$bin/speechd" ./cmd/speechd 2>"$tmp/speechd-build.log"; then
	have_speechd=1
	note "built speech, ceiling, speechd"
else
	note "speechd does not build; its rows are skipped:"
	sed 's/^/     /' "$tmp/speechd-build.log" | head -20
fi

# A flag that turns speechd's spec validation off, if it has one.
novalidate_flag=""
if ((have_speechd)); then
	help=$("$bin/speechd" --help 2>&1 || true)
	# Go's flag package lists flags as "  -name"; accept -validate(=false),
	# -validation(=false), -no-validate, -no-validation.
	for f in validate validation; do
		if grep -qE -- "^[[:space:]]+--?$f([[:space:]]|$)" <<<"$help"; then
			novalidate_flag=--$f=false
		fi
		if grep -qE -- "^[[:space:]]+--?no-$f([[:space:]]|$)" <<<"$help"; then
			novalidate_flag=--no-$f
		fi
	done
fi

# start NAME CMD...: start a server in the background, wait (20 s at most)
# for its "listening on http://HOST:PORT" line, and set $url to that.
url=""
start() {
	local name=$1
	shift
	"$@" >"$tmp/$name.log" 2>&1 &
	local pid=$!
	pids+=("$pid")
	last_pid=$pid
	local i
	for ((i = 0; i < 200; i++)); do
		if [[ -n "${START_URL:-}" ]]; then
			# A server that does not log its address (e.g. at --log-level
			# warn) was given a known port: wait until it accepts.
			local hp=${START_URL#http://}
			if (exec 3<>"/dev/tcp/${hp%:*}/${hp##*:}") 2>/dev/null; then
				url=$START_URL
				return 0
			fi
		else
			url=$(sed 's/\x1b\[[0-9;]*m//g' "$tmp/$name.log" | grep -oE 'listening on https?://[^ "]+' | head -1 | sed 's/listening on //' || true)
			if [[ -n "$url" ]]; then
				return 0
			fi
		fi
		if ! kill -0 "$pid" 2>/dev/null; then
			note "$name exited before listening:"
			sed 's/^/     /' "$tmp/$name.log" | tail -20
			return 1
		fi
		sleep 0.1
	done
	note "$name did not report a listening address within 20 s:"
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

# free_port: a loopback port nobody listens on (for Prism, which needs one).
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

# json FIELD < line: a number field of speech bench's JSON line.
json() { { grep -o "\"$1\":[0-9.e+-]*" || true; } | head -1 | cut -d: -f2; }

: >"$OUT"
# measure NAME URL [bench flags...]: `speech bench --scenario result`, then
# wrk on the same task; one line per target in $OUT.
measure() {
	local name=$1 target=$2
	shift 2
	say "result call: $name ($target)"
	local line id
	if ! line=$("$bin/speech" bench --scenario result --base-url "$target" --api-key "$KEY" \
		--concurrency "$CONC" --duration "$DUR" --requests "$REQS" --json "$@" 2>"$tmp/$name.bench.err"); then
		note "speech bench failed:"
		sed 's/^/     /' "$tmp/$name.bench.err"
		printf '%s\tbench=failed\n' "$name" >>"$OUT"
		return 0
	fi
	sed 's/^/   /' "$tmp/$name.bench.err"
	note "speech bench: $line"
	id=$(grep -o 'on task [^ ]*' "$tmp/$name.bench.err" | head -1 | cut -d' ' -f3)
	local wrk_rps="n/a" wrk_p99="n/a"
	if [[ "$WRK" == 1 ]] && command -v wrk >/dev/null; then
		cat >"$tmp/$name.lua" <<-EOF
			wrk.method = "POST"
			wrk.body = '{"id":"$id"}'
			wrk.headers["Content-Type"] = "application/json"
			wrk.headers["Authorization"] = "$KEY"
		EOF
		wrk -t2 -c"$CONC" -d"$DUR" --timeout 10s --latency -s "$tmp/$name.lua" "$target/async/speech/result" >"$tmp/$name.wrk" 2>&1 || true
		sed 's/^/   wrk: /' "$tmp/$name.wrk"
		wrk_rps=$(awk '/^Requests\/sec:/{print $2}' "$tmp/$name.wrk")
		wrk_p99=$(awk '$1=="99%"{print $2}' "$tmp/$name.wrk")
		if grep -q 'Non-2xx' "$tmp/$name.wrk"; then
			note "wrk saw non-2xx answers: its req/s for $name is not comparable"
			wrk_rps="non2xx"
		fi
		wrk_rps=${wrk_rps:-n/a}
		wrk_p99=${wrk_p99:-n/a}
	fi
	printf '%s\tok_per_s=%s\tp50_ms=%s\tp99_ms=%s\tfailed=%s\twrk_rps=%s\twrk_p99=%s\n' "$name" \
		"$(json ok_per_s <<<"$line")" "$(json p50_ms <<<"$line")" "$(json p99_ms <<<"$line")" \
		"$(json failed <<<"$line")" "$wrk_rps" "$wrk_p99" >>"$OUT"
}

# run_target NAME [bench flags] -- CMD...: start, measure, stop.
run_target() {
	local name=$1 flags=()
	shift
	while [[ $# -gt 0 && "$1" != -- ]]; do
		flags+=("$1")
		shift
	done
	shift
	if start "$name" "$@"; then
		measure "$name" "$url" "${flags[@]}"
		stop "$last_pid"
	else
		printf '%s\tbench=did-not-start\n' "$name" >>"$OUT"
	fi
}

# ------------------------------------------------------------ 1. ceiling
run_target ceiling --task-id "$FIXED_ID" -- "$bin/ceiling" --addr 127.0.0.1:0

# ------------------------------------------------------------ 2/3. speechd
# speechd on SQLite (its default store) in a fresh data directory, with the
# zero-cost tone engine so the result call's task completes at once.
speechd_cmd() { printf '%s\n' "$bin/speechd" --addr 127.0.0.1:0 --data "$tmp/data-$1" --engine tone --keys "$KEY"; }
if ((have_speechd)); then
	if [[ -n "$novalidate_flag" ]]; then
		mapfile -t cmd < <(speechd_cmd novalidate)
		run_target speechd-novalidate -- "${cmd[@]}" "$novalidate_flag"
	else
		say "result call: speechd-novalidate"
		note "skipped: speechd --help lists no flag to turn validation off"
		printf 'speechd-novalidate\tbench=no-flag\n' >>"$OUT"
	fi
	mapfile -t cmd < <(speechd_cmd default)
	run_target speechd-default -- "${cmd[@]}"
	# The default logs one line per request at info; this row shows what
	# that costs (not one of the four targets of issue 8).
	mapfile -t cmd < <(speechd_cmd quiet)
	port=$(free_port)
	START_URL=http://127.0.0.1:$port run_target speechd-logwarn -- "${cmd[@]}" --log-level warn --addr "127.0.0.1:$port"
else
	printf 'speechd-novalidate\tbench=no-speechd\nspeechd-default\tbench=no-speechd\n' >>"$OUT"
fi

# ------------------------------------------------------------ 4. Prism
if [[ "$PRISM" == 1 ]]; then
	say "Prism $PRISM_VERSION (npm)"
	if timeout 300 npm install --prefix "$tmp/prism" --no-audit --no-fund --loglevel=error \
		"@stoplight/prism-cli@$PRISM_VERSION" >"$tmp/npm.log" 2>&1; then
		port=$(free_port)
		run_target prism --task-id "$FIXED_ID" -- "$tmp/prism/node_modules/.bin/prism" mock -h 127.0.0.1 -p "$port" "$root/openapi.json"
	else
		note "skipped: npm could not install @stoplight/prism-cli@$PRISM_VERSION:"
		tail -5 "$tmp/npm.log" | sed 's/^/     /'
		printf 'prism\tbench=npm-failed\n' >>"$OUT"
	fi
else
	printf 'prism\tbench=disabled\n' >>"$OUT"
fi

# ------------------------------------------------ speechd create, lifecycle
if ((have_speechd)); then
	say "create: durable creates on SQLite (speechd --role api, no workers)"
	mapfile -t cmd < <(speechd_cmd create)
	if start speechd-create "${cmd[@]}" --role api; then
		"$bin/speech" bench --scenario create --base-url "$url" --api-key "$KEY" \
			--concurrency "$CONC" --duration "$DUR" --requests "$REQS" | sed 's/^/   /' || true
		stop "$last_pid"
	fi

	say "lifecycle: create -> COMPLETED, tone engine, api/client Wait"
	mapfile -t cmd < <(speechd_cmd lifecycle)
	if start speechd-lifecycle "${cmd[@]}"; then
		# One task at a time with polls every [0,1ms): the overhead per task.
		# Several at a time with polls every [0,20ms): tasks/s (1ms polls from
		# many clients would saturate the server with result calls and
		# measure that instead).
		for cp in "1 1ms" "$LIFECYCLE_CONC 20ms"; do
			set -- $cp
			note "concurrency $1, poll window $2"
			"$bin/speech" bench --scenario lifecycle --base-url "$url" --api-key "$KEY" \
				--concurrency "$1" --duration "$DUR" --requests "$REQS" --poll "$2" | sed 's/^/   /' || true
		done
		stop "$last_pid"
	fi
fi

# ------------------------------------------------------------ table
say "result call at $CONC connections, $DUR each: ratio to the ceiling (same run)"
field() { tr '\t' '\n' <<<"$2" | { grep "^$1=" || true; } | cut -d= -f2; }
ceil_line=$(grep '^ceiling' "$OUT" || true)
ceil_ok=$(field ok_per_s "$ceil_line")
ceil_wrk=$(field wrk_rps "$ceil_line")
printf '   %-20s %12s %7s %9s %9s %8s | %12s %7s %9s\n' target "bench ok/s" ratio "p50 ms" "p99 ms" failed "wrk req/s" ratio "wrk p99"
ratio() { awk -v a="$1" -v b="$2" 'BEGIN{ if (a+0>0 && b+0>0) printf "%.3f", a/b; else printf "n/a" }'; }
while IFS= read -r line; do
	name=${line%%$'\t'*}
	if grep -q 'bench=' <<<"$line"; then
		printf '   %-20s not measured: %s\n' "$name" "$(field bench "$line")"
		continue
	fi
	ok=$(field ok_per_s "$line")
	wrps=$(field wrk_rps "$line")
	printf '   %-20s %12.1f %7s %9s %9s %8s | %12s %7s %9s\n' "$name" "$ok" "$(ratio "$ok" "$ceil_ok")" \
		"$(field p50_ms "$line")" "$(field p99_ms "$line")" "$(field failed "$line")" \
		"$wrps" "$(ratio "$wrps" "$ceil_wrk")" "$(field wrk_p99 "$line")"
done <"$OUT"

say "targets (issue 8)"
get() { field "$2" "$(grep "^$1"$'\t' "$OUT" || true)"; }
check() { awk -v v="$1" -v t="$2" -v op="$3" 'BEGIN{ if (v=="" || v=="n/a") {print "not measured"; exit} ok = (op==">=") ? (v+0>=t+0) : (v+0<t+0); printf "%s (%s %s %s)", ok?"MET":"NOT MET", v, op, t }'; }
full_ok=$(get speechd-default ok_per_s)
full_ratio=$(ratio "$full_ok" "$ceil_ok")
note "full-stack result >= 60% of ceiling (speech bench): $(check "$full_ratio" 0.60 '>=')"
full_wrk_ratio=$(ratio "$(get speechd-default wrk_rps)" "$ceil_wrk")
note "full-stack result >= 60% of ceiling (wrk):          $(check "$full_wrk_ratio" 0.60 '>=')"
note "full-stack p99 < 10 ms at $CONC connections (speech bench): $(check "$(get speechd-default p99_ms)" 10 '<')"
prism_ok=$(get prism ok_per_s)
note "full-stack >= 10x Prism (speech bench):              $(check "$(ratio "$full_ok" "$prism_ok")" 10 '>=')"

# ------------------------------------------------------------ Go benchmarks
if [[ "$GOBENCH" == 1 ]]; then
	say "go test -bench (hot paths), -count $GOBENCH_COUNT"
	pkgs=(./api/loadgen)
	for p in ./api ./api/validate ./api/store/memory ./api/store/sqlite; do
		if [[ -d "$p" ]] && grep -lq '^func Benchmark' "$p"/*_test.go 2>/dev/null; then
			pkgs+=("$p")
		fi
	done
	note "packages: ${pkgs[*]}"
	go test -run '^$' -bench . -benchmem -count "$GOBENCH_COUNT" "${pkgs[@]}" | tee "$tmp/gobench.txt" | grep -E '^(Benchmark|ok|FAIL|---)' || true
	say "in-process result call (no network): median ns/op, allocs/op, throughput ratio to stack=handler"
	note "(in-process, the fixed-body ceiling costs ~100 ns, so ratios to it say little; the"
	note " live ratios above are the target's. This table shows what each layer costs.)"
	awk '/^BenchmarkResultCall\// {
		name=$1; sub(/-[0-9]+$/, "", name); ns[name]=ns[name] " " $3; al[name]=$(NF-1)
	}
	END {
		for (n in ns) { k=split(substr(ns[n],2), v, " "); asort(v); med[n]=(k%2)?v[(k+1)/2]:(v[k/2]+v[k/2+1])/2 }
		h=med["BenchmarkResultCall/stack=handler"]
		for (n in med) printf "   %-45s %10.0f ns/op %6s allocs/op  ratio to handler %.3f\n", n, med[n], al[n], (h>0?h/med[n]:0)
	}' "$tmp/gobench.txt" | sort -k2 -n

	say "CPU profile: in-process result call through the full stack (go tool pprof -top)"
	go test -run '^$' -bench 'ResultCall/stack=full$' -benchtime 3s \
		-cpuprofile "$tmp/cpu.out" -memprofile "$tmp/mem.out" -o "$tmp/loadgen.test" ./api/loadgen >/dev/null
	go tool pprof -top -nodecount 25 "$tmp/loadgen.test" "$tmp/cpu.out" 2>/dev/null | sed 's/^/   /'
	say "cumulative (-cum), top 30"
	go tool pprof -top -cum -nodecount 30 "$tmp/loadgen.test" "$tmp/cpu.out" 2>/dev/null | sed 's/^/   /'
	say "allocations by object count (-sample_index=alloc_objects), top 20"
	go tool pprof -top -sample_index=alloc_objects -nodecount 20 "$tmp/loadgen.test" "$tmp/mem.out" 2>/dev/null | sed 's/^/   /'
fi

say "done (results: $OUT)"
if [[ "$OUT" == "$tmp"/* ]]; then
	cat "$OUT" | sed 's/^/   /'
fi
