#!/usr/bin/env bash
# The seed's scenario, narrated, on a hive this script creates in a temporary
# folder: two instances, a skill added and verified, a child skill with
# lineage, and a tampered change refused.
set -euo pipefail
hive=${1:-hive}
w=$(mktemp -d "${TMPDIR:-/tmp}/hive-demo.XXXXXX")
trap 'rm -rf "$w"' EXIT
export HIVE_KEY_DIR=$w/keys GIT_AUTHOR_NAME=demo GIT_AUTHOR_EMAIL=demo@example.com GIT_COMMITTER_NAME=demo GIT_COMMITTER_EMAIL=demo@example.com
say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
run() { printf '$ %s\n' "$*"; "$@"; }
h() { run "$hive" --repo "$w/hive" "$@"; }

say "A new hive, and two agent instances with their own keys"
run "$hive" init "$w/hive"
run "$hive" keygen --instance instance_a
run "$hive" keygen --instance instance_b
h key add --instance instance_a
h key add --instance instance_b

say "Instance A learns a skill: the seed's 'Refactor auth to use env vars'"
cat > "$w/seed.json" <<'JSON'
{"intent":"Refactor auth to use env vars","reasoning_path":[{"step":1,"action":"analyze_auth_dependencies"},{"step":2,"action":"generate_env_var_code"}],"result":"import os\ndef get_password():\n    return os.getenv('DB_PASSWORD')","confidence":0.98,"verification_score":1,"lineage":[],"created_at":"2025-12-13T03:45:00Z","instance_id":"instance_a"}
JSON
id=$(h add "$w/seed.json" | tail -1)
echo "$id"
hex=${id#sha256:}
echo "stored as traces/${hex:0:2}/$hex.json (its name is the sha256 of its bytes), signed in .sigstore.json"
h show "$id"

say "Every commit is checked: canonical JSON, schema, hash, signature, lineage, history"
h verify --full

say "Instance B derives a child skill; its lineage names A's skill"
cat > "$w/child.json" <<JSON
{"intent":"Refactor auth to use env vars with a default","reasoning_path":[{"step":1,"action":"reuse_skill"},{"step":2,"action":"add_default_value"}],"result":"import os\ndef get_password():\n    return os.getenv('DB_PASSWORD', '')","confidence":0.97,"verification_score":0.99,"lineage":["$id"],"created_at":"2025-12-14T10:00:00Z","instance_id":"instance_b"}
JSON
child=$(h add "$w/child.json" | tail -1)
h lineage "$id"

say "Plain git audits it: the commit that introduced A's skill, and the lineage trailers"
run git -C "$w/hive" log --grep "$id" --format='%h %an: %s'
run git -C "$w/hive" log -1 --format='%(trailers)'

say "Instance B reuses A's skill and reports that it worked; A's standing rises in both hives"
run git clone -q --bare "$w/hive" "$w/hub.git"
run git -C "$w/hive" remote add hub "$w/hub.git"
run "$hive" clone "$w/hub.git" "$w/b"
b() { run "$hive" --repo "$w/b" "$@"; }
b resolve "use environment variables for auth"
echo
b reputation instance_a
b outcome "$id" --success --detail "python -c 'from skill import get_password': exit 0" --instance instance_b
b reputation instance_a
b push
h pull hub
h reputation instance_a
h outcomes "$id"

say "Someone edits A's skill behind hive's back, and commits it with plain git"
run sed -i "s/DB_PASSWORD/EVIL_PASSWORD/" "$w/hive/traces/${hex:0:2}/$hex.json"
run git -C "$w/hive" commit -qam "innocent refactor"
set +e
h verify
rc=$?
set -e
echo "hive verify exited $rc: the tampered change is refused"
[ "$rc" = 1 ]
say "Done: skills shared as signed, content-addressed files in git, and a gate that cannot be fooled quietly"
