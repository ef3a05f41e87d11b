#!/usr/bin/env bash
# Ferry benchmark: every stage against its peers and the machine's limits, on the same
# generated data, in one run.
#
#   bench/run.sh [N]              N tickets (default 100000); `make bench N=...` calls this
#   bench/run.sh --no-write 2000  print the table only (make bench-smoke, the smoke test)
#
# Data: bench/data/N (made by bench/generate.py --blobs if missing; `make bench-data N=...`).
# Scratch: bench/work/N (stages, unpacked members, peer outputs; git-ignored, rewritten each run).
# Result: bench/results/<date>-<N>.md (the table, with the machine and the command), and stdout.
#
# Environment: BIN (default .build/release), BENCH_DATA, BENCH_WORK, BENCH_RESULTS.
# Needs jq, zstd, bsdtar (libarchive-tools), GNU time, python3; installs the Debian packages
# with apt-get when run as root and they are missing. sqlite-utils is used when it is on
# PATH (or installs from PyPI within a minute); its row is left out otherwise.
set -euo pipefail

WRITE=1
if [ "${1:-}" = "--no-write" ]; then WRITE=0; shift; fi
N=${1:-${N:-100000}}
case $N in ''|*[!0-9]*) echo "usage: bench/run.sh [--no-write] [N tickets]" >&2; exit 2;; esac

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BIN=${BIN:-$ROOT/.build/release}
DATA=${BENCH_DATA:-$ROOT/bench/data/$N}
WORK=${BENCH_WORK:-$ROOT/bench/work/$N}
RESULTS=${BENCH_RESULTS:-$ROOT/bench/results}
STAGES="extract dedupe map load verify"
KINDS="organizations users groups ticket_fields tickets comments attachments kb_categories kb_sections kb_articles"

say() { echo "bench: $*" >&2; }
trap 'say "failed at line $LINENO: $BASH_COMMAND"' ERR

# ---- tools -------------------------------------------------------------------------------
missing=()
command -v jq >/dev/null || missing+=(jq)
command -v zstd >/dev/null || missing+=(zstd)
command -v bsdtar >/dev/null || missing+=(libarchive-tools)
[ -x /usr/bin/time ] || missing+=(time)
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then SUDO=""; elif sudo -n true 2>/dev/null; then SUDO="sudo -n"; else
    say "needs: sudo apt-get install -y ${missing[*]}"; exit 1; fi
  say "installing ${missing[*]}"
  $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
fi
command -v python3 >/dev/null || { say "needs python3"; exit 1; }
if ! command -v sqlite-utils >/dev/null && [ -z "${BENCH_NO_PIP:-}" ]; then
  timeout 60 python3 -m pip install -q sqlite-utils >/dev/null 2>&1 || true
  hash -r
fi
for s in $STAGES; do
  [ -x "$BIN/ferry-$s" ] || { say "missing $BIN/ferry-$s: build first (swift build -c release, or make build)"; exit 1; }
done

# ---- data and scratch -----------------------------------------------------------------------
if [ ! -f "$DATA/tickets.ndjson" ]; then
  say "generating $N tickets into $DATA"
  rm -rf "$DATA.tmp"
  python3 "$ROOT/bench/generate.py" --tickets "$N" --out "$DATA.tmp" --blobs
  mv "$DATA.tmp" "$DATA"
fi
mkdir -p "$WORK"
exec 9>"$WORK/.lock"
flock -n 9 || { say "another benchmark is running in $WORK"; exit 75; }
rm -rf "$WORK/stages" "$WORK/members" "$WORK/peer" "$WORK/limits" "$WORK/logs"
mkdir -p "$WORK/stages" "$WORK/members" "$WORK/peer" "$WORK/limits" "$WORK/logs"
ROWS=$WORK/rows.tsv
: >"$ROWS"
CONFIG=$WORK/pipeline.yml
sed -e "s#^\(  path:\) samples/zendesk-export#\1 $DATA#" \
    -e "s#default: olivia.bennett@support.acme.example#default: agent0@support.example#" \
    "$ROOT/pipeline.yml" >"$CONFIG"
grep -q "path: $DATA" "$CONFIG" || { say "could not point $CONFIG at $DATA"; exit 1; }

# ---- measuring -------------------------------------------------------------------------------
# measure NAME GROUP RECORDS BYTES CMD... : wall time (date, ns) and peak RSS (GNU time %M)
measure() {
  local name=$1 group=$2 rec=$3 bytes=$4; shift 4
  local tf=$WORK/logs/time.txt log=$WORK/logs/$(echo "$name" | tr -c 'a-zA-Z0-9\n' '_').log
  say "$name"
  local t0 t1 status=0
  t0=$(date +%s%N)
  /usr/bin/time -f '%M' -o "$tf" "$@" >"$log" 2>&1 || status=$?
  t1=$(date +%s%N)
  # Ferry stages exit 3 when they finished with rejected records: that is a finished run.
  if [ $status -ne 0 ] && ! { [ $status -eq 3 ] && [ "$group" = stage ]; }; then
    say "$name failed with status $status; its output:"; tail -20 "$log" >&2; exit 1
  fi
  printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$name" "$group" "$rec" "$bytes" "$((t1 - t0))" "$(tail -1 "$tf")" >>"$ROWS"
}
# Bytes and lines of the files given; a kind a part does not hold counts as empty.
bytes_of() { { cat "$@" 2>/dev/null || true; } | wc -c; }
lines_of() { { cat "$@" 2>/dev/null || true; } | wc -l; }

# Unpacks a stage's parts (in checkpoint order = part number order) into
# members/<stage>/part-N/ and concatenates each record kind into members/<stage>/all/<kind>.ndjson.
unpack_bundle() {
  local stage=$1 dir=$WORK/members/$1 part p
  mkdir -p "$dir/all"
  for part in "$WORK"/stages/"$stage"/part-*.tar.zst; do
    p=$(basename "$part" .tar.zst)
    mkdir -p "$dir/$p"
    if [ "$stage/$p" = extract/part-00001 ]; then bsdtar -xf "$part" -C "$dir/$p"   # whole, for the bsdtar rows
    else bsdtar -xf "$part" -C "$dir/$p" --exclude 'blobs/*'; fi
  done
  for k in $KINDS; do
    cat "$dir"/part-*/"$k".ndjson >"$dir/all/$k.ndjson" 2>/dev/null || true
  done
  # Keep scratch small (1M tickets): only the concatenated members, and extract's part 1.
  find "$dir" -mindepth 1 -maxdepth 1 -name 'part-*' ! -path "$WORK/members/extract/part-00001" -exec rm -rf {} +
}
record_files() { local k; for k in $KINDS; do echo "$WORK/members/$1/all/$k.ndjson"; done; }

# ---- the export ---------------------------------------------------------------------------------
mapfile -t EXPORT_NDJSON < <(find "$DATA" -name '*.ndjson' | sort)
EXPORT_BYTES=$(bytes_of "${EXPORT_NDJSON[@]}")
cat "${EXPORT_NDJSON[@]}" >/dev/null   # every run starts from a warm page cache

# ---- Ferry stages, each on its own ------------------------------------------------------------------
FLAGS=(--config "$CONFIG" --stages-dir "$WORK/stages" --quiet)
measure "ferry-extract" stage 0 "$EXPORT_BYTES" "$BIN/ferry-extract" "${FLAGS[@]}"
unpack_bundle extract
mapfile -t F < <(record_files extract)
EXTRACT_REC=$(lines_of "${F[@]}"); EXTRACT_BYTES=$(bytes_of "${F[@]}")
sed -i "1s/\t0\t/\t$EXTRACT_REC\t/" "$ROWS"   # extract's records = what it read from the export

measure "ferry-dedupe" stage "$EXTRACT_REC" "$EXTRACT_BYTES" "$BIN/ferry-dedupe" "${FLAGS[@]}"
unpack_bundle dedupe
mapfile -t F < <(record_files dedupe)
DEDUPE_REC=$(lines_of "${F[@]}"); DEDUPE_BYTES=$(bytes_of "${F[@]}")

measure "ferry-map" stage "$DEDUPE_REC" "$DEDUPE_BYTES" "$BIN/ferry-map" "${FLAGS[@]}"
unpack_bundle map
mapfile -t F < <(record_files map)
MAP_REC=$(lines_of "${F[@]}"); MAP_BYTES=$(bytes_of "${F[@]}")

measure "ferry-load (SQLite)" stage "$MAP_REC" "$MAP_BYTES" "$BIN/ferry-load" "${FLAGS[@]}"
measure "ferry-verify" stage "$MAP_REC" "$MAP_BYTES" "$BIN/ferry-verify" "${FLAGS[@]}"

# ---- physical limits on the same bytes ------------------------------------------------------------
TICKETS_SRC=$DATA/tickets.ndjson
TK_MEMBER=$WORK/members/extract/all/tickets.ndjson   # the extract stage's tickets member(s)
TK_REC=$(lines_of "$TK_MEMBER"); TK_BYTES=$(bytes_of "$TK_MEMBER")
SRC_TK_REC=$(( $(lines_of "$WORK/members/extract/all/tickets.ndjson" "$WORK/members/extract/all/comments.ndjson" "$WORK/members/extract/all/attachments.ndjson") ))
measure "cat tickets.ndjson > /dev/null" limit "$SRC_TK_REC" "$(bytes_of "$TICKETS_SRC")" \
  bash -c 'exec cat "$0" >/dev/null' "$TICKETS_SRC"
measure "zstd -3 (extract tickets member)" limit "$TK_REC" "$TK_BYTES" \
  zstd -q -3 -f "$TK_MEMBER" -o "$WORK/limits/tickets.ndjson.zst"
measure "zstd -d (extract tickets member)" limit "$TK_REC" "$TK_BYTES" \
  bash -c 'exec zstd -q -d -c "$0" >/dev/null' "$WORK/limits/tickets.ndjson.zst"
PART1=$WORK/members/extract/part-00001
mapfile -t P1 < <(for k in $KINDS; do echo "$PART1/$k.ndjson"; done)
P1_REC=$(lines_of "${P1[@]}"); P1_BYTES=$(find "$PART1" -type f -printf '%s\n' | awk '{s+=$1} END {print s+0}')
measure "bsdtar pack part 1 (zstd)" limit "$P1_REC" "$P1_BYTES" \
  bsdtar --zstd -cf "$WORK/limits/part-00001.tar.zst" -C "$PART1" .
mkdir -p "$WORK/limits/unpacked"
measure "bsdtar unpack part 1 (zstd)" limit "$P1_REC" "$P1_BYTES" \
  bsdtar -xf "$WORK/stages/extract/part-00001.tar.zst" -C "$WORK/limits/unpacked"

# ---- peers doing the nearest equivalent job -------------------------------------------------------
EXPORT_REC=$EXTRACT_REC
measure "python json lines (extract peer)" peer:extract "$EXPORT_REC" "$EXPORT_BYTES" \
  python3 "$ROOT/bench/peers/py_json_lines.py" "$DATA" "$WORK/peer/extract"
rm -rf "$WORK/peer/extract"
mapfile -t F < <(record_files extract)
measure "jq -c lower-case e-mails (dedupe peer)" peer:dedupe "$EXTRACT_REC" "$EXTRACT_BYTES" \
  bash -c 'f=$1; shift; exec jq -c "$f" "$@" >"'"$WORK"'/peer/dedupe.ndjson"' _ \
  'if (.email | type) == "string" then .email |= (ascii_downcase | gsub("^\\s+|\\s+$"; "")) else . end' "${F[@]}"
rm -f "$WORK/peer/dedupe.ndjson"
STATUS_MAP=$(python3 - "$CONFIG" <<'EOF'
import json, re, sys
text = open(sys.argv[1]).read()
block = re.search(r"^  statuses:\n((?:    .*\n)+)", text, re.M).group(1)
print(json.dumps(dict(re.findall(r"^\s+(\w+):\s*(\w+)", block, re.M))))
EOF
)
mapfile -t F < <(record_files dedupe)
measure "jq -c status lookup (map peer)" peer:map "$DEDUPE_REC" "$DEDUPE_BYTES" \
  bash -c 'm=$1; f=$2; shift 2; exec jq -c --argjson m "$m" "$f" "$@" >"'"$WORK"'/peer/map.ndjson"' _ \
  "$STATUS_MAP" 'if has("status") and (.status | type) == "string" then .status = ($m[.status] // .status) else . end' "${F[@]}"
rm -f "$WORK/peer/map.ndjson"
MT=$WORK/members/map/all/tickets.ndjson; MC=$WORK/members/map/all/comments.ndjson
TC_REC=$(lines_of "$MT" "$MC"); TC_BYTES=$(bytes_of "$MT" "$MC")
measure "python sqlite3 executemany (load peer)" peer:load "$TC_REC" "$TC_BYTES" \
  python3 "$ROOT/bench/peers/py_sqlite_load.py" "$WORK/peer/load.sqlite" "$MT" "$MC"
rm -f "$WORK/peer/load.sqlite"
if command -v sqlite-utils >/dev/null; then
  rm -f "$WORK/peer/sqlite-utils.sqlite"
  measure "sqlite-utils insert --nl (load peer)" peer:load "$TC_REC" "$TC_BYTES" \
    bash -c 'sqlite-utils insert "$0" tickets "$1" --nl --pk id && exec sqlite-utils insert "$0" comments "$2" --nl --pk id' \
    "$WORK/peer/sqlite-utils.sqlite" "$MT" "$MC"
  rm -f "$WORK/peer/sqlite-utils.sqlite"
fi

# ---- the table ----------------------------------------------------------------------------------------
DATE=$(date -u +%Y-%m-%d)
CPU=$(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //')
MEM=$(awk '/MemTotal/ {printf "%.1f GiB", $2 / 1048576}' /proc/meminfo)
TABLE=$(awk -F'\t' -v n="$N" -v date="$(date -u '+%Y-%m-%d %H:%M UTC')" -v cpu="$CPU" -v cores="$(nproc)" -v mem="$MEM" '
function mbs(i) { return secs[i] > 0 ? bytes[i] / 1e6 / secs[i] : 0 }
function label(j,  l) { l = name[j]; sub(/ \([a-z]+ peer\)$/, "", l); return l }
function ratio(a, b) { return (b > 0) ? sprintf("%.2fx", a / b) : "-" }
{
  i = NR; name[i] = $1; group[i] = $2; rec[i] = $3; bytes[i] = $4; secs[i] = $5 / 1e9; rss[i] = $6 / 1024
  idx[$1] = i
  if ($2 ~ /^peer:/) { st = substr($2, 6); if (!(st in peer)) peer[st] = i; else peer2[st] = i }
  if ($1 ~ /^zstd -3/) zc = i
  if ($1 ~ /^zstd -d/) zd = i
}
END {
  # zstd round trip on the tickets member: one compress plus one decompress of the same bytes
  rt = (secs[zc] + secs[zd] > 0) ? bytes[zc] / 1e6 / (secs[zc] + secs[zd]) : 0
  printf "Ferry benchmark, %d tickets, %s; %s, %s cores, %s RAM\n\n", n, date, cpu, cores, mem
  printf "| job | records | input MB | seconds | records/s | MB/s | peak RSS MB | vs peer | vs zstd round trip |\n"
  printf "|---|---:|---:|---:|---:|---:|---:|---:|---:|\n"
  total = 0; maxrss = 0
  for (i = 1; i <= NR; i++) {
    vp = "-"; vz = "-"
    if (group[i] == "stage") {
      st = name[i]; sub(/^ferry-/, "", st); sub(/ .*/, "", st)
      if (st in peer) vp = ratio(mbs(i), mbs(peer[st])) " vs " label(peer[st])
      if (st in peer2) vp = vp "; " ratio(mbs(i), mbs(peer2[st])) " vs " label(peer2[st])
      vz = ratio(mbs(i), rt)
      total += secs[i]; if (rss[i] > maxrss) maxrss = rss[i]
    }
    printf "| %s | %d | %.1f | %.2f | %.0f | %.1f | %.1f | %s | %s |\n", name[i], rec[i], bytes[i] / 1e6, secs[i], \
      (secs[i] > 0 ? rec[i] / secs[i] : 0), mbs(i), rss[i], vp, vz
    if (name[i] == "ferry-verify")
      printf "| **all five stages** | %d | %.1f | %.2f | %.0f | %.1f | %.1f | - | - |\n", rec[1], bytes[1] / 1e6, total, \
        rec[1] / total, bytes[1] / 1e6 / total, maxrss
    if (i == zd)
      printf "| zstd round trip (-3 then -d) | %d | %.1f | %.2f | %.0f | %.1f | %.1f | - | 1.00x |\n", rec[zc], bytes[zc] / 1e6, \
        secs[zc] + secs[zd], rec[zc] / (secs[zc] + secs[zd]), rt, (rss[zc] > rss[zd] ? rss[zc] : rss[zd])
  }
  printf "\nRatios are throughput ratios (MB/s of the stage / MB/s of the other job): above 1.00x Ferry is faster.\n"
  printf "Input MB: NDJSON record bytes the job reads, uncompressed (a stage reads them from its zstd-compressed parts;\n"
  printf "the peers read plain files); the bsdtar rows count every byte in the part, attachment blobs included.\n"
  printf "Records: for the stages, the records in their input bundle (extract: the records it read from the export).\n"
  printf "Warm page cache; each job runs alone, one after the other; wall time from date(1), peak RSS from GNU time %%M.\n"
}' "$ROWS")

echo "$TABLE"
if [ $WRITE = 1 ]; then
  mkdir -p "$RESULTS"
  out=$RESULTS/$DATE-$N.md
  {
    echo "# Ferry benchmark: $N tickets, $DATE"
    echo
    echo "Command: \`make bench N=$N\` (bench/run.sh $N); data: \`python3 bench/generate.py --tickets $N --blobs\`."
    echo "Machine: $CPU, $(nproc) cores, $MEM RAM; Ferry $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo '?')$(git -C "$ROOT" diff --quiet HEAD -- Sources 2>/dev/null || echo ' (with uncommitted changes in Sources/)')."
    echo
    echo "$TABLE"
  } >"$out.tmp"
  mv "$out.tmp" "$out"
  say "wrote $out"
fi
