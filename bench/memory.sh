#!/usr/bin/env bash
# Ferry memory benchmark: peak RSS of every stage at growing export sizes.
#
#   bench/memory.sh            10k and 100k tickets
#   bench/memory.sh --full     10k, 100k and 1M tickets (the issue's target: flat within 1.5x
#                              from 10k to 1M, under 150 MB per stage at 1M)
#   bench/memory.sh 2000 5000  the sizes given
#
# Data: bench/data/N (generated with --blobs when missing); scratch: bench/work/mem-N.
# Prints a table of peak RSS (MB, GNU time %M) and wall seconds per stage and size, and the
# ratio of the largest to the smallest size's peak; writes it to bench/results/<date>-memory.md
# unless BENCH_NO_WRITE=1.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BIN=${BIN:-$ROOT/.build/release}
RESULTS=${BENCH_RESULTS:-$ROOT/bench/results}
STAGES="extract dedupe map load verify"

SIZES=()
for a in "$@"; do
  case $a in
    --full) SIZES=(10000 100000 1000000);;
    *[!0-9]*|'') echo "usage: bench/memory.sh [--full | N...]" >&2; exit 2;;
    *) SIZES+=("$a");;
  esac
done
[ ${#SIZES[@]} -gt 0 ] || SIZES=(10000 100000)
[ -x /usr/bin/time ] || { echo "bench/memory.sh needs GNU time (apt-get install time)" >&2; exit 1; }
for s in $STAGES; do
  [ -x "$BIN/ferry-$s" ] || { echo "missing $BIN/ferry-$s: build first (swift build -c release)" >&2; exit 1; }
done

ROWS=$(mktemp)
trap 'rm -f "$ROWS"' EXIT
for n in "${SIZES[@]}"; do
  data=$ROOT/bench/data/$n
  if [ ! -f "$data/tickets.ndjson" ]; then
    echo "memory: generating $n tickets into $data" >&2
    rm -rf "$data.tmp"
    python3 "$ROOT/bench/generate.py" --tickets "$n" --out "$data.tmp" --blobs
    mv "$data.tmp" "$data"
  fi
  work=$ROOT/bench/work/mem-$n
  rm -rf "$work"; mkdir -p "$work"
  sed -e "s#^\(  path:\) samples/zendesk-export#\1 $data#" \
      -e "s#default: olivia.bennett@support.acme.example#default: agent0@support.example#" \
      "$ROOT/pipeline.yml" >"$work/pipeline.yml"
  for s in $STAGES; do
    echo "memory: $n tickets, ferry-$s" >&2
    status=0
    t0=$(date +%s%N)
    /usr/bin/time -f '%M' -o "$work/time.txt" "$BIN/ferry-$s" --config "$work/pipeline.yml" \
      --stages-dir "$work/stages" --quiet >"$work/$s.log" 2>&1 || status=$?
    t1=$(date +%s%N)
    if [ $status -ne 0 ] && [ $status -ne 3 ]; then
      echo "ferry-$s failed ($status) at $n tickets:" >&2; tail -20 "$work/$s.log" >&2; exit 1
    fi
    printf '%s\t%s\t%s\t%s\n' "$s" "$n" "$(tail -1 "$work/time.txt")" "$((t1 - t0))" >>"$ROWS"
  done
  rm -rf "$work/stages"   # the 1M run's stages take gigabytes
done

TABLE=$(awk -F'\t' -v sizes="${SIZES[*]}" '
{ rss[$1, $2] = $3 / 1024; secs[$1, $2] = $4 / 1e9; if (!($1 in seen)) { seen[$1] = 1; order[++ns] = $1 } }
END {
  k = split(sizes, sz, " ")
  printf "| stage |"; for (j = 1; j <= k; j++) printf " %s tickets: peak RSS MB (s) |", sz[j]
  printf " largest / smallest | flat (<= 1.5x) |\n|---|"; for (j = 1; j <= k; j++) printf "---:|"; printf "---:|---|\n"
  for (i = 1; i <= ns; i++) {
    s = order[i]; printf "| ferry-%s |", s
    for (j = 1; j <= k; j++) printf " %.1f (%.1f) |", rss[s, sz[j]], secs[s, sz[j]]
    r = rss[s, sz[k]] / rss[s, sz[1]]
    printf " %.2fx | %s |\n", r, (r <= 1.5 ? "yes" : "NO")
  }
  printf "\nTarget (issue 6): peak RSS flat within 1.5x from 10k to 1M tickets, under 150 MB per stage at 1M.\n"
}' "$ROWS")
echo "$TABLE"
if [ "${BENCH_NO_WRITE:-0}" != 1 ]; then
  mkdir -p "$RESULTS"
  out=$RESULTS/$(date -u +%Y-%m-%d)-memory.md
  { echo "# Ferry peak RSS per stage, $(date -u '+%Y-%m-%d %H:%M UTC')"; echo
    echo "Command: \`bash bench/memory.sh ${*:-}\`; machine: $(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //'), $(nproc) cores."
    echo; echo "$TABLE"; } >"$out.tmp"
  mv "$out.tmp" "$out"
  echo "memory: wrote $out" >&2
fi
