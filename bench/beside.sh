#!/usr/bin/env bash
# bench/beside.sh — the result call while speechd's own engines synthesize,
# with the engines below speechd's CPU priority (--engine-nice, default) and
# at it (--engine-nice -1), measured alternately in the same minutes. Run on
# demand, not in CI:
#
#   bench/beside.sh                        # about 2 minutes
#   ROUNDS=2 DUR=3s bench/beside.sh        # a quick look
#
# Each phase starts one speechd on its default engine (auto: festival here)
# with a fresh data directory, creates BUSY tasks of a long sentence (enough
# synthesis to keep every worker busy through the phase), then polls those
# tasks with wrk (-c CONC, -d DUR, bench/many-ids.lua), then the raw net/http
# ceiling (bench/ceiling) for DUR beside the same busy engines, and counts
# the tasks that reached COMPLETED while it measured (what the lower
# priority costs synthesis). Only one speechd runs at a time; phases
# alternate (niced, same, niced, ...), so load from elsewhere hits both.
#
# Environment (defaults): CONC=64 DUR=5s ROUNDS=3 BUSY=200 KEEP_TMP=0
set -euo pipefail

CONC=${CONC:-64}
DUR=${DUR:-5s}
ROUNDS=${ROUNDS:-3}
BUSY=${BUSY:-200}
KEY=${KEY:-beside-bench-key-0123456789}
repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/speech-beside.XXXXXX")
bin=$tmp/bin
mkdir -p "$bin"
pids=()

# shellcheck source=bench/lib.sh
source "$repo/bench/lib.sh"
trap cleanup EXIT

command -v wrk >/dev/null || { echo "beside.sh needs wrk" >&2; exit 1; }
command -v curl >/dev/null || { echo "beside.sh needs curl" >&2; exit 1; }

say "machine"
note "date:    $(date -u +%Y-%m-%dT%H:%M:%SZ)"
note "nproc:   $(nproc); load: $(cut -d' ' -f1-3 /proc/loadavg) (other work on the machine skews every number)"
note "head:    $(git rev-parse --short HEAD) (worktree)"
note "config:  CONC=$CONC DUR=$DUR ROUNDS=$ROUNDS BUSY=$BUSY"

say "build"
go build -o "$bin/speechd" ./cmd/speechd
go build -o "$bin/ceiling" ./bench/ceiling
start ceiling "$bin/ceiling" --addr 127.0.0.1:0
ceiling=$url

text="The quick brown fox jumps over the lazy dog, and then it runs far away across the wide green field, past the old stone wall and the quiet river, until the evening light fades behind the distant hills."

# completed URL: tasks this node's workers have completed (0 when /metrics
# does not answer: the count is information, not worth stopping the run for).
completed() {
	{ curl -sf "$1/metrics" || true; } | awk '/^speechd_task_transitions_total\{status="COMPLETED"\}/{print $2; f=1} END{if(!f) print 0}'
}

cat >"$tmp/ceiling.lua" <<EOF
wrk.method = "POST"
wrk.body = '{"id":"5b0c3c1e-8f8a-4d43-9a51-1c2f6f0e7d11"}'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "$KEY"
EOF

declare -A flag=([niced]="" [same]="--engine-nice -1")
out=$tmp/beside.tsv
: >"$out"
for ((r = 1; r <= ROUNDS; r++)); do
	for v in niced same; do
		rm -rf "$tmp/data"
		# shellcheck disable=SC2086 # flag holds whitespace-separated flags
		start "$v" "$bin/speechd" --addr 127.0.0.1:0 --data "$tmp/data" --keys "$KEY" ${flag[$v]} || exit 1
		node=$url pid=$last_pid
		engine=$(grep -o 'speech engine: [^"]*' "$tmp/$v.log" | head -1)
		: >"$tmp/ids"
		for ((i = 0; i < BUSY; i++)); do
			curl -sf -X POST -H "authorization: $KEY" -H 'content-type: application/json' \
				-d "{\"model\":\"Chatterbox\",\"input\":\"$text\"}" "$node/async/speech/create" |
				sed -n 's/.*"id":"\([^"]*\)".*/\1/p' >>"$tmp/ids"
		done
		export IDS_FILE=$tmp/ids API_KEY=$KEY
		sleep 1 # every worker has a task and the warm processes are up
		before=$(completed "$node")
		read -r rps p50 p99 < <(wrk_result "$node" "$repo/bench/many-ids.lua")
		read -r crps cp50 cp99 < <(wrk_result "$ceiling" "$tmp/ceiling.lua")
		after=$(completed "$node")
		printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$v" "$r" "$rps" "$p50" "$p99" "$crps" "$cp99" "$((after - before))" >>"$out"
		note "round $r $v: speechd $rps req/s p50 $p50 p99 $p99; ceiling beside it $crps req/s p99 $cp99; tasks completed meanwhile $((after - before)) ($engine)"
		stop "$pid"
	done
done

say "result call beside busy engines, wrk -c$CONC -d$DUR, median of $ROUNDS alternating rounds"
awk -F'\t' -f "$repo/bench/stats.awk" -e '
# n/a (wrk gave no figure, or saw non-2xx answers) is left out of medians.
{ if ($3 != "n/a") rps[$1] = rps[$1] " " $3
  if ($5 != "n/a") p99[$1] = p99[$1] " " ms($5)
  if ($6 != "n/a") c[$1] = c[$1] " " $6
  if ($7 != "n/a") cp[$1] = cp[$1] " " ms($7)
  done[$1] = done[$1] " " $8
  if ($3 != "n/a" && $6 != "n/a" && $6 + 0 > 0) ratio[$1] = ratio[$1] " " $3 / $6 }
END {
	printf "%-7s %12s %9s %18s %10s %14s %16s\n", "engines", "speechd r/s", "p99 ms", "ceiling beside r/s", "ceil p99", "speechd÷ceil", "tasks completed"
	for (i = 1; i <= 2; i++) {
		v = (i == 1) ? "niced" : "same"
		printf "%-7s %12.0f %9.2f %18.0f %10.2f %14.3f %16s\n", v, median(rps[v]), median(p99[v]), median(c[v]), median(cp[v]), median(ratio[v]), median(done[v])
	}
	if (median(rps["same"]) > 0) printf "niced ÷ same, speechd req/s: %.2f×\n", median(rps["niced"]) / median(rps["same"])
}' "$out"
