#!/usr/bin/env bash
# make demo: the seed's story, told with every command shown as it runs.
#
# Two agent instances, A and B, each with a hive and a key store of its own,
# share skills through a hub (a bare hive whose pre-receive hook runs the
# validator). A learns a skill and publishes it; B subscribes by intent,
# searches, and uses A's skill; B derives a child skill with lineage and
# publishes it; A pulls and sees the child in its skill's lineage; B reports
# that A's skill worked, and A's standing rises in both hives; the
# reputations; a tampered change and a forged push refused; a dispute
# opened by B and resolved by the hub's maintainer. Everything happens in a
# temporary folder, removed at the end; a clone of the hub is left as the
# default hive ($HIVE_HOME, else $XDG_DATA_HOME/hive/default, else
# ~/.local/share/hive/default), so that `make run` serves it. A default hive
# that a demo did not make is left alone: the clone goes beside it.
#
# Usage: bash docs/demo.sh [HIVE-BINARY]   (make demo builds bin/hive first)
set -euo pipefail
hive=${1:-hive}
case $hive in */*) hive=$(cd "$(dirname "$hive")" && pwd)/$(basename "$hive") ;; *) hive=$(command -v "$hive") ;; esac
examples=$(cd "$(dirname "$0")/examples" && pwd)
w=$(mktemp -d "${TMPDIR:-/tmp}/hive-demo.XXXXXX")
trap 'rm -rf "$w"' EXIT
cd "$w"
export PATH="$(dirname "$hive"):$PATH" GIT_CONFIG_NOSYSTEM=1 GIT_CONFIG_GLOBAL=/dev/null
export GIT_AUTHOR_NAME=someone GIT_AUTHOR_EMAIL=someone@example.com GIT_COMMITTER_NAME=someone GIT_COMMITTER_EMAIL=someone@example.com
cp "$examples"/*.json .

bold=$'\033[1m' dim=$'\033[2m' off=$'\033[0m'
if [ ! -t 1 ]; then bold= dim= off=; fi
say() { printf '\n%s== %s%s\n' "$bold" "$*" "$off"; }
note() { printf '%s%s%s\n' "$dim" "$*" "$off"; }
# show prints a command as you would type it, quoting what needs quotes.
show() {
  local line=$ a
  for a in "$@"; do
    if [[ $a =~ ^[A-Za-z0-9_./:=@%+,-]+$ ]]; then line+=" $a"; else line+=" '${a//\'/\'\\\'\'}'"; fi
  done
  printf '%s%s%s\n' "$bold" "$line" "$off"
}
# run shows a command, then runs it; it must succeed.
run() { show "$@"; "$@"; }
# refused shows a command that must fail, runs it, and says so.
refused() {
  show "$@"
  local rc=0
  "$@" || rc=$?
  if [ "$rc" = 0 ]; then echo "demo: that should have failed" >&2; exit 1; fi
  note "(exit $rc, as it should)"
}

note "working in $w"

say "A hub that both instances reach: a bare hive; its pre-receive hook runs the validator on every push"
run hive init --bare --maintainer maint hub.git
run hive --repo hub.git hooks install

say "Instance A: its own hive (a clone of the hub) and its own key store"
run hive clone hub.git a
run hive --repo a --key-dir keys-a keygen --instance instance_a
run hive --repo a --key-dir keys-a key add --instance instance_a

say "Instance B too, before A publishes anything"
run hive clone hub.git b
run hive --repo b --key-dir keys-b keygen --instance instance_b

say "A learns the seed's skill: 'Refactor auth to use env vars' (trace.json), and publishes it"
run cat trace.json
run hive --repo a --key-dir keys-a add trace.json
note "the id is the sha256 of the trace's canonical bytes; traces/f1/f1fa4d3b....json holds them, .sigstore.json A's signature"
run hive --repo a push

say "B subscribes by intent: only the skills of the hub that match, with their lineage and their authors' keys"
run hive --repo b pull origin --intent "use environment variables for auth"

say "B searches its hive"
run hive --repo b search "use environment variables for auth"

say "B uses A's skill: the best trusted skill for the task, its result on stdout"
note "no policy to set: by default, the best skill nobody has seen fail, by an author in good standing"
run hive --repo b resolve "use environment variables for auth"

say "B's agent does the same through the MCP server: hive mcp speaks the Model Context Protocol on stdin and stdout"
note "an MCP client (Claude Code, Cursor, ...) starts it and sends JSON-RPC; here from a file: the handshake, search_skills, use_skill"
printf '%s\n' \
  '{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"demo","version":"1"}}}' \
  '{"jsonrpc":"2.0","method":"notifications/initialized"}' \
  '{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"search_skills","arguments":{"query":"use environment variables for auth","limit":3}}}' \
  '{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"use_skill","arguments":{"intent":"use environment variables for auth"}}}' > mcp-requests.jsonl
printf '%s$ hive --repo b mcp < mcp-requests.jsonl > mcp-answers.jsonl%s\n' "$bold" "$off"
hive --repo b mcp < mcp-requests.jsonl > mcp-answers.jsonl
# mcp_text N prints the text of the answer to request N, as the agent reads it.
mcp_text() {
  sed -n "s/^{\"jsonrpc\":\"2.0\",\"id\":$1,\"result\":{\"content\":\[{\"type\":\"text\",\"text\":\"\(.*\)\"}\],\"structuredContent\".*/\1/p" mcp-answers.jsonl |
    sed 's/\\n/\n/g; s/\\"/"/g; s/\\u003c/</g; s/\\u003e/>/g; s/\\u0026/\&/g; s/\\\\/\\/g'
}
note "search_skills answers:"
mcp_text 2
note "use_skill answers:"
mcp_text 3

say "B derives a child skill: its lineage names A's skill (child.json)"
run hive --repo b --key-dir keys-b key add --instance instance_b
run hive --repo b --key-dir keys-b add child.json
run hive --repo b pull
run hive --repo b push

say "A pulls: fetched into quarantine, verified, merged; the child is in its skill's lineage"
run hive --repo a pull
run hive --repo a lineage f1fa4d3b
run hive --repo a diff f1fa4d3b 0b802a00
note "plain git audits it too: the trailers name the trace, its instance and its parents"
run git -C a log --grep sha256:0b802a00fdcd --format='%h %s%n%(trailers)'

say "B reports that A's skill worked: a signed outcome; A's standing rises in both hives after a push and a pull"
run hive --repo b reputation instance_a
run hive --repo b --key-dir keys-b outcome f1fa4d3b --success --detail "python get_password.py: exit 0" --instance instance_b
run hive --repo b reputation instance_a
run hive --repo b push
run hive --repo a pull
run hive --repo a reputation instance_a
run hive --repo a outcomes f1fa4d3b

say "Reputation: computed from what the hive holds, the same in every clone"
run hive --repo a reputation

say "Someone edits A's skill behind hive's back and commits it with plain git"
run git clone -q hub.git mallory
run sed -i "s/DB_PASSWORD/EVIL_PASSWORD/" mallory/traces/f1/f1fa4d3b015cbe96678ee6b36b863aa3657d0824479668db71f3fb69c849db50.json
run git -C mallory commit -qam "innocent refactor"
refused hive --repo mallory verify
note "and the hub's hook refuses the push: every violation on the pusher's screen"
refused git -C mallory push -q origin main

say "A forged push: a skill that claims to be A's, signed with another key, pushed with plain git"
run git -C mallory reset -q --hard origin/main
run hive --key-dir keys-m keygen --instance instance_a
note "the forger made its own instance_a key; the hub registered A's real one"
run mkdir -p forged && run cp trace.json forged/
run sed -i 's/Refactor auth to use env vars/Refactor auth to use env vars (improved)/' forged/trace.json
run hive init forger
run hive --repo forger --key-dir keys-m key add --instance instance_a
run hive --repo forger --key-dir keys-m add forged/trace.json
run cp -r forger/traces mallory/
run git -C mallory add traces
run git -C mallory commit -qm "a better skill of instance_a"
refused git -C mallory push -q origin main

say "A dispute: A publishes a skill that prints the password; B disputes it"
run hive --repo a --key-dir keys-a add leaky.json
run hive --repo a push
run hive --repo b pull
run hive --repo b --key-dir keys-b dispute open 8ed212bf --reason "prints the database password" --instance instance_b
run hive --repo b push
run hive --repo b dispute list

say "The hub's maintainer decides: the skill goes, in the same commit as the signed resolution"
run hive clone hub.git m
run hive --repo m --key-dir keys-maint keygen --instance maint
run hive --repo m --key-dir keys-maint key add --instance maint
run hive --repo m --key-dir keys-maint dispute resolve 8ed212bf --remove --reason "confirmed: it prints the password" --instance maint
run hive --repo m push
run hive --repo a pull
refused hive --repo a show 8ed212bf
note "a tombstone keeps it out for good, and the upheld dispute counts against A"
run hive --repo a reputation
run hive --repo a dispute list

say "Everyone's hive verifies from its root"
run hive --repo a verify --full
run hive --repo b verify --full

say "The hub's skills, kept for make run: a clone of the hub as the default hive that hive serve serves"
if [ -n "${HIVE_HOME:-}" ]; then default=$HIVE_HOME
elif [[ ${XDG_DATA_HOME:-} == /* ]]; then default=$XDG_DATA_HOME/hive/default
else default=$HOME/.local/share/hive/default; fi
# A default hive of the user's own is never touched: only one a demo made
# (marked hive.demo in its git config) is replaced.
made_by_demo() { [ "$(git -C "$1" config --get hive.demo 2>/dev/null)" = true ]; }
if [ -e "$default" ] && ! made_by_demo "$default"; then
  note "a hive of yours is at $default already: left alone; the demo's goes beside it"
  default=$default-demo
fi
if [ -e "$default" ]; then
  made_by_demo "$default" || { echo "demo: $default exists and is not a demo's hive: not replaced" >&2; exit 1; }
  rm -rf "$default"
fi
mkdir -p "$(dirname "$default")"
run hive clone hub.git "$default"
run git -C "$default" config hive.demo true
run git -C "$default" remote remove origin
run hive --repo "$default" instances

say "Done: skills shared as signed, content-addressed files in git, reused by intent, with lineage and disputes, behind a gate that cannot be fooled quietly"
case $default in
  */hive/default) note "next: make run, then open http://127.0.0.1:8080/ to browse them (see the README)" ;;
  *) note "next: HIVE_REPO=$default make run, then open http://127.0.0.1:8080/ to browse them (see the README)" ;;
esac
