#!/usr/bin/env bash
# bench/levers.sh — the result call's speed-ups (issue 14) measured one at a
# time, old against new in the same minutes. Run on demand, not in CI:
#
#   bench/levers.sh                          # about 6 minutes
#   ROUNDS=2 DUR=3s TASKS=2000 bench/levers.sh   # a quick look
#
# Every target is a speechd with default flags except the one it names,
# polled with wrk (-c CONC, -d DUR) on the same TASKS tasks round-robin:
#   base             speechd built from BASE (default: git merge-base HEAD main),
#                    i.e. without any of these changes while they are on a branch;
#                    once merged, pass the commit before them, e.g. BASE=2417533
#   new              this tree, defaults (task cache, verdict reuse, batched log)
#   new-no-cache     --task-cache=off: every poll reads the store
#   new-no-verdicts  --validation-cache=-1: kin-openapi validates every request and response
#   new-log-lines    --log-flush=0: one write system call per request log line
#   new-no-answers   --answer-cache=-1: every answer built and encoded afresh
#   new-procs-cpus   --procs $(nproc): one Go scheduler slot per CPU (Go's default), not one more per worker
#   new-procs-sum    --procs $((2 * $(nproc))): the CPUs plus one per worker (the default workers are
#                    one per CPU), i.e. auto without its floor of 8 slots
#   new-all-off      all of these off: what is left is compiled in (link reuse per
#                    expiry bucket, fewer allocations per call, metric series resolved once,
#                    operation paths routed without a second pattern match)
# The tasks are created once (SQLite, tone engine), and every target gets a
# copy of that data directory, so all poll the same finished tasks. Rounds
# are interleaved; each figure is divided by base's in the same round, and
# the table shows the median over rounds.
#
# Then (GOBENCH=1) the in-process BenchmarkResultCall of base and new,
# alternately, GOBENCH_COUNT times each: allocations and ns per call.
#
# Environment (defaults): CONC=64 DUR=5s ROUNDS=3 TASKS=10000 BASE=<merge-base>
# GOBENCH=1 GOBENCH_COUNT=5 KEEP_TMP=0
set -euo pipefail

CONC=${CONC:-64}
DUR=${DUR:-5s}
ROUNDS=${ROUNDS:-3}
TASKS=${TASKS:-10000}
GOBENCH_COUNT=${GOBENCH_COUNT:-5}
KEY=${KEY:-levers-bench-key-0123456789}
repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"
BASE=${BASE:-$(git merge-base HEAD main)}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/speech-levers.XXXXXX")
bin=$tmp/bin
mkdir -p "$bin"
pids=()
# shellcheck source=bench/lib.sh
source "$repo/bench/lib.sh"
trap cleanup EXIT

command -v wrk >/dev/null || { echo "levers.sh needs wrk" >&2; exit 1; }

say "machine"
note "date:    $(date -u +%Y-%m-%dT%H:%M:%SZ)"
note "nproc:   $(nproc); load: $(cut -d' ' -f1-3 /proc/loadavg) (other work on the machine skews every number)"
note "head:    $(git rev-parse --short HEAD) (worktree); base: $(git rev-parse --short "$BASE")"
note "config:  CONC=$CONC DUR=$DUR ROUNDS=$ROUNDS TASKS=$TASKS"

say "build"
go build -o "$bin/speech" ./cmd/speech
go build -o "$bin/speechd" ./cmd/speechd
mkdir -p "$tmp/base-src"
git archive --format=tar "$BASE" | tar -x -C "$tmp/base-src"
(cd "$tmp/base-src" && go build -o "$bin/speechd-base" ./cmd/speechd)
note "built speech, speechd (worktree), speechd-base ($BASE)"

say "set-up: $TASKS tasks on SQLite (tone engine), created once"
start prep "$bin/speechd" --addr 127.0.0.1:0 --data "$tmp/prep" --engine tone --keys "$KEY" --workers 8
"$bin/speech" bench --scenario result --base-url "$url" --api-key "$KEY" --tasks "$TASKS" --settle 600s \
	--ids-out "$tmp/ids" --requests 1 --json >/dev/null 2>"$tmp/prep.err"
sed 's/^/   /' "$tmp/prep.err"
# Let the last few finish, so every target polls the same statuses.
sleep 5
stop "$last_pid"

# The same ids for every target, polled round-robin (bench/many-ids.lua).
export IDS_FILE=$tmp/ids API_KEY=$KEY

names=(base new new-no-cache new-no-verdicts new-log-lines new-no-answers new-procs-cpus new-procs-sum new-all-off)
declare -A args=(
	[base]=""
	[new]=""
	[new-no-cache]="--task-cache=off"
	[new-no-verdicts]="--validation-cache=-1"
	[new-log-lines]="--log-flush=0"
	[new-no-answers]="--answer-cache=-1"
	[new-procs-cpus]="--procs $(nproc)"
	[new-procs-sum]="--procs $((2 * $(nproc)))"
	[new-all-off]="--task-cache=off --validation-cache=-1 --log-flush=0 --answer-cache=-1 --procs $(nproc)"
)
declare -A urls
say "start the targets (each on a copy of the set-up's data directory)"
for n in "${names[@]}"; do
	cp -a "$tmp/prep" "$tmp/data-$n"
	exe=$bin/speechd
	[[ "$n" == base ]] && exe=$bin/speechd-base
	# shellcheck disable=SC2086 # args are whitespace-separated flags
	start "$n" "$exe" --addr 127.0.0.1:0 --data "$tmp/data-$n" --engine tone --keys "$KEY" ${args[$n]}
	urls[$n]=$url
	# One pass over every id, as a polling client makes, before measuring.
	"$bin/speech" bench --scenario result --base-url "$url" --api-key "$KEY" --ids-in "$tmp/ids" \
		--requests 1 --json >/dev/null 2>"$tmp/$n.warm.err" || { note "$n: warm-up failed"; sed 's/^/     /' "$tmp/$n.warm.err"; }
done
note "statuses polled: $(grep -o 'statuses at start: .*' "$tmp/new.warm.err" | head -1)"

out=$tmp/levers.tsv
: >"$out"
for ((r = 1; r <= ROUNDS; r++)); do
	for n in "${names[@]}"; do
		read -r rps p50 p99 < <(wrk_result "${urls[$n]}" "$repo/bench/many-ids.lua")
		printf '%s\t%s\t%s\t%s\t%s\n' "$n" "$r" "$rps" "$p50" "$p99" >>"$out"
		note "round $r $n: $rps req/s, p50 $p50, p99 $p99 (n/a: wrk gave none, or saw non-2xx answers)"
	done
done

say "result call on $TASKS tasks, wrk -c$CONC -d$DUR, median of $ROUNDS interleaved rounds"
awk -F'\t' -f "$repo/bench/stats.awk" -e '
{
	if (!($1 in seen)) { seen[$1] = 1; order[++k] = $1 }
	rps[$1, $2] = $3; rounds[$2] = 1
	if ($3 != "n/a") l[$1] = l[$1] " " $3
	if (ms($4) != "") p50[$1] = p50[$1] " " ms($4)
	if (ms($5) != "") p99[$1] = p99[$1] " " ms($5)
}
END {
	printf "   %-16s %10s %14s %8s %8s   %s\n", "target", "req/s", "ratio to base", "p50 ms", "p99 ms", "ratio per round"
	for (i = 1; i <= k; i++) {
		n = order[i]; rl = ""
		for (r in rounds) if (rps[n, r] != "n/a" && rps["base", r] > 0) rl = rl " " sprintf("%.3f", rps[n, r] / rps["base", r])
		printf "   %-16s %10.0f %14.3f %8.2f %8.2f  %s\n", n, median(l[n]), median(rl), median(p50[n]), median(p99[n]), rl
	}
}' "$out"

if [[ "${GOBENCH:-1}" == 1 ]]; then
	say "in process: BenchmarkResultCall, base and new alternately, $GOBENCH_COUNT times each (allocs/op, ns/op)"
	note "stack=full is server.NewHandler over the memory store (request id, log, recovery, limits, auth, validator)"
	for ((i = 1; i <= GOBENCH_COUNT; i++)); do
		(cd "$tmp/base-src" && go test -run '^$' -bench 'ResultCall/stack=(full|full-novalidate|handler\+validate)$' -benchmem -count 1 ./api/loadgen 2>&1) |
			awk '/^Benchmark/{print "base", $0}' >>"$tmp/gobench.txt"
		go test -run '^$' -bench 'ResultCall/stack=(full|full-novalidate|handler\+validate|full\+cache|daemon)$' -benchmem -count 1 ./api/loadgen 2>&1 |
			awk '/^Benchmark/{print "new", $0}' >>"$tmp/gobench.txt"
	done
	awk '{
		key = $1 " " $2; sub(/-[0-9]+$/, "", key)
		if (!(key in ns)) order[++n] = key
		ns[key] = ns[key] " " $4
		for (i = 5; i <= NF; i++) if ($i == "allocs/op") al[key] = $(i-1)
	}
	END {
		for (j = 1; j <= n; j++) { k = order[j]; c = split(substr(ns[k], 2), v, " "); asort(v)
			printf "   %-50s %10.0f ns/op (median of %d) %5s allocs/op\n", k, (c%2)?v[(c+1)/2]:(v[c/2]+v[c/2+1])/2, c, al[k] }
	}' "$tmp/gobench.txt" | sort
fi
say "done"
