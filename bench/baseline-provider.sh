#!/usr/bin/env bash
# The documented way to publish a private provider, done sequentially by hand:
# zip each binary, sha256sum, gpg --detach-sign, then one curl call after another
# (JSON:API creates for the GPG key, provider, version and each platform; PUT uploads).
# It is the baseline tfpub is measured against in bench/run.sh.
#
# Usage: baseline-provider.sh BASE_URL ORG TOKEN NAME VERSION BINDIR WORKDIR
#   BINDIR holds OS_ARCH/terraform-provider-NAME for every platform.
# Prints on stdout "packaged SECONDS" (zip + sha256sum + gpg), then one line per upload:
# "upload FILE BYTES SECONDS" (curl's time_total).
set -euo pipefail
T0=$(date +%s.%N)

BASE=${1%/}; ORG=$2; TOKEN=$3; NAME=$4; VERSION=$5; BINDIR=$6; WORK=$7
ROOT=$(cd "$(dirname "$0")/.." && pwd)
KEY=$ROOT/testdata/keys/rsa.sec.asc
PUB=$ROOT/testdata/keys/rsa.pub.asc
PASS='correct horse'
CT='Content-Type: application/vnd.api+json'
AUTH="Authorization: Bearer $TOKEN"

mkdir -p "$WORK/dist"
export GNUPGHOME="$WORK/gnupg"
mkdir -p "$GNUPGHOME"; chmod 700 "$GNUPGHOME"
cleanup_gpg() { gpgconf --kill gpg-agent >/dev/null 2>&1 || true; }
trap cleanup_gpg EXIT

# 1. zip every platform (binary renamed terraform-provider-NAME_vVERSION, default level 6)
cd "$WORK/dist"
platforms=()
for d in "$BINDIR"/*/; do
  p=$(basename "$d")
  platforms+=("$p")
  stage="$WORK/stage/$p"
  mkdir -p "$stage"
  cp "$d/terraform-provider-$NAME" "$stage/terraform-provider-${NAME}_v$VERSION"
  chmod +x "$stage/terraform-provider-${NAME}_v$VERSION"
  (cd "$stage" && zip -q -6 "$WORK/dist/terraform-provider-${NAME}_${VERSION}_$p.zip" "terraform-provider-${NAME}_v$VERSION")
done

# 2. checksums, 3. binary detached signature
SUMS="terraform-provider-${NAME}_${VERSION}_SHA256SUMS"
sha256sum ./*.zip | sed 's#  \./#  #' > "$SUMS"
gpg --batch --quiet --import "$KEY" 2>/dev/null
KEYID=$(gpg --batch --with-colons --list-secret-keys | awk -F: '$1=="sec"{print $5; exit}')
gpg --batch --quiet --yes --pinentry-mode loopback --passphrase "$PASS" \
    --local-user "$KEYID" --output "$SUMS.sig" --detach-sign "$SUMS"
echo "packaged $(echo "$(date +%s.%N) - $T0" | bc)"

api() { # METHOD PATH [BODY]
  curl -sS --fail-with-body -X "$1" -H "$AUTH" -H "$CT" ${3:+--data-binary "$3"} "$BASE$2"
}
put() { # FILE URL
  curl -sS --fail -X PUT -H 'Content-Type: application/octet-stream' --data-binary "@$1" \
       -o /dev/null -w "upload $1 %{size_upload} %{time_total}\n" "$2"
}

# 4. register the public key
api POST /api/registry/private/v2/gpg-keys "$(jq -n --arg ns "$ORG" --rawfile a "$PUB" \
  '{data:{type:"gpg-keys",attributes:{namespace:$ns,"ascii-armor":$a}}}')" >/dev/null
# 5. provider
api POST "/api/v2/organizations/$ORG/registry-providers" "$(jq -n --arg ns "$ORG" --arg n "$NAME" \
  '{data:{type:"registry-providers",attributes:{name:$n,namespace:$ns,"registry-name":"private"}}}')" >/dev/null
# 6. version, then its two files
V=$(api POST "/api/v2/organizations/$ORG/registry-providers/private/$ORG/$NAME/versions" \
  "$(jq -n --arg v "$VERSION" --arg k "$KEYID" \
  '{data:{type:"registry-provider-versions",attributes:{version:$v,"key-id":$k,protocols:["6.0"]}}}')")
put "$SUMS" "$(jq -r '.data.links."shasums-upload"' <<<"$V")"
put "$SUMS.sig" "$(jq -r '.data.links."shasums-sig-upload"' <<<"$V")"
# 7. each platform: create, upload
for p in "${platforms[@]}"; do
  f="terraform-provider-${NAME}_${VERSION}_$p.zip"
  sum=$(awk -v f="$f" '$2==f{print $1}' "$SUMS")
  P=$(api POST "/api/v2/organizations/$ORG/registry-providers/private/$ORG/$NAME/versions/$VERSION/platforms" \
    "$(jq -n --arg os "${p%%_*}" --arg arch "${p#*_}" --arg s "$sum" --arg f "$f" \
    '{data:{type:"registry-provider-version-platforms",attributes:{os:$os,arch:$arch,shasum:$s,filename:$f}}}')")
  put "$f" "$(jq -r '.data.links."provider-binary-upload"' <<<"$P")"
done
