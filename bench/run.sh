#!/usr/bin/env bash
# tfpub benchmarks (issues 8 and 20): one command, figures and ratios measured side by side.
#
#   bench/run.sh                 # full run (< 10 min on 2 cores once built)
#   PROFILE=release bench/run.sh # optimised build of tfpub and the registry (the recorded figures)
#   QUICK=1 bench/run.sh         # small sizes everywhere, ~1-2 min: a smoke run of every section
#   TFPUB_BIN=/path/to/tfpub bench/run.sh   # measure another tfpub binary
#   OUT_DIR=DIR                  # where the CSV files and SVG charts go (default bench/results)
#
# Needs: cargo, bash, python3, zip, sha256sum, gpg, curl, jq, git, bc, /usr/bin/time.
# Everything runs against the embedded registry (examples/bench_registry.rs) on loopback
# with LATENCY_MS of injected latency per request; a second instance also ingests module
# versions asynchronously (INGEST_MS) and enforces HCP Terraform's 30 requests a second
# per token (429 past it), like HCP Terraform. All are stopped on exit.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
PLATFORMS=12
if [ "${QUICK:-0}" = 1 ]; then
  SIZE_MIB=${SIZE_MIB:-2} BIG_MIB=${BIG_MIB:-4} MODULE_FILES=${MODULE_FILES:-200} MODULE_MIB=${MODULE_MIB:-5}
  TAGS=${TAGS:-30} PUBLISHED=${PUBLISHED:-25} SYNC_MISSING=${SYNC_MISSING:-10} INGEST_MS=${INGEST_MS:-500}
  PUBLISHERS=${PUBLISHERS:-6} CURVE_PLATFORMS=${CURVE_PLATFORMS:-"1 6 12"} CURVE_SIZES=${CURVE_SIZES:-"2 8"}
  CURVE_TAGS=${CURVE_TAGS:-"1 5 10"} CURVE_FILES=${CURVE_FILES:-"100 1000"}
fi
SIZE_MIB=${SIZE_MIB:-20}
BIG_MIB=${BIG_MIB:-100}
MODULE_FILES=${MODULE_FILES:-2000}
MODULE_MIB=${MODULE_MIB:-50}
TAGS=${TAGS:-300}
PUBLISHED=${PUBLISHED:-290}
LATENCY_MS=${LATENCY_MS:-50}
# issue 20: sync against asynchronous ingestion, many publishers, scaling curves
SYNC_MISSING=${SYNC_MISSING:-100}
INGEST_MS=${INGEST_MS:-2000}
SYNC_CONCURRENCY=${SYNC_CONCURRENCY:-16}
PUBLISHERS=${PUBLISHERS:-20}
CURVE_PLATFORMS=${CURVE_PLATFORMS:-"1 6 12 24 48"}
CURVE_SIZES=${CURVE_SIZES:-"10 100 1000"}
CURVE_TAGS=${CURVE_TAGS:-"1 25 50 100 200"}
CURVE_FILES=${CURVE_FILES:-"100 1000 10000 100000"}
OUT_DIR=${OUT_DIR:-$ROOT/bench/results}
export CARGO_BUILD_JOBS=${CARGO_BUILD_JOBS:-2}

PROFILE=${PROFILE:-dev}
case $PROFILE in
  dev) OUT=debug ;;
  release) OUT=release ;;
  *) echo "bench: PROFILE must be dev or release" >&2; exit 2 ;;
esac
echo "bench: building tfpub and the registry helper ($PROFILE profile)" >&2
cargo build --quiet --profile "$PROFILE" --bin tfpub --example bench_registry --example bench_plot
TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
BIN=$(realpath "${TFPUB_BIN:-$TARGET_DIR/$OUT/tfpub}")
HELPER=$TARGET_DIR/$OUT/examples/bench_registry
PLOT=$TARGET_DIR/$OUT/examples/bench_plot
mkdir -p "$OUT_DIR"
BENCH_T0=$(date +%s.%N)

WORK=$(mktemp -d "${TMPDIR:-/tmp}/tfpub-bench.XXXXXX")
REG_PID= ING_PID= C1REG_PID= C1_PID=
cleanup() {
  exec 3>&- 4>&- 5>&- 2>/dev/null || true
  if [ -n "$C1_PID" ]; then kill "$C1_PID" 2>/dev/null || true; wait "$C1_PID" 2>/dev/null || true; fi
  for p in $REG_PID $ING_PID $C1REG_PID; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT INT TERM
R=$WORK/results
: >"$R"
rec() { echo "$1=$2" >>"$R"; }
now() { date +%s.%N; }
since() { echo "$(date +%s.%N) - $1" | bc; }

# --- the registry -------------------------------------------------------------------
mkfifo "$WORK/ctl"
"$HELPER" --data "$WORK/registry" --latency-ms "$LATENCY_MS" <"$WORK/ctl" >"$WORK/reg.out" 2>"$WORK/reg.err" &
REG_PID=$!
exec 3>"$WORK/ctl"
for _ in $(seq 100); do [ -s "$WORK/reg.out" ] && break; sleep 0.1; done
URL=$(head -1 "$WORK/reg.out"); URL=${URL%/}
[ -n "$URL" ] || { echo "bench: registry did not start: $(cat "$WORK/reg.err")" >&2; exit 1; }
ctl() { echo "$1" >&3; }
stats() { # prints the stats line the helper answers
  local n; n=$(wc -l <"$WORK/reg.out"); ctl stats
  for _ in $(seq 100); do [ "$(wc -l <"$WORK/reg.out")" -gt "$n" ] && break; sleep 0.05; done
  tail -1 "$WORK/reg.out"
}

# The second registry: same latency, module versions stay reg_ingressing INGEST_MS, and
# like HCP Terraform it answers 429 past 30 API requests per token in any second.
mkfifo "$WORK/ictl"
"$HELPER" --data "$WORK/iregistry" --latency-ms "$LATENCY_MS" --ingest-delay-ms "$INGEST_MS" --rate-limit 30 \
  <"$WORK/ictl" >"$WORK/ireg.out" 2>"$WORK/ireg.err" &
ING_PID=$!
exec 4>"$WORK/ictl"
for _ in $(seq 100); do [ -s "$WORK/ireg.out" ] && break; sleep 0.1; done
IURL=$(head -1 "$WORK/ireg.out"); IURL=${IURL%/}
[ -n "$IURL" ] || { echo "bench: ingesting registry did not start: $(cat "$WORK/ireg.err")" >&2; exit 1; }
# A third instance, the same, serves only the background --concurrency 1 sync, so the
# request rate measured on the second one is that of one client.
mkfifo "$WORK/c1ctl"
"$HELPER" --data "$WORK/c1registry" --latency-ms "$LATENCY_MS" --ingest-delay-ms "$INGEST_MS" --rate-limit 30 \
  <"$WORK/c1ctl" >"$WORK/c1reg.out" 2>"$WORK/c1reg.err" &
C1REG_PID=$!
exec 5>"$WORK/c1ctl"
for _ in $(seq 100); do [ -s "$WORK/c1reg.out" ] && break; sleep 0.1; done
C1URL=$(head -1 "$WORK/c1reg.out"); C1URL=${C1URL%/}
[ -n "$C1URL" ] || { echo "bench: third registry did not start: $(cat "$WORK/c1reg.err")" >&2; exit 1; }
istats() {
  local n; n=$(wc -l <"$WORK/ireg.out"); echo stats >&4
  for _ in $(seq 100); do [ "$(wc -l <"$WORK/ireg.out")" -gt "$n" ] && break; sleep 0.05; done
  tail -1 "$WORK/ireg.out"
}

tfpub() {
  env -u TFE_TOKEN -u TFE_HOSTNAME -u TFE_ORGANIZATION HOME="$WORK/home" NO_COLOR=1 \
    TFE_HOSTNAME="$URL" TFE_TOKEN=bench-token TFPUB_GPG_PASSPHRASE='correct horse' "$BIN" "$@"
}
mkdir -p "$WORK/home"
itfpub() { # tfpub against the ingesting registry
  env -u TFE_TOKEN -u TFE_HOSTNAME -u TFE_ORGANIZATION HOME="$WORK/home" NO_COLOR=1 \
    TFE_HOSTNAME="$IURL" TFE_TOKEN=bench-token "$BIN" "$@"
}

# --- 6a. sync with asynchronous ingestion, --concurrency 1 (in the background) ----------------
# A repository with enough tags for the headline and the curve. The --concurrency 1 sync
# spends its time waiting on ingestion and round trips (a few % of one core), so it runs
# in the background while the CPU-bound sections below are measured; its figure is read at
# the end, next to the same sync with --concurrency $SYNC_CONCURRENCY.
MAXTAGS=$SYNC_MISSING
for k in $CURVE_TAGS; do [ "$k" -gt "$MAXTAGS" ] && MAXTAGS=$k; done
IREPO=$WORK/irepo
mkdir -p "$IREPO"
cp testdata/modules/terraform-null-greeting/*.tf "$IREPO/"
git -C "$IREPO" init -q
git -C "$IREPO" config user.email bench@example.test; git -C "$IREPO" config user.name bench
git -C "$IREPO" add -A; git -C "$IREPO" commit -qm init
for i in $(seq 0 $((MAXTAGS - 1))); do
  echo "# release $i" >"$IREPO/CHANGELOG.tf"
  git -C "$IREPO" add -A; git -C "$IREPO" commit -qm "release $i"; git -C "$IREPO" tag "v1.0.$i"
done
echo "bench: 6. sync of $SYNC_MISSING missing tags, ${INGEST_MS} ms ingestion: --concurrency 1 starts in the background" >&2
(
  t=$(date +%s.%N)
  env -u TFE_TOKEN -u TFE_HOSTNAME -u TFE_ORGANIZATION HOME="$WORK/home" NO_COLOR=1 \
    TFE_HOSTNAME="$C1URL" TFE_TOKEN=bench-token "$BIN" --organization bench-c1 module sync "$IREPO" --name greeting --provider null \
    --max "$SYNC_MISSING" --concurrency 1 >"$WORK/c1.out" 2>&1 || { echo fail >"$WORK/c1.time"; exit 1; }
  echo "$(date +%s.%N) - $t" | bc >"$WORK/c1.time"
) &
C1_PID=$!

# --- 1. provider publish ---------------------------------------------------------------
echo "bench: 1. provider publish, $PLATFORMS x $SIZE_MIB MiB, ${LATENCY_MS} ms latency" >&2
OSES=(linux linux linux linux darwin darwin windows windows freebsd freebsd openbsd solaris)
ARCHS=(amd64 arm64 386 arm amd64 arm64 amd64 386 amd64 arm amd64 amd64)
mkbins() { # DIR MIB
  for i in $(seq 0 $((PLATFORMS - 1))); do
    mkdir -p "$1/${OSES[$i]}_${ARCHS[$i]}"
    head -c $(($2 * 1048576)) /dev/urandom >"$1/${OSES[$i]}_${ARCHS[$i]}/terraform-provider-$NAME"
  done
}
binargs() { for d in "$1"/*/; do printf -- '--binary\n%s=%s\n' "$(basename "$d")" "$d/terraform-provider-$NAME"; done; }
NAME=bench$(date +%s)
mkbins "$WORK/bins" "$SIZE_MIB"

t=$(now)
bench/baseline-provider.sh "$URL" bench-base bench-token "$NAME" 1.0.0 "$WORK/bins" "$WORK/base" >"$WORK/base.out"
rec base_publish "$(since "$t")"
rec base_package "$(awk '$1=="packaged"{print $2}' "$WORK/base.out")"
# largest upload alone: curl's time for the biggest PUT, minus the injected latency
rec largest_upload "$(awk -v l="$LATENCY_MS" '$1=="upload"{t=$4-l/1000; if(t>m)m=t} END{print m}' "$WORK/base.out")"

# tfpub provider publish under /usr/bin/time -v: TAG VERSION BINARY-ARGS...
# (output in $WORK/pub-TAG.out, time/RSS report in $WORK/time-TAG)
publish_timed() {
  local tag=$1 version=$2; shift 2
  /usr/bin/time -v -o "$WORK/time-$tag" env HOME="$WORK/home" NO_COLOR=1 TFE_HOSTNAME="$URL" \
    TFE_TOKEN=bench-token TFPUB_GPG_PASSPHRASE='correct horse' "$BIN" --organization bench-tfpub \
    provider publish --name "$NAME" --version "$version" --protocols 6.0 \
    --gpg-key testdata/keys/rsa.sec.asc "$@" >"$WORK/pub-$tag.out" 2>&1 \
    || { cat "$WORK/pub-$tag.out" >&2; exit 1; }
}
peak_rss_kib() { awk -F': ' '/Maximum resident set size/{print $2}' "$WORK/time-$1"; }

mapfile -t BARGS < <(binargs "$WORK/bins")
ctl reset
"$BIN" --version >/dev/null # warm the binary's pages
t=$(now)
publish_timed 20 1.0.0 "${BARGS[@]}"
rec tfpub_publish "$(since "$t")"
rec tfpub_publish_requests "$(stats)"
rec rss20_kib "$(peak_rss_kib 20)"

# --- 3. hashing (the zips the baseline built) and packaging ------------------------------
echo "bench: 3. hashing and provider packaging" >&2
ZIPS=("$WORK"/base/dist/*.zip)
cat "${ZIPS[@]}" >/dev/null # page cache
best_of3() { local b=999999 t; for _ in 1 2 3; do t=$(now); "$@" >/dev/null; t=$(since "$t"); b=$(echo "if ($t < $b) $t else $b" | bc); done; echo "$b"; }
rec hash_bytes "$(cat "${ZIPS[@]}" | wc -c)"
rec hash_sha256sum "$(best_of3 sha256sum "${ZIPS[@]}")"
rec hash_tfpub "$(best_of3 "$HELPER" --sha256 "${ZIPS[@]}")"
diff <(sha256sum "${ZIPS[@]}") <("$HELPER" --sha256 "${ZIPS[@]}") >/dev/null || { echo "bench: hashes differ" >&2; exit 1; }
t=$(now)
tfpub provider package --name "$NAME" --version 1.0.0 --protocols 6.0 --gpg-key testdata/keys/rsa.sec.asc \
  "${BARGS[@]}" -o "$WORK/pkg" >/dev/null 2>"$WORK/pkg.err" || { cat "$WORK/pkg.err" >&2; exit 1; }
rec tfpub_package "$(since "$t")"

# --- 1c. packaging binaries that compress (real executables, not random bytes) ----------
echo "bench: 1c. packaging $PLATFORMS compressible binaries of $SIZE_MIB MiB" >&2
# Slices of this machine's executables: machine code and symbols, compressible like a Go
# provider binary. The random bytes above are stored (tfpub detects they do not
# compress); these take the deflate path on both sides.
find /usr/bin /usr/sbin /usr/lib -maxdepth 2 -type f -size +64k 2>/dev/null | sort | head -2000 \
  | xargs cat 2>/dev/null | head -c $(((SIZE_MIB + PLATFORMS) * 1048576)) >"$WORK/pool" || true
[ "$(stat -c %s "$WORK/pool")" -ge $(((SIZE_MIB + PLATFORMS) * 1048576)) ] \
  || { echo "bench: not enough executables under /usr to build compressible binaries" >&2; exit 1; }
for i in $(seq 0 $((PLATFORMS - 1))); do
  mkdir -p "$WORK/cbins/${OSES[$i]}_${ARCHS[$i]}"
  dd if="$WORK/pool" of="$WORK/cbins/${OSES[$i]}_${ARCHS[$i]}/terraform-provider-$NAME" \
    bs=1048576 skip="$i" count="$SIZE_MIB" status=none
done
rm -f "$WORK/pool"
mapfile -t CARGS < <(binargs "$WORK/cbins")
t=$(now)
(cd "$WORK/cbins" && for d in */; do zip -q -6 "$WORK/c-${d%/}.zip" "$d/terraform-provider-$NAME"; done \
  && sha256sum "$WORK"/c-*.zip >"$WORK/c-SUMS")
rec czip_base "$(since "$t")"
rec czip_base_size "$(cat "$WORK"/c-*.zip | wc -c)"
t=$(now)
tfpub provider package --name "$NAME" --version 1.0.0 --protocols 6.0 --gpg-key testdata/keys/rsa.sec.asc \
  "${CARGS[@]}" -o "$WORK/cpkg" >/dev/null 2>"$WORK/cpkg.err" || { cat "$WORK/cpkg.err" >&2; exit 1; }
rec czip_tfpub "$(since "$t")"
rec czip_tfpub_size "$(cat "$WORK"/cpkg/*.zip | wc -c)"
# 1d. the whole publish of those compressible binaries: baseline vs tfpub, side by side
echo "bench: 1d. publish $PLATFORMS compressible binaries of $SIZE_MIB MiB: baseline, then tfpub" >&2
t=$(now)
bench/baseline-provider.sh "$URL" bench-cbase bench-token "$NAME" 1.0.0 "$WORK/cbins" "$WORK/cbase" >"$WORK/cbase.out"
rec cbase_publish "$(since "$t")"
rm -rf "$WORK/cbase"
t=$(now)
tfpub --organization bench-ctfpub provider publish --name "$NAME" --version 1.0.0 --protocols 6.0 \
  --gpg-key testdata/keys/rsa.sec.asc "${CARGS[@]}" >"$WORK/cpub.out" 2>&1 || { cat "$WORK/cpub.out" >&2; exit 1; }
rec ctfpub_publish "$(since "$t")"
rm -rf "$WORK/cbins" "$WORK"/c-*.zip "$WORK/c-SUMS" "$WORK/cpkg"

# --- 4. memory with big binaries ---------------------------------------------------------
echo "bench: 4. peak RSS, $PLATFORMS x $BIG_MIB MiB" >&2
rm -rf "$WORK/bins" "$WORK/base" "$WORK/pkg"

mkbins "$WORK/big" "$BIG_MIB"
mapfile -t BIGARGS < <(binargs "$WORK/big")
t=$(now)
publish_timed 100 2.0.0 "${BIGARGS[@]}"
rec tfpub_publish_big "$(since "$t")"
rec rss100_kib "$(peak_rss_kib 100)"
rm -rf "$WORK/big"

# --- 2. module packaging ------------------------------------------------------------------
echo "bench: 2. module packaging, $MODULE_FILES files, $MODULE_MIB MiB" >&2
python3 - "$WORK/module" "$MODULE_FILES" "$MODULE_MIB" <<'PY'
import os, random, sys
root, n, mib = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
per = mib * 1048576 // n
rng = random.Random(8)
words = "resource variable output module locals provider data count for_each depends_on tags name value subnet vpc cidr".split()
os.makedirs(root, exist_ok=True)
open(os.path.join(root, "main.tf"), "w").write('variable "name" {\n  type = string\n}\n')
for i in range(n - 1):
    d = os.path.join(root, f"dir{i % 40:02d}", f"sub{i % 7}")
    os.makedirs(d, exist_ok=True)
    if i % 2 == 0:  # compressible text
        lines, size = [], 0
        while size < per:
            l = f'{rng.choice(words)} "{rng.choice(words)}_{rng.randrange(1000)}" {{ {rng.choice(words)} = "{rng.choice(words)}" }}\n'
            lines.append(l); size += len(l)
        open(os.path.join(d, f"f{i}.tf"), "w").write("".join(lines))
    else:  # incompressible data
        open(os.path.join(d, f"f{i}.bin"), "wb").write(os.urandom(per))
PY
cat $(find "$WORK/module" -type f) >/dev/null
rec module_bytes "$(du -sb "$WORK/module" | cut -f1)"
t=$(now)
tar -C "$WORK/module" -I 'gzip -6' -cf "$WORK/module-tar.tar.gz" .
rec tar_time "$(since "$t")"
rec tar_size "$(stat -c %s "$WORK/module-tar.tar.gz")"
t=$(now)
tfpub module package "$WORK/module" -o "$WORK/module-tfpub.tar.gz" >/dev/null 2>"$WORK/modpkg.err" \
  || { cat "$WORK/modpkg.err" >&2; exit 1; }
rec tfpub_modpkg_time "$(since "$t")"
rec tfpub_modpkg_size "$(stat -c %s "$WORK/module-tfpub.tar.gz")"
rec tfpub_modpkg_files "$(tar -tzf "$WORK/module-tfpub.tar.gz" | grep -vc '/$')"
rm -rf "$WORK/module" "$WORK"/module-*.tar.gz

# --- 5. sync ---------------------------------------------------------------------------------
echo "bench: 5. sync, $TAGS tags, $PUBLISHED already published" >&2
REPO=$WORK/repo
mkdir -p "$REPO"
cp testdata/modules/terraform-null-greeting/*.tf "$REPO/"
git -C "$REPO" init -q
git -C "$REPO" config user.email bench@example.test; git -C "$REPO" config user.name bench
git -C "$REPO" add -A; git -C "$REPO" commit -qm init
for i in $(seq 0 $((TAGS - 1))); do
  echo "# release $i" >"$REPO/CHANGELOG.tf"
  git -C "$REPO" add -A; git -C "$REPO" commit -qm "release $i"; git -C "$REPO" tag "v1.0.$i"
done
ctl "latency 0"
tfpub --organization bench-sync module sync "$REPO" --name greeting --provider null --max "$PUBLISHED" \
  >"$WORK/sync0.out" 2>&1 || { tail -20 "$WORK/sync0.out" >&2; exit 1; }
ctl "latency $LATENCY_MS"
ctl reset
t=$(now)
tfpub --organization bench-sync module sync "$REPO" --name greeting --provider null >"$WORK/sync1.out" 2>&1 \
  || { tail -20 "$WORK/sync1.out" >&2; exit 1; }
rec sync_time "$(since "$t")"
rec sync_requests "$(stats)"
ctl reset
t=$(now)
tfpub --organization bench-sync module sync "$REPO" --name greeting --provider null >"$WORK/sync2.out" 2>&1 \
  || { tail -20 "$WORK/sync2.out" >&2; exit 1; }
rec sync_noop_time "$(since "$t")"
rec sync_noop_requests "$(stats)"

# --- 6b. sync with asynchronous ingestion, --concurrency N --------------------------------------
echo "bench: 6. sync of $SYNC_MISSING missing tags, ${INGEST_MS} ms ingestion, --concurrency $SYNC_CONCURRENCY" >&2
echo reset >&4
t=$(now)
itfpub --organization bench-cn module sync "$IREPO" --name greeting --provider null \
  --max "$SYNC_MISSING" --concurrency "$SYNC_CONCURRENCY" >"$WORK/cn.out" 2>&1 || { tail -20 "$WORK/cn.out" >&2; exit 1; }
rec syncn_time "$(since "$t")"
rec syncn_stats "$(istats)"

# --- 7. many publishers against one registry ------------------------------------------------------
echo "bench: 7. $PUBLISHERS concurrent publishers (modules and providers) against one registry" >&2
PUBDIR=$WORK/publishers
NPROV=$(( PUBLISHERS / 5 > 0 ? PUBLISHERS / 5 : 1 ))
make_publishers() { # DIR DIV: the publishers' inputs, payloads divided by DIV
  mkdir -p "$1"
  python3 - "$1" "$PUBLISHERS" "$NPROV" "$2" <<'PY'
import os, random, sys
root, n, nprov, div = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
rng = random.Random(20)
for i in range(n - nprov):
    d = os.path.join(root, f"mod{i}")
    os.makedirs(d, exist_ok=True)
    open(os.path.join(d, "main.tf"), "w").write(f'output "i" {{\n  value = {i}\n}}\n')
    # some large: every fourth module carries 8 MiB of data, the others 256 KiB
    size = 8 * 1048576 if i % 4 == 0 else 262144
    open(os.path.join(d, "data.bin"), "wb").write(rng.randbytes(size // div))
PY
  for j in $(seq 0 $((NPROV - 1))); do
    for p in linux_amd64 linux_arm64 darwin_amd64 darwin_arm64 windows_amd64 freebsd_amd64; do
      mkdir -p "$1/prov$j/$p"
      head -c $((SIZE_MIB * 1048576 / $2)) /dev/urandom >"$1/prov$j/$p/terraform-provider-many$j"
    done
  done
}
publisher() { # DIR ORG-PREFIX I: publisher I in its own organization; exit code to a file
  local dir=$1 org=$2 i=$3 rc=0
  if [ "$i" -lt $((PUBLISHERS - NPROV)) ]; then
    tfpub --organization "$org-$i" --json module publish "$dir/mod$i" --name "m$i" --provider null \
      --version 1.0.0 --allow-dirty >"$dir/out-$i.json" 2>"$dir/err-$i" || rc=$?
  else
    local j=$((i - PUBLISHERS + NPROV)); local args=()
    for d in "$dir/prov$j"/*/; do args+=(--binary "$(basename "$d")=$d/terraform-provider-many$j"); done
    tfpub --organization "$org-$i" --json provider publish --name "many$j" --version 1.0.0 \
      --protocols 6.0 --gpg-key testdata/keys/rsa.sec.asc "${args[@]}" >"$dir/out-$i.json" 2>"$dir/err-$i" || rc=$?
  fi
  echo "$rc" >"$dir/rc-$i"
}
all_publishers() { # DIR ORG-PREFIX: every publisher at once, until all are done
  local pids=() p
  for i in $(seq 0 $((PUBLISHERS - 1))); do publisher "$1" "$2" "$i" & pids+=($!); done
  for p in "${pids[@]}"; do wait "$p" || true; done
}
# 7a. the same publishers with payloads 64 and 8 times smaller: what the registry's memory
# owes to the number of connections, so that 7b (full payloads) shows what it owes to the
# bytes in flight. Each round in its own organizations; the curve is registry_memory.svg.
echo "mib_uploaded,rss_growth_mib" >"$OUT_DIR/registry_memory.csv"
for div in 64 8; do
  make_publishers "$WORK/small" "$div"
  RSS_NOW_BEFORE=$(awk '/VmRSS/{print $2}' /proc/$REG_PID/status)
  echo 5 >"/proc/$REG_PID/clear_refs" # reset the registry's peak RSS (VmHWM) to its current RSS
  all_publishers "$WORK/small" "bench-div$div"
  peak=$(awk '/VmHWM/{print $2}' /proc/$REG_PID/status)
  bytes=$(du -sb "$WORK/small" | cut -f1)
  echo "$(echo "scale=1; $bytes / 1048576" | bc),$(echo "scale=1; ($peak - $RSS_NOW_BEFORE) / 1024" | bc)" >>"$OUT_DIR/registry_memory.csv"
  if [ "$div" = 64 ]; then
    rec small_bytes "$bytes"
    rec small_rss_before_kib "$RSS_NOW_BEFORE"
    rec small_rss_peak_kib "$peak"
    rec small_failed "$(cat "$WORK/small"/rc-* | grep -vc '^0$' || true)"
  fi
  rm -rf "$WORK/small"
done
# 7b. the full payloads
make_publishers "$PUBDIR" 1
PUB_BYTES=$(du -sb "$PUBDIR" | cut -f1)
RSS_NOW_BEFORE=$(awk '/VmRSS/{print $2}' /proc/$REG_PID/status)
echo 5 >"/proc/$REG_PID/clear_refs"
ctl reset
t=$(now)
all_publishers "$PUBDIR" bench-many
rec many_time "$(since "$t")"
rec many_stats "$(stats)"
rec many_bytes "$PUB_BYTES"
rec many_rss_before_kib "$RSS_NOW_BEFORE"
rec many_rss_peak_kib "$(awk '/VmHWM/{print $2}' /proc/$REG_PID/status)"
echo "$(echo "scale=1; $PUB_BYTES / 1048576" | bc),$(echo "scale=1; ($(awk '/VmHWM/{print $2}' /proc/$REG_PID/status) - $RSS_NOW_BEFORE) / 1024" | bc)" \
  >>"$OUT_DIR/registry_memory.csv"
rec many_failed "$(cat "$PUBDIR"/rc-* | grep -vc '^0$' || true)"
# nothing lost: every publisher again, each must find its release complete and change nothing
all_publishers "$PUBDIR" bench-many
again_ok=0
for i in $(seq 0 $((PUBLISHERS - 1))); do
  [ "$(cat "$PUBDIR/rc-$i")" = 0 ] && [ "$(jq -r .published "$PUBDIR/out-$i.json")" = false ] && again_ok=$((again_ok + 1))
done
rec many_again_unchanged "$again_ok"
rm -rf "$PUBDIR"

# --- 8. scaling curves -----------------------------------------------------------------------------
echo "bench: 8a. provider publish vs platforms: $CURVE_PLATFORMS (x $SIZE_MIB MiB)" >&2
ALLP=()
for o in linux darwin windows freebsd openbsd netbsd solaris illumos; do
  for a in amd64 arm64 386 arm ppc64le riscv64; do ALLP+=("${o}_$a"); done
done
echo "platforms,seconds,peak_rss_mib" >"$OUT_DIR/provider_platforms.csv"
n=0
for k in $CURVE_PLATFORMS; do
  n=$((n + 1)); rm -rf "$WORK/cp"
  for i in $(seq 0 $((k - 1))); do
    mkdir -p "$WORK/cp/${ALLP[$i]}"
    head -c $((SIZE_MIB * 1048576)) /dev/urandom >"$WORK/cp/${ALLP[$i]}/terraform-provider-$NAME"
  done
  mapfile -t KARGS < <(binargs "$WORK/cp")
  t=$(now)
  publish_timed "cp$k" "5.$n.0" "${KARGS[@]}"
  echo "$k,$(since "$t"),$(echo "scale=1; $(peak_rss_kib "cp$k") / 1024" | bc)" >>"$OUT_DIR/provider_platforms.csv"
done
rm -rf "$WORK/cp"
echo "bench: 8b. provider publish vs binary size: $CURVE_SIZES MiB (2 platforms)" >&2
echo "mib,seconds,peak_rss_mib" >"$OUT_DIR/provider_sizes.csv"
n=0
for m in $CURVE_SIZES; do
  n=$((n + 1)); rm -rf "$WORK/cs"
  for p in linux_amd64 darwin_arm64; do
    mkdir -p "$WORK/cs/$p"; head -c $((m * 1048576)) /dev/urandom >"$WORK/cs/$p/terraform-provider-$NAME"
  done
  mapfile -t KARGS < <(binargs "$WORK/cs")
  t=$(now)
  publish_timed "cs$m" "6.$n.0" "${KARGS[@]}"
  echo "$m,$(since "$t"),$(echo "scale=1; $(peak_rss_kib "cs$m") / 1024" | bc)" >>"$OUT_DIR/provider_sizes.csv"
done
rm -rf "$WORK/cs"
echo "bench: 8c. sync vs missing tags: $CURVE_TAGS (${INGEST_MS} ms ingestion, --concurrency $SYNC_CONCURRENCY)" >&2
echo "missing,seconds" >"$OUT_DIR/sync_missing.csv"
for k in $CURVE_TAGS; do
  if [ "$k" = "$SYNC_MISSING" ]; then
    echo "$k,$(awk -F= '$1=="syncn_time"{print $2}' "$R")" >>"$OUT_DIR/sync_missing.csv"; continue
  fi
  t=$(now)
  itfpub --organization "bench-curve-$k" module sync "$IREPO" --name greeting --provider null \
    --max "$k" --concurrency "$SYNC_CONCURRENCY" >"$WORK/curve-$k.out" 2>&1 || { tail -20 "$WORK/curve-$k.out" >&2; exit 1; }
  echo "$k,$(since "$t")" >>"$OUT_DIR/sync_missing.csv"
done
echo "bench: 8d. module packaging vs file count: $CURVE_FILES" >&2
echo "files,tfpub_seconds,tar_seconds,tfpub_mib,tar_mib" >"$OUT_DIR/module_files.csv"
for k in $CURVE_FILES; do
  rm -rf "$WORK/mf"
  python3 - "$WORK/mf" "$k" <<'PY'
import os, random, sys
root, n = sys.argv[1], int(sys.argv[2])
rng = random.Random(n)
os.makedirs(root, exist_ok=True)
open(os.path.join(root, "main.tf"), "w").write('variable "name" {\n  type = string\n}\n')
n -= 1
words = "resource variable output module locals provider data count for_each tags name value subnet vpc cidr".split()
for i in range(n):
    d = os.path.join(root, f"d{i % 100:02d}", f"s{(i // 100) % 10}")
    os.makedirs(d, exist_ok=True)
    body = "".join(f'{rng.choice(words)} "{rng.choice(words)}_{rng.randrange(1000)}" {{ {rng.choice(words)} = "{rng.choice(words)}" }}\n' for _ in range(12))
    open(os.path.join(d, f"f{i}.tf"), "w").write(body)
PY
  t=$(now)
  tar -C "$WORK/mf" -I 'gzip -6' -cf "$WORK/mf.tar.gz" .
  tt=$(since "$t")
  t=$(now)
  tfpub module package "$WORK/mf" -o "$WORK/mf-tfpub.tar.gz" >/dev/null 2>"$WORK/mf.err" || { cat "$WORK/mf.err" >&2; exit 1; }
  ft=$(since "$t")
  echo "$k,$ft,$tt,$(echo "scale=3; $(stat -c %s "$WORK/mf-tfpub.tar.gz") / 1048576" | bc),$(echo "scale=3; $(stat -c %s "$WORK/mf.tar.gz") / 1048576" | bc)" >>"$OUT_DIR/module_files.csv"
done
rm -rf "$WORK/mf" "$WORK"/mf*.tar.gz

# --- 6a. collect the background --concurrency 1 sync ----------------------------------------------
echo "bench: 6. waiting for the --concurrency 1 sync" >&2
wait "$C1_PID" || { tail -20 "$WORK/c1.out" >&2; exit 1; }
C1_PID=
rec sync1_time "$(cat "$WORK/c1.time")"
rec ingest_all_stats "$(istats)"
rec bench_total "$(since "$BENCH_T0")"

# --- charts -------------------------------------------------------------------------------------------
"$PLOT" --csv "$OUT_DIR/provider_platforms.csv" --x platforms --y seconds --title "provider publish time vs platforms ($SIZE_MIB MiB each)" \
  --xlabel platforms --ylabel seconds --out "$OUT_DIR/provider_platforms_time.svg"
"$PLOT" --csv "$OUT_DIR/provider_platforms.csv" --x platforms --y peak_rss_mib --title "provider publish peak RSS vs platforms" \
  --xlabel platforms --ylabel "MiB" --out "$OUT_DIR/provider_platforms_rss.svg"
"$PLOT" --csv "$OUT_DIR/provider_sizes.csv" --x mib --y seconds,peak_rss_mib --title "provider publish vs binary size (2 platforms)" \
  --xlabel "MiB per binary" --ylabel "seconds / MiB RSS" --out "$OUT_DIR/provider_sizes.svg" --logx
"$PLOT" --csv "$OUT_DIR/sync_missing.csv" --x missing --y seconds --title "module sync vs missing tags (${INGEST_MS} ms ingestion, ${LATENCY_MS} ms latency)" \
  --xlabel "missing tags" --ylabel seconds --out "$OUT_DIR/sync_missing.svg"
"$PLOT" --csv "$OUT_DIR/module_files.csv" --x files --y tfpub_seconds,tar_seconds --title "module packaging time vs file count" \
  --xlabel files --ylabel seconds --out "$OUT_DIR/module_files.svg" --logx
"$PLOT" --csv "$OUT_DIR/registry_memory.csv" --x mib_uploaded --y rss_growth_mib \
  --title "registry RSS growth, $PUBLISHERS concurrent publishers, vs MiB they upload" \
  --xlabel "MiB uploaded at once" --ylabel "MiB RSS growth" --out "$OUT_DIR/registry_memory.svg" --logx
cp "$R" "$OUT_DIR/results.txt"

# --- the table --------------------------------------------------------------------------------
python3 - "$R" "$BIN" "$PLATFORMS" "$SIZE_MIB" "$BIG_MIB" "$LATENCY_MS" "$TAGS" "$PUBLISHED" "$MODULE_FILES" \
  "$SYNC_MISSING" "$INGEST_MS" "$SYNC_CONCURRENCY" "$PUBLISHERS" "$OUT_DIR" <<'PY'
import sys
r = {}
for line in open(sys.argv[1]):
    k, _, v = line.strip().partition("=")
    r[k] = v
binp, plat, size, big, lat, tags, pub, mfiles = sys.argv[2:10]
smiss, ingest, sconc, npub, outdir = sys.argv[10:15]
plat, lat, tags, pub = int(plat), int(lat) / 1000, int(tags), int(pub)
f = lambda k: float(r[k])
def req(k):
    return dict(kv.split("=") for kv in r[k].split())
MiB = 1048576
rows = []
def row(what, value, ratio="", target=""):
    rows.append((what, value, ratio, target))
chain = 4  # provider -> version -> platform -> PUT binary
lb = chain * lat + f("largest_upload")
row(f"1. publish {plat}x{size} MiB, baseline (zip+sha256sum+gpg+curl)", f"{f('base_publish'):.2f} s")
row(f"   of which baseline packaging (zip, sha256sum, gpg)", f"{f('base_package'):.2f} s")
row(f"1. publish {plat}x{size} MiB, tfpub", f"{f('tfpub_publish'):.2f} s",
    f"{f('base_publish')/f('tfpub_publish'):.2f}x faster", ">= 4x")
q = req("tfpub_publish_requests")
row(f"   tfpub requests (GET/writes/PUT)", f"{q['total']} ({q['gets']}/{q['writes']}/{q['puts']})")
row(f"   lower bound ({chain} dependent requests x {lat*1000:.0f} ms + largest upload {f('largest_upload'):.3f} s)",
    f"{lb:.2f} s", f"tfpub = {f('tfpub_publish')/lb:.1f}x bound", "<= 1.5x")
row(f"   tfpub provider package alone (zips, sums, sig)", f"{f('tfpub_package'):.2f} s",
    f"{f('base_package')/f('tfpub_package'):.2f}x vs zip+sha256sum+gpg")
net = f('tfpub_publish') - f('tfpub_package')
row(f"   tfpub publish minus its packaging (the network part)", f"{net:.2f} s",
    f"{net/lb:.1f}x bound")
row(f"1c. package {plat}x{size} MiB compressible: zip -6 + sha256sum", f"{f('czip_base'):.2f} s, {f('czip_base_size')/MiB:.1f} MiB")
row(f"1c. package {plat}x{size} MiB compressible: tfpub provider package", f"{f('czip_tfpub'):.2f} s, {f('czip_tfpub_size')/MiB:.1f} MiB",
    f"{f('czip_base')/f('czip_tfpub'):.2f}x faster, size {f('czip_tfpub_size')/f('czip_base_size'):.3f}x")
mb = f("module_bytes") / MiB
row(f"2. module package {mfiles} files {mb:.0f} MiB: tar -czf (gzip -6)", f"{f('tar_time'):.2f} s, {f('tar_size')/MiB:.1f} MiB")
row(f"2. module package: tfpub ({r['tfpub_modpkg_files']} files packed)", f"{f('tfpub_modpkg_time'):.2f} s, {f('tfpub_modpkg_size')/MiB:.1f} MiB",
    f"time {f('tfpub_modpkg_time')/f('tar_time'):.2f}x, size {f('tfpub_modpkg_size')/f('tar_size'):.3f}x of tar", "<= 1x, <= 1x")
hb = f("hash_bytes") / MiB
row(f"3. SHA-256 of {plat} zips ({hb:.0f} MiB): sha256sum", f"{hb/f('hash_sha256sum'):.0f} MiB/s")
row(f"3. SHA-256: tfpub (package::provider::sha256_file)", f"{hb/f('hash_tfpub'):.0f} MiB/s",
    f"{f('hash_sha256sum')/f('hash_tfpub'):.2f}x sha256sum throughput", ">= 0.9x")
r20, r100 = f("rss20_kib") / 1024, f("rss100_kib") / 1024
row(f"4. peak RSS tfpub provider publish {plat}x{size} MiB", f"{r20:.1f} MiB", "", "<= 64 MiB")
row(f"4. peak RSS tfpub provider publish {plat}x{big} MiB", f"{r100:.1f} MiB", f"{r100-r20:+.1f} MiB", "<= 64 MiB, +few MiB")
row(f"   (that publish took)", f"{f('tfpub_publish_big'):.2f} s")
s1, s2 = req("sync_requests"), req("sync_noop_requests")
row(f"5. module sync {tags} tags, {pub} published ({tags-pub} missing)", f"{f('sync_time'):.2f} s",
    f"{s1['total']} requests ({s1['gets']} GET, {s1['writes']} writes)", "~ k x missing + c")
row(f"5. module sync again, nothing missing", f"{f('sync_noop_time'):.2f} s",
    f"{s2['total']} requests ({s2['gets']} GET, {s2['writes']} writes)", "constant")
# issue 20
row(f"1d. publish {plat}x{size} MiB compressible, baseline (zip+sha256sum+gpg+curl)", f"{f('cbase_publish'):.2f} s")
row(f"1d. publish {plat}x{size} MiB compressible, tfpub", f"{f('ctfpub_publish'):.2f} s",
    f"{f('cbase_publish')/f('ctfpub_publish'):.2f}x faster", ">= 6x")
sn = req("syncn_stats")
row(f"6. module sync {smiss} missing, {ingest} ms ingestion, --concurrency 1", f"{f('sync1_time'):.2f} s")
row(f"6. same sync, --concurrency {sconc}", f"{f('syncn_time'):.2f} s",
    f"{f('sync1_time')/f('syncn_time'):.2f}x faster", ">= 10x")
row(f"   that sync: requests, 429s, peak API requests in any 1 s", f"{sn['total']}, {sn['s429']}, {sn['api_peak_1s']}",
    "", "0 429s, peak <= 30/s")
ia = req("ingest_all_stats")
row(f"   every sync on that registry: 429s / 5xx / peak API req in 1 s", f"{ia['s429']} / {ia['s5xx']} / {ia['api_peak_1s']}")
m = req("many_stats")
row(f"7. {npub} concurrent publishers, {f('many_bytes')/MiB:.0f} MiB", f"{f('many_time'):.2f} s",
    f"{int(float(r['many_failed']))} failed, {m['s5xx']} 5xx, {m['s429']} 429", "all ok, no 5xx")
row(f"   re-run of all {npub}: complete and unchanged", f"{r['many_again_unchanged']} of {npub}", "", "all (nothing lost)")
row(f"   registry API time p50 / p99 ({m['api_n']} requests)", f"{float(m['api_p50_ms']):.1f} / {float(m['api_p99_ms']):.1f} ms")
row(f"   aggregate upload throughput", f"{f('many_bytes')/MiB/f('many_time'):.0f} MiB/s")
rb, rp = f("many_rss_before_kib") / 1024, f("many_rss_peak_kib") / 1024
sb, sp = f("small_rss_before_kib") / 1024, f("small_rss_peak_kib") / 1024
row(f"   registry RSS before / peak, {npub} publishers of {f('small_bytes')/MiB:.0f} MiB (7a)", f"{sb:.1f} / {sp:.1f} MiB",
    f"{sp-sb:+.1f} MiB ({int(float(r['small_failed']))} failed)", "")
row(f"   registry RSS before / peak, {npub} publishers of {f('many_bytes')/MiB:.0f} MiB (7b)", f"{rb:.1f} / {rp:.1f} MiB",
    f"{rp-rb:+.1f} MiB", "")
row(f"   registry memory owed to the bytes in flight (7b - 7a)", f"{(rp-rb)-(sp-sb):+.1f} MiB for {f('many_bytes')/MiB - f('small_bytes')/MiB:.0f} MiB more",
    f"{((rp-rb)-(sp-sb)) / (f('many_bytes')/MiB - f('small_bytes')/MiB) * 100:+.1f}% of the extra bytes", "bounded (not growing with bytes)")
row(f"whole bench run", f"{f('bench_total'):.0f} s", "", "< 600 s")
with open(f"{outdir}/headline.csv", "w") as out:
    out.write("measure,value,ratio,target\n")
    for x in rows:
        out.write(",".join('"' + c.strip().replace('"', "'") + '"' for c in x) + "\n")
w = [max(len(x[i]) for x in rows) for i in range(4)]
hdr = ("measure", "value", "ratio", "target")
w = [max(w[i], len(hdr[i])) for i in range(4)]
print(f"tfpub binary: {binp}   latency per request: {lat*1000:.0f} ms")
print(" | ".join(h.ljust(w[i]) for i, h in enumerate(hdr)).rstrip())
print("-+-".join("-" * x for x in w))
for x in rows:
    print(" | ".join(c.ljust(w[i]) for i, c in enumerate(x)).rstrip())
PY
