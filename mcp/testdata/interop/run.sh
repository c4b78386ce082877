#!/usr/bin/env bash
# Interoperability check run by `make test`: the official MCP TypeScript SDK
# (npm @modelcontextprotocol/sdk, the version pinned in package-lock.json,
# installed once into node_modules beside this script) drives `hive mcp`
# over stdio and /mcp of `hive serve` over Streamable HTTP (check.mjs), on a
# hive this script makes in a temporary folder with its own HOME.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../../.." && pwd)
command -v node >/dev/null && command -v npm >/dev/null || { echo "interop: FAIL: node and npm are needed (.ci/run installs them)"; exit 1; }

# The SDK, reinstalled only when the lock file changes.
stamp=$here/node_modules/.installed-lock
want=$(sha256sum "$here/package-lock.json" | cut -c1-64)
if [[ ! -f $stamp || $(cat "$stamp") != "$want" ]]; then
  (cd "$here" && npm ci --no-audit --no-fund --loglevel=error) || { echo "interop: FAIL: npm ci"; exit 1; }
  echo "$want" > "$stamp"
fi

w=$(mktemp -d "${TMPDIR:-/tmp}/hive-interop.XXXXXX")
srv=
cleanup() { [[ -n $srv ]] && kill "$srv" 2>/dev/null && wait "$srv" 2>/dev/null; rm -rf "$w"; }
trap cleanup EXIT
(cd "$root" && go build -o "$w/hive" ./cmd/hive)
export HOME=$w/home HIVE_KEY_DIR=$w/keys HIVE_KNOWN_KEYS=$w/known_keys
export GIT_AUTHOR_NAME=t GIT_AUTHOR_EMAIL=t@t GIT_COMMITTER_NAME=t GIT_COMMITTER_EMAIL=t@t GIT_CONFIG_GLOBAL=/dev/null GIT_CONFIG_NOSYSTEM=1
mkdir -p "$HOME"
h() { "$w/hive" --repo "$w/repo" "$@"; }
"$w/hive" init "$w/repo" >/dev/null
for i in instance_a instance_b; do "$w/hive" keygen --instance $i >/dev/null; h key add --instance $i >/dev/null; done
cat > "$w/seed.json" <<'JSON'
{"intent":"Refactor auth to use env vars","reasoning_path":[{"step":1,"action":"analyze_auth_dependencies"},{"step":2,"action":"generate_env_var_code"}],"result":"import os\ndef get_password():\n    return os.getenv('DB_PASSWORD')","confidence":0.98,"verification_score":1,"lineage":[],"created_at":"2025-12-13T03:45:00Z","instance_id":"instance_a"}
JSON
seed=$(h add "$w/seed.json")
git -C "$w/repo" config hive.trust.min-reputation 0.99 # a policy that trusts no one here: use_skill finds nothing, and says why

"$w/hive" --repo "$w/repo" serve --addr 127.0.0.1:0 > "$w/serve.log" 2>&1 &
srv=$!
addr=
for _ in $(seq 200); do
  addr=$(grep -so 'addr=[0-9.:]*' "$w/serve.log" | head -1 | cut -d= -f2) && [[ -n $addr ]] && break
  sleep 0.05
done
[[ -n $addr ]] || { echo "interop: FAIL: hive serve did not start"; cat "$w/serve.log"; exit 1; }

cd "$here"
node check.mjs "$w/hive" "$w/repo" "$seed" "http://$addr/mcp"
out=$(h verify --full 2>&1) || { echo "interop: FAIL: the hive does not verify after publish_skill"; echo "$out"; exit 1; }
