# Sourced by the scripts: one build cache outside the clone, so a fresh clone on a warm
# machine rebuilds only this crate, and the cargo bin dir on PATH.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/switchboard-target}"
export PATH="${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"
# The project-local agent CLIs (scripts/install-tools.sh), unless the caller chose others.
_switchboard_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
if [ -z "${SWITCHBOARD_CLAUDE_BIN:-}" ] && [ -x "$_switchboard_root/agents/node_modules/.bin/claude" ]; then
  export SWITCHBOARD_CLAUDE_BIN="$_switchboard_root/agents/node_modules/.bin/claude"
fi
# Codex, Gemini CLI and the Claude ACP adapter are found on PATH.
case ":$PATH:" in
  *":$_switchboard_root/agents/node_modules/.bin:"*) ;;
  *) [ -d "$_switchboard_root/agents/node_modules/.bin" ] && export PATH="$PATH:$_switchboard_root/agents/node_modules/.bin" ;;
esac
unset _switchboard_root
