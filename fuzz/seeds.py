#!/usr/bin/env python3
"""Writes the seed inputs of the fuzz targets into fuzz/seeds/<target>/ from the captured
transcripts in tests/fixtures: one file per agent stdout line, plus each short transcript
whole (the targets split their input into lines, so a whole transcript exercises the
parsers' state between lines), and one file per kind of client frame. fuzz/seeds/ is not
committed: scripts/fuzz.sh passes it to libFuzzer next to the committed corpus
(fuzz/corpus/<target>/), and its minimizing merge copies into the corpus only the seeds
that add coverage. The seeds are rewritten from the fixtures on every run, named by
content hash as libFuzzer names its inputs.

Also writes fuzz/seeds/<target>.dict, a libFuzzer dictionary: the object keys and short
strings of the seeds (method names, types, subtypes) and numbers at the edges of what
the parsers read (u64::MAX, huge floats), so mutations make lines the parsers act on."""

import hashlib
import json
import pathlib
import shutil
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures"
SEEDS = ROOT / "fuzz" / "seeds"
# Whole transcripts larger than this are seeded line by line only.
WHOLE_MAX = 16 * 1024

SID = "00000000-0000-0000-0000-000000001234"
CLIENT = "00000000-0000-0000-0000-000000000007"
MSG = "00000000-0000-0000-0000-000000000008"

# Every ClientFrame variant (cf. src/protocol/tests.rs), including the optional fields.
CLIENT_FRAMES = [
    {"type": "hello", "client_id": CLIENT, "resume": [{"session": SID, "since": 3}]},
    {"type": "hello", "client_id": CLIENT},
    {"type": "subscribe", "session": SID, "since": 0},
    {"type": "unsubscribe", "session": SID},
    {"type": "send", "session": SID, "client_msg_id": MSG, "text": "hello"},
    {
        "type": "send",
        "session": SID,
        "client_msg_id": MSG,
        "text": "look at this \u00e9\u2603",
        "attachments": [
            {"name": "a.png", "mime_type": "image/png", "data_base64": "iVBORw0KGgo="}
        ],
        "create": {
            "agent": "claude",
            "cwd": "/home/dev/project",
            "permission_mode": "default",
            "model": None,
        },
    },
    {
        "type": "send",
        "session": SID,
        "client_msg_id": MSG,
        "text": "",
        "create": {"agent": "demo", "cwd": None, "permission_mode": None, "model": "m"},
    },
    {"type": "cancel", "session": SID},
    {"type": "answer_permission", "session": SID, "request_id": "r1", "option_id": "allow"},
    {"type": "set_permission_mode", "session": SID, "mode": "acceptEdits"},
    {"type": "retry", "session": SID},
    {"type": "view", "session": SID},
    {"type": "view", "session": None},
    {"type": "rename", "session": SID, "title": "Fix the build"},
    {"type": "archive", "session": SID},
    {"type": "ping"},
]


# Tokens every target's dictionary holds.
EDGE_TOKENS = [
    "18446744073709551615",  # u64::MAX
    "18446744073709551616",
    "9223372036854775807",
    "-9223372036854775808",
    "-1",
    "0",
    "1e308",
    "-1e308",
    "1.7976931348623157e308",
    "5e-324",
    "-0.0",
    "null",
    "true",
    "false",
    "[]",
    "{}",
    '""',
    '"\\ud800"',
    '"\\u0000"',
    "\n",
]
TOKENS = {}


def collect(target, value, depth=0):
    """Keys and short strings of a parsed seed, as JSON tokens for the dictionary."""
    tokens = TOKENS.setdefault(target, set())
    if depth > 64:
        return
    if isinstance(value, dict):
        for key, item in value.items():
            tokens.add(json.dumps(key, ensure_ascii=False) + ":")
            collect(target, item, depth + 1)
    elif isinstance(value, list):
        for item in value:
            collect(target, item, depth + 1)
    elif isinstance(value, str) and 0 < len(value) <= 40:
        tokens.add(json.dumps(value, ensure_ascii=False))


def write_dict(target):
    path = SEEDS / f"{target}.dict"
    lines = []
    for token in EDGE_TOKENS + sorted(TOKENS.get(target, ())):
        data = token.encode("utf-8")
        escaped = "".join(
            chr(b) if 0x20 <= b < 0x7F and b not in (0x22, 0x5C) else f"\\x{b:02x}" for b in data
        )
        lines.append(f'"{escaped}"')
    path.write_text("\n".join(lines) + "\n")


def write(target, text, counts):
    for line in text.splitlines():
        try:
            collect(target, json.loads(line))
        except ValueError:
            pass
    data = text.encode("utf-8")
    directory = SEEDS / target
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / hashlib.sha1(data).hexdigest()
    if not path.exists():
        path.write_bytes(data)
        counts[target] = counts.get(target, 0) + 1


def wire(target, captures, counts):
    """JSON-RPC captures (`*.wire.jsonl`): the lines the agent printed."""
    for wire in captures:
        lines = []
        for record in wire.read_text().splitlines():
            if not record.strip():
                continue
            record = json.loads(record)
            # "<-" is what the agent printed; "->" is what Switchboard's side sent.
            if record.get("dir") == "<-":
                lines.append(json.dumps(record["msg"], ensure_ascii=False, separators=(",", ":")))
        for line in lines:
            write(target, line, counts)
        whole = "\n".join(lines) + "\n"
        if len(whole.encode()) <= WHOLE_MAX:
            write(target, whole, counts)


def claude(counts):
    for capture in sorted((FIXTURES / "claude").glob("*.jsonl")):
        text = capture.read_text()
        if capture.name.endswith(".timeline.jsonl"):
            lines = [
                record["line"]
                for record in map(json.loads, filter(str.strip, text.splitlines()))
                if record.get("stream") == "stdout" and "line" in record
            ]
        else:
            lines = [line for line in text.splitlines() if line.strip()]
        for line in lines:
            write("claude_line", line, counts)
        whole = "\n".join(lines) + "\n"
        if len(whole.encode()) <= WHOLE_MAX:
            write("claude_line", whole, counts)


def client_frames(counts):
    for frame in CLIENT_FRAMES:
        write("client_frame", json.dumps(frame, ensure_ascii=False), counts)


def main():
    # From scratch, so a seed whose fixture changed or went away does not linger.
    shutil.rmtree(SEEDS, ignore_errors=True)
    counts = {}
    client_frames(counts)
    # Gemini CLI runs as an ACP agent (`gemini --acp`): its captures seed ACP too.
    acp = sorted((FIXTURES / "acp").glob("*.wire.jsonl"))
    wire("acp_line", acp + sorted((FIXTURES / "gemini").glob("*.wire.jsonl")), counts)
    wire("codex_line", sorted((FIXTURES / "codex").glob("*.wire.jsonl")), counts)
    claude(counts)
    for target in ("client_frame", "acp_line", "codex_line", "claude_line"):
        (SEEDS / target).mkdir(parents=True, exist_ok=True)
        write_dict(target)
        print(f"{target}: {counts.get(target, 0)} seeds", file=sys.stderr)


if __name__ == "__main__":
    main()
