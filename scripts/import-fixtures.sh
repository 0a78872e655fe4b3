#!/usr/bin/env bash
# Makes the transcript fixtures of the importer's parsers (src/server/import/parse) from the
# REAL pinned CLIs: builds fake-model, starts it, runs `claude` and `codex` against it with
# HOME, CLAUDE_CONFIG_DIR and CODEX_HOME in a scratch folder, then copies the files the CLIs
# wrote into tests/fixtures/import/{claude,codex}, keeping the stores' layout
# (projects/<escaped cwd>/<id>.jsonl; sessions/YYYY/MM/DD/rollout-*.jsonl).
#
# Scenarios (one conversation each): plain text, a Bash command approved by the user, a
# file edit, an interrupted turn followed by another turn, a resumed conversation, an image
# in the prompt. The interactive ones (approval, interrupt, image for Claude) are driven by
# a small Python program over Claude's stream-json and Codex's app-server protocols.
#
# To keep the fixtures small, vendor prompt text is elided: strings longer than 2000
# characters become "<elided N chars>", and records over 8000 bytes that are not part of
# the conversation (Claude's prompt snapshots and request shapes) keep only their scalar
# keys plus "_omitted". Every line stays. Paths are stable: everything runs under $ROOT.
#
# Needs: cargo, python3, the pinned CLIs in agents/ (scripts/install-tools.sh). No network
# beyond 127.0.0.1.
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$PWD
ROOT=${IMPORT_FIXTURES_ROOT:-/tmp/switchboard-import-fixtures}
OUT=$REPO/tests/fixtures/import
# The pinned CLIs: SWITCHBOARD_CLAUDE_BIN / SWITCHBOARD_CODEX_BIN, else agents/ here.
CLAUDE=${SWITCHBOARD_CLAUDE_BIN:-$REPO/agents/node_modules/.bin/claude}
CODEX=${SWITCHBOARD_CODEX_BIN:-$REPO/agents/node_modules/.bin/codex}
[ -x "$CLAUDE" ] && [ -x "$CODEX" ] || { echo "missing $CLAUDE or $CODEX: run scripts/install-tools.sh" >&2; exit 1; }
: "${CARGO_TARGET_DIR:=$HOME/.cache/switchboard-target}"

cargo build --quiet --features ssr --bin fake-model
rm -rf "$ROOT"
mkdir -p "$ROOT/home" "$ROOT/claude-config" "$ROOT/codex-home" "$ROOT/work"

# The fake model on a free port; its address is its first stdout line.
coproc FAKE { exec "$CARGO_TARGET_DIR/debug/fake-model" --addr 127.0.0.1:0 2>"$ROOT/fake-model.log"; }
FAKE_PID=$FAKE_PID
trap 'kill "$FAKE_PID" 2>/dev/null || true' EXIT
trap 'exit 1' INT TERM
read -r ADDR <&"${FAKE[0]}"
echo "fake-model on $ADDR" >&2

export HOME=$ROOT/home
export CLAUDE_CONFIG_DIR=$ROOT/claude-config
export CODEX_HOME=$ROOT/codex-home
export ANTHROPIC_BASE_URL=http://$ADDR ANTHROPIC_API_KEY=test FAKE_OPENAI_KEY=test
export DISABLE_TELEMETRY=1 DISABLE_ERROR_REPORTING=1 DISABLE_AUTOUPDATER=1
export DISABLE_BUG_COMMAND=1 CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1 IS_SANDBOX=1
export CLAUDE_BIN=$CLAUDE CODEX_BIN=$CODEX
cat >"$CODEX_HOME/config.toml" <<EOF
model = "gpt-5.5"
model_provider = "fake"
check_for_update_on_startup = false

[model_providers.fake]
name = "Fake local"
base_url = "http://$ADDR/v1"
env_key = "FAKE_OPENAI_KEY"
wire_api = "responses"
request_max_retries = 0
stream_max_retries = 0

[analytics]
enabled = false
EOF

# A 1x1 PNG for the image scenario.
echo 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==' \
  | base64 -d >"$ROOT/pixel.png"

# One folder per scenario, so each conversation has its own project folder / cwd.
workdir() { mkdir -p "$ROOT/work/$1" && printf 'hello world\n' >"$ROOT/work/$1/notes.txt" && echo "$ROOT/work/$1"; }
claude_p() { (cd "$1" && shift && "$CLAUDE_BIN" -p "$@" --output-format json </dev/null >/dev/null); }
codex_exec() { (cd "$1" && shift && "$CODEX_BIN" exec --json --skip-git-repo-check "$@" </dev/null >/dev/null 2>&1); }

cat >"$ROOT/drive.py" <<'PY'
"""Drives claude (stream-json) and codex (app-server) through a list of steps."""
import json, os, subprocess, sys, threading, queue, time

def reader(proc, q):
    for line in proc.stdout:
        line = line.strip()
        if line:
            try:
                q.put(json.loads(line))
            except ValueError:
                pass
    q.put(None)

def start(argv, cwd):
    proc = subprocess.Popen(argv, cwd=cwd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, text=True, start_new_session=True)
    q = queue.Queue()
    threading.Thread(target=reader, args=(proc, q), daemon=True).start()
    return proc, q

def send(proc, obj):
    proc.stdin.write(json.dumps(obj) + "\n")
    proc.stdin.flush()

def next_msg(q, deadline):
    msg = q.get(timeout=max(0.1, deadline - time.time()))
    if msg is None:
        raise SystemExit("the agent exited early")
    return msg

def claude(cwd, session_id, turns):
    """turns: list of (content, action) with action 'allow' or 'interrupt' or None."""
    argv = [os.environ["CLAUDE_BIN"], "-p", "--input-format", "stream-json", "--output-format",
            "stream-json", "--verbose", "--include-partial-messages", "--permission-prompt-tool",
            "stdio", "--permission-mode", "default", "--session-id", session_id]
    proc, q = start(argv, cwd)
    send(proc, {"type": "control_request", "request_id": "init_1",
                "request": {"subtype": "initialize", "hooks": None}})
    for n, (content, action) in enumerate(turns):
        send(proc, {"type": "user", "message": {"role": "user", "content": content},
                    "parent_tool_use_id": None, "session_id": ""})
        deadline = time.time() + 60
        interrupted = False
        while True:
            msg = next_msg(q, deadline)
            kind = msg.get("type")
            if kind == "control_request" and msg["request"].get("subtype") == "can_use_tool":
                req = msg["request"]
                send(proc, {"type": "control_response", "response": {
                    "subtype": "success", "request_id": msg["request_id"],
                    "response": {"behavior": "allow", "updatedInput": req.get("input", {})}}})
            elif (kind == "stream_event" and action == "interrupt" and not interrupted
                  and msg["event"].get("type") == "content_block_delta"):
                time.sleep(0.5)
                send(proc, {"type": "control_request", "request_id": "int_%d" % n,
                            "request": {"subtype": "interrupt"}})
                interrupted = True
            elif kind == "result":
                break
    proc.stdin.close()
    proc.wait(timeout=30)

def codex(cwd, steps):
    """steps: list of (prompt, action) with action 'approve' or 'interrupt' or None."""
    proc, q = start([os.environ["CODEX_BIN"], "app-server"], cwd)
    ids = iter(range(1, 1000))
    def request(method, params):
        rid = next(ids)
        send(proc, {"jsonrpc": "2.0", "id": rid, "method": method, "params": params})
        deadline = time.time() + 60
        while True:
            msg = next_msg(q, deadline)
            if msg.get("id") == rid and "method" not in msg:
                if "error" in msg:
                    raise SystemExit("%s failed: %s" % (method, msg["error"]))
                return msg["result"]
    request("initialize", {"clientInfo": {"name": "fixtures", "title": "fixtures", "version": "0"}})
    send(proc, {"jsonrpc": "2.0", "method": "initialized"})
    thread = request("thread/start", {"cwd": cwd, "approvalPolicy": "untrusted",
                                      "sandbox": "workspace-write"})["thread"]["id"]
    for prompt, action in steps:
        turn = request("turn/start", {"threadId": thread, "input": [
            {"type": "text", "text": prompt, "text_elements": []}]})
        turn_id = turn.get("turn", {}).get("id")
        deadline = time.time() + 60
        interrupted = False
        while True:
            msg = next_msg(q, deadline)
            method = msg.get("method", "")
            if method.endswith("requestApproval") and "id" in msg:
                send(proc, {"jsonrpc": "2.0", "id": msg["id"], "result": {"decision": "accept"}})
            elif (method == "item/agentMessage/delta" and action == "interrupt"
                  and not interrupted):
                time.sleep(0.5)
                send(proc, {"jsonrpc": "2.0", "id": next(ids), "method": "turn/interrupt",
                            "params": {"threadId": thread, "turnId": turn_id}})
                interrupted = True
            elif method == "turn/completed":
                break
    proc.stdin.close()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, 15)
        proc.wait()

if __name__ == "__main__":
    spec = json.loads(sys.argv[1])
    if spec["agent"] == "claude":
        claude(spec["cwd"], spec["session_id"], spec["turns"])
    else:
        codex(spec["cwd"], spec["steps"])
PY
drive() { python3 "$ROOT/drive.py" "$1"; }

echo "claude: plain text" >&2
W=$(workdir claude-plain)
claude_p "$W" "Say hello to the importer." --session-id 11111111-0000-4000-8000-000000000001

echo "claude: Bash with approval" >&2
W=$(workdir claude-bash)
drive "{\"agent\":\"claude\",\"cwd\":\"$W\",\"session_id\":\"11111111-0000-4000-8000-000000000002\",
        \"turns\":[[\"TOOL_BASH:echo approved\",\"allow\"]]}"

echo "claude: write then edit a file" >&2
W=$(workdir claude-edit)
drive "{\"agent\":\"claude\",\"cwd\":\"$W\",\"session_id\":\"11111111-0000-4000-8000-000000000003\",
        \"turns\":[[\"TOOL_WRITE:made.txt\",\"allow\"],[\"TOOL_EDIT:made.txt|written by|edited by\",\"allow\"]]}"

echo "claude: interrupted turn, then another" >&2
W=$(workdir claude-interrupt)
drive "{\"agent\":\"claude\",\"cwd\":\"$W\",\"session_id\":\"11111111-0000-4000-8000-000000000004\",
        \"turns\":[[\"SLOW 20 300\",\"interrupt\"],[\"After the interrupt\",null]]}"

echo "claude: resumed conversation" >&2
W=$(workdir claude-resume)
claude_p "$W" "My name is Alice." --session-id 11111111-0000-4000-8000-000000000005
claude_p "$W" "What is my name?" --resume 11111111-0000-4000-8000-000000000005

echo "claude: image in the prompt" >&2
W=$(workdir claude-image)
PNG=$(base64 -w0 "$ROOT/pixel.png")
drive "{\"agent\":\"claude\",\"cwd\":\"$W\",\"session_id\":\"11111111-0000-4000-8000-000000000006\",
        \"turns\":[[[{\"type\":\"image\",\"source\":{\"type\":\"base64\",\"media_type\":\"image/png\",\"data\":\"$PNG\"}},
                     {\"type\":\"text\",\"text\":\"What is in this image?\"}],null]]}"

echo "codex: plain text" >&2
W=$(workdir codex-plain)
codex_exec "$W" "Say hello to the importer."

echo "codex: Bash with approval (app-server)" >&2
W=$(workdir codex-bash)
drive "{\"agent\":\"codex\",\"cwd\":\"$W\",\"steps\":[[\"TOOL_BASH:echo approved\",\"approve\"]]}"

echo "codex: edit a file" >&2
W=$(workdir codex-edit)
codex_exec "$W" -s workspace-write "TOOL_EDIT:notes.txt|hello|goodbye"

echo "codex: interrupted turn, then another (app-server)" >&2
W=$(workdir codex-interrupt)
drive "{\"agent\":\"codex\",\"cwd\":\"$W\",\"steps\":[[\"SLOW 20 300\",\"interrupt\"],[\"After the interrupt\",null]]}"

echo "codex: resumed conversation" >&2
W=$(workdir codex-resume)
codex_exec "$W" "My name is Alice."
THREAD=$(basename "$(ls "$CODEX_HOME"/sessions/*/*/*/rollout-*.jsonl | xargs grep -l codex-resume | head -1)" .jsonl | grep -oE '[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$')
codex_exec "$W" resume "$THREAD" "What is my name?"

echo "codex: image in the prompt" >&2
W=$(workdir codex-image)
codex_exec "$W" "What is in this image?" -i "$ROOT/pixel.png"

# Copy the stores, shortening vendor prompt text.
rm -rf "$OUT"
mkdir -p "$OUT/claude" "$OUT/codex"
python3 - "$CLAUDE_CONFIG_DIR" "$OUT/claude" "$CODEX_HOME" "$OUT/codex" <<'PY'
import json, os, sys

def shorten(value):
    if isinstance(value, str) and len(value) > 2000:
        return "<elided %d chars>" % len(value)
    if isinstance(value, list):
        return [shorten(v) for v in value]
    if isinstance(value, dict):
        return {k: shorten(v) for k, v in value.items()}
    return value

# Conversation records keep everything but long strings; any other record over 8000 bytes
# (Claude's prompt snapshots and request shapes) keeps its scalar keys and its subtype.
CONVERSATION = {"user", "assistant", "system", "summary", "session_meta", "response_item",
                "event_msg", "turn_context", "compacted"}

def small(record, size):
    if size <= 8000 or record.get("type") in CONVERSATION:
        return shorten(record)
    kept = {k: v for k, v in record.items() if not isinstance(v, (dict, list))}
    if isinstance(record.get("attachment"), dict):
        kept["attachment"] = {"type": record["attachment"].get("type")}
    kept["_omitted"] = "record of %d bytes elided (vendor prompt text)" % size
    return shorten(kept)

def copy(src_root, sub, dst_root):
    for folder, _, files in os.walk(os.path.join(src_root, sub)):
        for name in sorted(files):
            if not name.endswith(".jsonl"):
                continue
            src = os.path.join(folder, name)
            dst = os.path.join(dst_root, os.path.relpath(src, src_root))
            os.makedirs(os.path.dirname(dst), exist_ok=True)
            with open(src) as f, open(dst, "w") as out:
                for line in f:
                    if len(line) > 2000:
                        try:
                            line = json.dumps(small(json.loads(line), len(line)),
                                              ensure_ascii=False) + "\n"
                        except ValueError:
                            pass
                    out.write(line)

copy(sys.argv[1], "projects", sys.argv[2])
copy(sys.argv[3], "sessions", sys.argv[4])
PY
find "$OUT" -type f | sort | while read -r f; do printf '%8d %s\n' "$(wc -c <"$f")" "${f#"$REPO"/}"; done
