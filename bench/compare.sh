#!/usr/bin/env bash
# bench/compare.sh — measure the result call of this module's server and its
# peers in ONE run, on the same machine, concurrency and duration, and print
# each as a ratio to a raw net/http ceiling. Run on demand, not in CI:
#
#   bench/compare.sh                           # everything (about 6 minutes)
#   ROUNDS=1 DUR=3s PRISM=0 GOBENCH=0 bench/compare.sh   # a quick look
#
# Targets, each started once on 127.0.0.1 with a free port:
#   1. ceiling          bench/ceiling: net/http writing a fixed valid result body ("raw")
#      ceiling-many     the same ceiling polled on TASKS made-up ids (same wrk script as the many-id rows)
#   2. cardstack        bench/cardstack: the design card done the obvious way (oapi-codegen
#                       strict server + nethttp-middleware request validation + kin-openapi
#                       response validation, fixed COMPLETED task), polled on TASKS random ids
#   3. speechd-novalidate  speechd --validate=false (validation off; skipped if the flag is missing)
#   4. speechd-default  speechd defaults: request + response validation, auth (--keys), one id
#      speechd-many     speechd defaults polled on TASKS distinct tasks round-robin: TASKS-MOVING
#                       COMPLETED in a set-up run, MOVING created on the measured node, whose
#                       engine's upstream refuses every connection, so they keep changing status
#      speechd-logwarn  speechd defaults with --log-level warn (for information)
#   5. prism            Stoplight Prism 5.14.2 mock of openapi.json (needs npm; skipped without)
# The targets are measured in ROUNDS interleaved rounds (ceiling, speechd,
# ..., prism, then again), so load from other processes on a shared machine
# hits them alike; each round's figure is divided by the SAME round's
# ceiling, and the table shows the median over rounds.
#
# Then: speechd's create and lifecycle scenarios, the Go hot-path benchmarks
# (go test -bench), and CPU profiles (go tool pprof -top) of the result call
# in-process and against the real speechd wiring.
#
# Everything listens on and talks to 127.0.0.1; every run is bounded by DUR
# and REQS; every process started here is stopped by its pid on exit.
#
# Environment (defaults): CONC=64 DUR=5s ROUNDS=3 REQS=5000000 WRK=1 PRISM=1 TASKS=10000 MOVING=TASKS/20
# MANY_SETTLE=300s
# GOBENCH=1 GOBENCH_COUNT=5 LIFECYCLE_CONC=8 KEEP_TMP=0 OUT=<tmp>/results.tsv
# SRC=worktree|head
set -euo pipefail

CONC=${CONC:-64}
DUR=${DUR:-5s}
ROUNDS=${ROUNDS:-3}
REQS=${REQS:-5000000}
WRK=${WRK:-1}
PRISM=${PRISM:-1}
PRISM_VERSION=5.14.2
GOBENCH=${GOBENCH:-1}
GOBENCH_COUNT=${GOBENCH_COUNT:-5}
LIFECYCLE_CONC=${LIFECYCLE_CONC:-8}
TASKS=${TASKS:-10000}
MANY_SETTLE=${MANY_SETTLE:-300s}
KEY=${KEY:-compare-bench-key-0123456789}
# A fixed UUIDv4 for targets whose create does not make a real task (the
# ceiling answers any id; Prism mocks the create call with a placeholder).
FIXED_ID=5b0c3c1e-8f8a-4d43-9a51-1c2f6f0e7d11

repo=$(cd "$(dirname "$0")/.." && pwd)
root=$repo
cd "$root"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/speech-compare.XXXXXX")
# SRC=head measures the last commit (extracted with git archive into the
# temporary directory; the work tree is left alone), SRC=worktree (default)
# the files as they are now, uncommitted edits included.
SRC=${SRC:-worktree}
if [[ "$SRC" == head ]]; then
	mkdir -p "$tmp/src"
	git -C "$repo" archive --format=tar HEAD | tar -x -C "$tmp/src"
	root=$tmp/src
	cd "$root"
fi
OUT=${OUT:-$tmp/results.tsv}
bin=$tmp/bin
mkdir -p "$bin"
pids=()

# shellcheck source=bench/lib.sh
source "$repo/bench/lib.sh"
trap cleanup EXIT

# ---------------------------------------------------------------- machine
say "machine"
note "date:    $(date -u +%Y-%m-%dT%H:%M:%SZ)"
note "nproc:   $(nproc)"
note "cpu:     $(awk -F': ' '/^model name/{print $2; exit}' /proc/cpuinfo)"
note "go:      $(go version)"
note "commit:  $(git -C "$repo" rev-parse --short HEAD 2>/dev/null || echo unknown) (SRC=$SRC)"
note "load:    $(cut -d' ' -f1-3 /proc/loadavg) (1/5/15 min; other work on the machine skews every number)"
note "config:  CONC=$CONC DUR=$DUR ROUNDS=$ROUNDS REQS=$REQS"

# ------------------------------------------------------------------ build
say "build"
go build -o "$bin/speech" ./cmd/speech
go build -o "$bin/ceiling" ./bench/ceiling
have_cardstack=0
if go build -o "$bin/cardstack" ./bench/cardstack 2>"$tmp/cardstack-build.log"; then
	have_cardstack=1
else
	note "bench/cardstack does not build; its row is skipped:"
	sed 's/^/     /' "$tmp/cardstack-build.log" | head -20
fi
have_speechd=0
if go build -o "$bin/speechd" ./cmd/speechd 2>"$tmp/speechd-build.log"; then
	have_speechd=1
	note "built speech, ceiling, speechd"
else
	note "speechd does not build; its rows are skipped:"
	sed 's/^/     /' "$tmp/speechd-build.log" | head -20
fi

# A flag that turns speechd's spec validation off, if it has one. Go's flag
# package lists flags as "  -name"; accept -validate / -validation (set to
# false) and -no-validate / -no-validation.
novalidate_flag=""
if ((have_speechd)); then
	help=$("$bin/speechd" --help 2>&1 || true)
	for f in validate validation; do
		if grep -qE -- "^[[:space:]]+--?$f([[:space:]]|$)" <<<"$help"; then
			novalidate_flag=--$f=false
		fi
		if grep -qE -- "^[[:space:]]+--?no-$f([[:space:]]|$)" <<<"$help"; then
			novalidate_flag=--no-$f
		fi
	done
fi

# json FIELD < line: a number field of speech bench's JSON line.
json() { { grep -o "\"$1\":[0-9.e+-]*" || true; } | head -1 | cut -d: -f2; }

: >"$OUT"
# measure ROUND NAME URL [bench flags...]: `speech bench --scenario result`,
# then wrk on the same task; one line in $OUT.
measure() {
	local round=$1 name=$2 target=$3
	shift 3
	say "round $round, result call: $name ($target)"
	local line id err=$tmp/$name.$round.bench.err
	if ! line=$("$bin/speech" bench --scenario result --base-url "$target" --api-key "$KEY" \
		--concurrency "$CONC" --duration "$DUR" --requests "$REQS" --json "$@" 2>"$err"); then
		note "speech bench failed:"
		sed 's/^/     /' "$err"
		printf '%s\tround=%s\tbench=failed\n' "$name" "$round" >>"$OUT"
		return 0
	fi
	sed 's/^/   /' "$err"
	note "speech bench: $line"
	id=$({ grep -o 'on task [^ ]*' "$err" || true; } | head -1 | cut -d' ' -f3)
	local wrk_rps="n/a" wrk_p50="n/a" wrk_p99="n/a" w=$tmp/$name.$round.wrk
	if [[ "$WRK" == 1 ]] && command -v wrk >/dev/null; then
		if [[ -s "$tmp/$name.ids" ]] && (($(wc -l <"$tmp/$name.ids") > 1)); then
			# The same ids as speech bench, round-robin from a random start
			# per wrk thread.
			lua=$repo/bench/many-ids.lua
			export IDS_FILE=$tmp/$name.ids API_KEY=$KEY
		else
			lua=$tmp/$name.lua
			cat >"$lua" <<-EOF
				wrk.method = "POST"
				wrk.body = '{"id":"$id"}'
				wrk.headers["Content-Type"] = "application/json"
				wrk.headers["Authorization"] = "$KEY"
			EOF
		fi
		read -r wrk_rps wrk_p50 wrk_p99 < <(wrk_result "$target" "$lua" "$w")
		grep -E 'Requests/sec|99%|Non-2xx|Socket errors' "$w" | sed 's/^ */   wrk: /' || true
		if grep -q 'Non-2xx' "$w"; then
			note "wrk saw non-2xx answers: its req/s for $name is not comparable"
		fi
	fi
	printf '%s\tround=%s\tok_per_s=%s\tp50_ms=%s\tp99_ms=%s\tfailed=%s\twrk_rps=%s\twrk_p50=%s\twrk_p99=%s\n' "$name" "$round" \
		"$(json ok_per_s <<<"$line")" "$(json p50_ms <<<"$line")" "$(json p99_ms <<<"$line")" \
		"$(json failed <<<"$line")" "$wrk_rps" "$wrk_p50" "$wrk_p99" >>"$OUT"
}

# ------------------------------------------------ start the result targets
names=()
urls=()
flags=()
skip() { printf '%s\tbench=%s\n' "$1" "$2" >>"$OUT"; }
add() { names+=("$1"); urls+=("$url"); flags+=("${2:-}"); }

say "start the targets"
if start ceiling "$bin/ceiling" --addr 127.0.0.1:0; then
	add ceiling "--task-id $FIXED_ID"
else
	echo "the ceiling did not start; nothing to compare against" >&2
	exit 1
fi
# The ceiling again, polled on TASKS made-up ids through the same wrk
# script as the many-task targets: a wrk script that builds each request
# costs the client CPU a static one does not, on the same two cores, so the
# many-task rows are also divided by this row of the same round (/raw-many).
"$bin/speech" bench --scenario result --base-url "${urls[0]}" --api-key "$KEY" --tasks "$TASKS" --any-id \
	--ids-out "$tmp/ceiling-many.ids" --requests 1 --json >/dev/null 2>"$tmp/ceiling-many.setup.err" || true
url=${urls[0]}
add ceiling-many "--ids-in $tmp/ceiling-many.ids"
if ((have_cardstack)); then
	if start cardstack "$bin/cardstack" --addr 127.0.0.1:0 --key "$KEY"; then
		# It answers any id with a fixed task carrying that id: TASKS made-up ids.
		"$bin/speech" bench --scenario result --base-url "$url" --api-key "$KEY" --tasks "$TASKS" --any-id \
			--ids-out "$tmp/cardstack.ids" --requests 1 --json >/dev/null 2>"$tmp/cardstack.setup.err" || true
		add cardstack "--ids-in $tmp/cardstack.ids"
	else
		skip cardstack did-not-start
	fi
else
	skip cardstack no-build
fi

# speechd on SQLite (its default store) in a fresh data directory, with the
# zero-cost tone engine so the result call's task completes at once.
speechd_cmd() { printf '%s\n' "$bin/speechd" --addr 127.0.0.1:0 --data "$tmp/data-$1" --engine tone --keys "$KEY"; }
if ((have_speechd)); then
	if [[ -n "$novalidate_flag" ]]; then
		mapfile -t cmd < <(speechd_cmd novalidate)
		if start speechd-novalidate "${cmd[@]}" "$novalidate_flag"; then add speechd-novalidate; else skip speechd-novalidate did-not-start; fi
	else
		note "speechd-novalidate: skipped, speechd --help lists no flag to turn validation off"
		skip speechd-novalidate no-flag
	fi
	mapfile -t cmd < <(speechd_cmd default)
	if start speechd-default "${cmd[@]}"; then add speechd-default; else skip speechd-default did-not-start; fi
	# TASKS distinct tasks polled round-robin in every round, most of them
	# finished and the rest still moving. The finished ones are created in
	# a set-up run (tone engine; more workers only so it ends sooner), which
	# is then stopped. The measured node is speechd on defaults over the same
	# data directory, except for its engine: an OpenAI-compatible upstream
	# that refuses every connection (127.0.0.1:1), so the MOVING tasks
	# created on it keep changing status while the rounds poll them
	# (QUEUED, ASSIGNED_CONNECTIONS, PROCESSING, POSTPONED, at last ERROR),
	# and every cache is exercised on answers that change. The engine costs
	# the node almost nothing: a refused connection per attempt.
	MOVING=${MOVING:-$((TASKS / 20))}
	settled=$((TASKS - MOVING))
	mapfile -t cmd < <(speechd_cmd many)
	if start speechd-many-setup "${cmd[@]}" --workers 8; then
		note "speechd-many: creating $settled tasks that finish (at most $MANY_SETTLE)"
		setup_ok=0
		if "$bin/speech" bench --scenario result --base-url "$url" --api-key "$KEY" --tasks "$settled" \
			--settle "$MANY_SETTLE" --ids-out "$tmp/speechd-many.settled.ids" --requests 1 --json >/dev/null 2>"$tmp/speechd-many.setup.err"; then
			setup_ok=1
			sed 's/^/   /' "$tmp/speechd-many.setup.err"
		else
			note "speechd-many: set-up failed:"
			sed 's/^/     /' "$tmp/speechd-many.setup.err" | tail -5
		fi
		stop "$last_pid"
		if ((setup_ok)) && start speechd-many "$bin/speechd" --addr 127.0.0.1:0 --data "$tmp/data-many" --keys "$KEY" \
			--engine openai --openai-url http://127.0.0.1:1; then
			many_url=$url
			note "speechd-many: creating $MOVING tasks that keep moving"
			: >"$tmp/speechd-many.moving.ids"
			if ((MOVING > 0)); then
				"$bin/speech" bench --scenario result --base-url "$many_url" --api-key "$KEY" --tasks "$MOVING" \
					--settle 1s --ids-out "$tmp/speechd-many.moving.ids" --requests 1 --json >/dev/null 2>"$tmp/speechd-many.moving.err" || true
			fi
			cat "$tmp/speechd-many.settled.ids" "$tmp/speechd-many.moving.ids" | shuf >"$tmp/speechd-many.ids"
			note "speechd-many: polling $(wc -l <"$tmp/speechd-many.ids") tasks"
			url=$many_url
			add speechd-many "--ids-in $tmp/speechd-many.ids"
		else
			skip speechd-many setup-failed
		fi
	else
		skip speechd-many did-not-start
	fi
	# The default logs one line per request at info; this row shows what
	# that costs. At warn speechd does not log its address, so give it a port.
	mapfile -t cmd < <(speechd_cmd logwarn)
	port=$(free_port)
	if START_URL=http://127.0.0.1:$port start speechd-logwarn "${cmd[@]}" --log-level warn --addr "127.0.0.1:$port"; then
		add speechd-logwarn
	else
		skip speechd-logwarn did-not-start
	fi
else
	skip speechd-novalidate no-speechd
	skip speechd-default no-speechd
fi

if [[ "$PRISM" == 1 ]]; then
	note "installing @stoplight/prism-cli@$PRISM_VERSION with npm into $tmp/prism"
	if timeout 300 npm install --prefix "$tmp/prism" --no-audit --no-fund --loglevel=error \
		"@stoplight/prism-cli@$PRISM_VERSION" >"$tmp/npm.log" 2>&1; then
		port=$(free_port)
		if start prism "$tmp/prism/node_modules/.bin/prism" mock -h 127.0.0.1 -p "$port" "$root/openapi.json"; then
			add prism "--task-id $FIXED_ID"
		else
			skip prism did-not-start
		fi
	else
		note "prism: skipped, npm could not install @stoplight/prism-cli@$PRISM_VERSION:"
		tail -5 "$tmp/npm.log" | sed 's/^/     /'
		skip prism npm-failed
	fi
else
	skip prism disabled
fi
note "targets: ${names[*]}"

# ------------------------------------------------ interleaved rounds
for ((r = 1; r <= ROUNDS; r++)); do
	for i in "${!names[@]}"; do
		# shellcheck disable=SC2086 # flags are whitespace-separated words
		measure "$r" "${names[$i]}" "${urls[$i]}" ${flags[$i]}
	done
done
for pid in "${pids[@]}"; do
	[[ -n "$pid" ]] && stop "$pid"
done

# ------------------------------------------------------------ table
say "result call, $CONC connections, $DUR per measurement, median of $ROUNDS interleaved rounds"
note "ratio = this target / the ceiling in the same round (median over rounds); /rawmny = / ceiling-many"
note "(the ceiling polled on as many made-up ids through the same wrk script); /card = / cardstack"
awk -F'\t' -v conc="$CONC" -f "$repo/bench/stats.awk" -e '
function fmt(x, f) { return (x == "") ? "n/a" : sprintf(f, x) }
{
	name = $1
	if (!(name in seen)) { seen[name] = 1; order[++n] = name }
	delete f
	for (i = 2; i <= NF; i++) { split($i, kv, "="); f[kv[1]] = kv[2] }
	if ("bench" in f) { why[name] = why[name] (why[name] ? "," : "") f["bench"]; next }
	r = f["round"]
	ok[name, r] = f["ok_per_s"]; wrk[name, r] = f["wrk_rps"]
	okl[name] = okl[name] " " f["ok_per_s"]
	p50[name] = p50[name] " " f["p50_ms"]; p99[name] = p99[name] " " f["p99_ms"]
	fails[name] += f["failed"]
	if (f["wrk_rps"] != "n/a") wrkl[name] = wrkl[name] " " f["wrk_rps"]
	if (ms(f["wrk_p99"]) != "") wp99[name] = wp99[name] " " ms(f["wrk_p99"])
	if (ms(f["wrk_p50"]) != "") wp50[name] = wp50[name] " " ms(f["wrk_p50"])
	rounds[r] = 1
}
END {
	for (i = 1; i <= n; i++) {
		name = order[i]
		for (r in rounds) {
			if ((name, r) in ok && ok["ceiling", r] > 0) rat[name] = rat[name] " " ok[name, r] / ok["ceiling", r]
			if ((name, r) in wrk && wrk[name, r] != "n/a" && wrk["ceiling", r] > 0) wrat[name] = wrat[name] " " wrk[name, r] / wrk["ceiling", r]
			if ((name, r) in ok && ok["prism", r] > 0 && name == "speechd-default") xp = xp " " ok[name, r] / ok["prism", r]
			if ((name, r) in wrk && wrk["prism", r] > 0 && wrk[name, r] != "n/a" && name == "speechd-default") wxp = wxp " " wrk[name, r] / wrk["prism", r]
			if ((name, r) in ok && ok["cardstack", r] > 0) crat[name] = crat[name] " " ok[name, r] / ok["cardstack", r]
			if ((name, r) in ok && ok["ceiling-many", r] > 0) mrat[name] = mrat[name] " " ok[name, r] / ok["ceiling-many", r]
			if ((name, r) in wrk && wrk[name, r] != "n/a" && wrk["ceiling-many", r] > 0) wmrat[name] = wmrat[name] " " wrk[name, r] / wrk["ceiling-many", r]
			if ((name, r) in wrk && wrk[name, r] != "n/a" && wrk["cardstack", r] > 0) wcrat[name] = wcrat[name] " " wrk[name, r] / wrk["cardstack", r]
		}
	}
	printf "   %-19s %11s %7s %7s %7s %8s %8s %6s | %11s %7s %7s %7s %8s %8s\n", "target", "bench ok/s", "ratio", "/rawmny", "/card", "p50 ms", "p99 ms", "failed", "wrk req/s", "ratio", "/rawmny", "/card", "p50 ms", "p99 ms"
	for (i = 1; i <= n; i++) {
		name = order[i]
		if (!(name in okl)) { printf "   %-19s not measured: %s\n", name, why[name]; continue }
		printf "   %-19s %11s %7s %7s %7s %8s %8s %6d | %11s %7s %7s %7s %8s %8s\n", name,
			fmt(median(okl[name]), "%.0f"), fmt(median(rat[name]), "%.3f"), fmt(median(mrat[name]), "%.3f"), fmt(median(crat[name]), "%.3f"),
			fmt(median(p50[name]), "%.2f"), fmt(median(p99[name]), "%.2f"), fails[name],
			fmt(median(wrkl[name]), "%.0f"), fmt(median(wrat[name]), "%.3f"), fmt(median(wmrat[name]), "%.3f"), fmt(median(wcrat[name]), "%.3f"),
			fmt(median(wp50[name]), "%.2f"), fmt(median(wp99[name]), "%.2f")
	}
	for (i = 1; i <= n; i++) { # every round, so the spread shows
		name = order[i]
		if (name in okl) printf "   %-19s wrk ratio per round:%s   bench ratio per round:%s\n", name, wrat[name], rat[name]
	}
	print ""
	print "== targets (issue 8), on the medians above"
	full = median(rat["speechd-default"]); wfull = median(wrat["speechd-default"])
	p = median(p99["speechd-default"]); x = median(xp); wx = median(wxp)
	verdict("full-stack result >= 60% of the ceiling (speech bench)", full, 0.60, ">=")
	verdict("full-stack result >= 60% of the ceiling (wrk)", wfull, 0.60, ">=")
	verdict("full-stack p99 < 10 ms at " conc " connections (speech bench)", p, 10, "<")
	verdict("full-stack >= 10x Prism (speech bench)", x, 10, ">=")
	verdict("full-stack >= 10x Prism (wrk)", wx, 10, ">=")
	print ""
	print "== targets (issue 14), speechd defaults polled on many distinct tasks (speechd-many)"
	verdict("speechd-many >= 0.60 of raw (wrk)", median(wrat["speechd-many"]), 0.60, ">=")
	verdict("speechd-many >= 0.60 of raw on as many ids (wrk, /rawmny)", median(wmrat["speechd-many"]), 0.60, ">=")
	verdict("speechd-many >= 0.60 of raw (speech bench)", median(rat["speechd-many"]), 0.60, ">=")
	verdict("speechd-many >= 0.90 of the card stack (wrk)", median(wcrat["speechd-many"]), 0.90, ">=")
	verdict("speechd-many >= 0.90 of the card stack (speech bench)", median(crat["speechd-many"]), 0.90, ">=")
	verdict("speechd-many p99 <= 10 ms (wrk)", median(wp99["speechd-many"]), 10.0001, "<")
	verdict("speechd-many p99 <= 10 ms (speech bench)", median(p99["speechd-many"]), 10.0001, "<")
}
function verdict(what, v, t, op,    met) {
	if (v == "") { printf "   %-58s not measured\n", what; return }
	met = (op == ">=") ? (v >= t) : (v < t)
	printf "   %-58s %s (%.3f %s %s)\n", what, met ? "MET" : "NOT MET", v, op, t
}' "$OUT"

# ------------------------------------------------ speechd create, lifecycle
if ((have_speechd)); then
	say "create: durable creates on SQLite (speechd --role api, no workers), $CONC connections, $DUR"
	mapfile -t cmd < <(speechd_cmd create)
	# No pending limits: this row measures durable creates, not admission
	# (with no workers every task stays unfinished, and the default
	# --max-pending-per-key would answer 429 after 1 000).
	if start speechd-create "${cmd[@]}" --role api --max-pending-per-key 0 --max-pending 0; then
		"$bin/speech" bench --scenario create --base-url "$url" --api-key "$KEY" \
			--concurrency "$CONC" --duration "$DUR" --requests "$REQS" | sed 's/^/   /' || true
		stop "$last_pid"
	fi

	say "lifecycle: create -> COMPLETED, SQLite, tone engine, api/client Wait, $DUR each"
	mapfile -t cmd < <(speechd_cmd lifecycle)
	if start speechd-lifecycle "${cmd[@]}"; then
		# One task at a time with polls every [0,1ms): the overhead per task.
		# Several at a time with polls every [0,20ms): tasks/s (1ms polls from
		# many clients would saturate the server with result calls and
		# measure that instead).
		for cp in "1 1ms" "$LIFECYCLE_CONC 20ms"; do
			read -r c poll <<<"$cp"
			note "concurrency $c, poll window $poll"
			"$bin/speech" bench --scenario lifecycle --base-url "$url" --api-key "$KEY" \
				--concurrency "$c" --duration "$DUR" --requests "$REQS" --poll "$poll" | sed 's/^/   /' || true
		done
		stop "$last_pid"
	fi
fi

# ------------------------------------------------------------ Go benchmarks
if [[ "$GOBENCH" == 1 ]]; then
	say "go test -bench (hot paths), -count $GOBENCH_COUNT"
	pkgs=(./api/loadgen)
	for p in ./api/server ./api/validate ./api/store/memory ./api/store/sqlite ./api/store/cache; do
		if [[ -d "$p" ]] && grep -lq '^func Benchmark' "$p"/*_test.go 2>/dev/null; then
			pkgs+=("$p")
		fi
	done
	note "packages: ${pkgs[*]}"
	# BenchmarkDaemonResult and BenchmarkHandlerResult are load runs over
	# loopback; they run separately below.
	go test -run '^$' -bench '^Benchmark[^DH]' -benchmem -count "$GOBENCH_COUNT" "${pkgs[@]}" >"$tmp/gobench.txt" 2>&1 || true
	grep -E '^(Benchmark|ok|FAIL|---|panic)' "$tmp/gobench.txt" | sed 's/^/   /' || true
	say "medians of the runs above"
	awk '/^Benchmark/ && / ns\/op/ {
		name=$1; sub(/-[0-9]+$/, "", name)
		if (!(name in ns)) order[++n]=name
		ns[name]=ns[name] " " $3
		for (i=4; i<=NF; i++) if ($i=="allocs/op") al[name]=$(i-1)
	}
	END {
		for (j=1; j<=n; j++) { name=order[j]; k=split(substr(ns[name],2), v, " "); asort(v)
			printf "   %-58s %12.1f ns/op %6s allocs/op\n", name, (k%2)?v[(k+1)/2]:(v[k/2]+v[k/2+1])/2, al[name] }
	}' "$tmp/gobench.txt"
	say "in-process result call: throughput of each stack as a ratio to stack=handler (medians)"
	note "(no network: the fixed-body ceiling costs ~0.2 us here, so ratios to it say little;"
	note " the live ratios above are the targets. This shows what each layer costs.)"
	awk '/^BenchmarkResultCall\// {
		name=$1; sub(/-[0-9]+$/, "", name); ns[name]=ns[name] " " $3
	}
	END {
		for (n in ns) { k=split(substr(ns[n],2), v, " "); asort(v); med[n]=(k%2)?v[(k+1)/2]:(v[k/2]+v[k/2+1])/2 }
		h=med["BenchmarkResultCall/stack=handler"]
		for (n in med) printf "   %-45s ratio to handler %.3f\n", n, (h>0?h/med[n]:0)
	}' "$tmp/gobench.txt" | sort

	say "CPU profile: in-process result call, full stack (server.NewHandler, memory store)"
	go test -run '^$' -bench 'ResultCall/stack=full$' -benchtime 3s \
		-cpuprofile "$tmp/cpu.out" -memprofile "$tmp/mem.out" -o "$tmp/loadgen.test" ./api/loadgen >/dev/null
	go tool pprof -top -nodecount 25 "$tmp/loadgen.test" "$tmp/cpu.out" 2>/dev/null | sed 's/^/   /'
	say "the same, cumulative (-cum), top 30"
	go tool pprof -top -cum -nodecount 30 "$tmp/loadgen.test" "$tmp/cpu.out" 2>/dev/null | sed 's/^/   /'
	say "the same, allocations by object count (-sample_index=alloc_objects), top 20"
	go tool pprof -top -sample_index=alloc_objects -nodecount 20 "$tmp/loadgen.test" "$tmp/mem.out" 2>/dev/null | sed 's/^/   /'

	say "validation over the wire: api.NewHandler on SQLite, loopback, 64 connections, with and without the validator"
	go test -run '^$' -bench 'HandlerResult' -benchtime 30000x -count "$GOBENCH_COUNT" ./api/loadgen 2>&1 | grep -E '^(Benchmark|FAIL)' | sed 's/^/   /' || true

	if ((have_speechd)); then
		say "CPU profile: result call against the real speechd wiring (api/daemon, SQLite, tone, info logging)"
		note "over loopback with the generator in the same process; -focus keeps the server's goroutines"
		note "(log=discard formats the request log line but drops it; log=file writes it, as speechd does)"
		go test -run '^$' -bench 'DaemonResult/store=sqlite/log=discard' -benchtime 30000x -count 3 ./api/loadgen 2>&1 | grep -E '^(Benchmark|FAIL)' | sed 's/^/   /' || true
		go test -run '^$' -bench 'DaemonResult/store=sqlite/log=file' -benchtime 30000x \
			-cpuprofile "$tmp/dcpu.out" -o "$tmp/loadgen.test" ./api/loadgen 2>&1 | grep -E '^(Benchmark|FAIL)' | sed 's/^/   /' || true
		go tool pprof -top -nodecount 30 -focus 'net/http.\(\*conn\).serve' "$tmp/loadgen.test" "$tmp/dcpu.out" 2>/dev/null | sed 's/^/   /'
		say "the same, cumulative (-cum), top 40"
		go tool pprof -top -cum -nodecount 40 -focus 'net/http.\(\*conn\).serve' "$tmp/loadgen.test" "$tmp/dcpu.out" 2>/dev/null | sed 's/^/   /'
	fi
fi

say "done"
note "raw results: $OUT"
sed 's/^/   /' "$OUT"
