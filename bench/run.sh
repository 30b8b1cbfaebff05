#!/usr/bin/env bash
# tfpub benchmarks (issue 8): one command, figures and ratios measured side by side.
#
#   bench/run.sh                 # full run (12 x 20 MiB, 12 x 100 MiB, 2,000-file module, 300 tags)
#   PROFILE=release bench/run.sh # optimised build of tfpub and the registry (the recorded figures)
#   TFPUB_BIN=/path/to/tfpub bench/run.sh   # measure another tfpub binary
#   SIZE_MIB=2 BIG_MIB=4 MODULE_MIB=5 TAGS=30 PUBLISHED=25 bench/run.sh   # quick smoke run
#
# Needs: cargo, bash, python3, zip, sha256sum, gpg, curl, jq, git, /usr/bin/time.
# Everything runs against the embedded registry (examples/bench_registry.rs) on loopback
# with LATENCY_MS of injected latency per request; it is stopped on exit.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
PLATFORMS=12
SIZE_MIB=${SIZE_MIB:-20}
BIG_MIB=${BIG_MIB:-100}
MODULE_FILES=${MODULE_FILES:-2000}
MODULE_MIB=${MODULE_MIB:-50}
TAGS=${TAGS:-300}
PUBLISHED=${PUBLISHED:-290}
LATENCY_MS=${LATENCY_MS:-50}
export CARGO_BUILD_JOBS=${CARGO_BUILD_JOBS:-2}

PROFILE=${PROFILE:-dev}
case $PROFILE in
  dev) OUT=debug ;;
  release) OUT=release ;;
  *) echo "bench: PROFILE must be dev or release" >&2; exit 2 ;;
esac
echo "bench: building tfpub and the registry helper ($PROFILE profile)" >&2
cargo build --quiet --profile "$PROFILE" --bin tfpub --example bench_registry
BIN=$(realpath "${TFPUB_BIN:-target/$OUT/tfpub}")
HELPER=$ROOT/target/$OUT/examples/bench_registry

WORK=$(mktemp -d "${TMPDIR:-/tmp}/tfpub-bench.XXXXXX")
REG_PID=
cleanup() {
  exec 3>&- 2>/dev/null || true
  if [ -n "$REG_PID" ]; then kill "$REG_PID" 2>/dev/null || true; wait "$REG_PID" 2>/dev/null || true; fi
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

tfpub() {
  env -u TFE_TOKEN -u TFE_HOSTNAME -u TFE_ORGANIZATION HOME="$WORK/home" NO_COLOR=1 \
    TFE_HOSTNAME="$URL" TFE_TOKEN=bench-token TFPUB_GPG_PASSPHRASE='correct horse' "$BIN" "$@"
}
mkdir -p "$WORK/home"

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

# --- the table --------------------------------------------------------------------------------
python3 - "$R" "$BIN" "$PLATFORMS" "$SIZE_MIB" "$BIG_MIB" "$LATENCY_MS" "$TAGS" "$PUBLISHED" "$MODULE_FILES" <<'PY'
import sys
r = {}
for line in open(sys.argv[1]):
    k, _, v = line.strip().partition("=")
    r[k] = v
binp, plat, size, big, lat, tags, pub, mfiles = sys.argv[2:]
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
w = [max(len(x[i]) for x in rows) for i in range(4)]
hdr = ("measure", "value", "ratio", "target")
w = [max(w[i], len(hdr[i])) for i in range(4)]
print(f"tfpub binary: {binp}   latency per request: {lat*1000:.0f} ms")
print(" | ".join(h.ljust(w[i]) for i, h in enumerate(hdr)).rstrip())
print("-+-".join("-" * x for x in w))
for x in rows:
    print(" | ".join(c.ljust(w[i]) for i, c in enumerate(x)).rstrip())
PY
