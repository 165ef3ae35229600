#!/usr/bin/env bash
# Installs a pinned LiteLLM proxy into its own virtualenv, for the tests that run memloom behind a
# real proxy (test/llm/litellm-proxy.test.ts). Idempotent: an existing working install is reused.
# Prints the path of the `litellm` executable on its last line (stdout); progress goes to stderr.
#
#   MEMLOOM_LITELLM_VENV  where the venv lives (default: ~/.cache/memloom/litellm-<version>)
#   PYTHON                the interpreter that creates the venv (default: python3, needs >= 3.9)
set -euo pipefail

LITELLM_VERSION=1.108.7
VENV=${MEMLOOM_LITELLM_VENV:-$HOME/.cache/memloom/litellm-$LITELLM_VERSION}
PYTHON=${PYTHON:-python3}
LITELLM=$VENV/bin/litellm

log() { printf '%s\n' "$*" >&2; }

# `litellm --version` imports the proxy, so it fails on a half-finished or broken install.
installed() {
  [ -x "$LITELLM" ] && "$LITELLM" --version >/dev/null 2>&1
}

if ! installed; then
  log "installing litellm[proxy]==$LITELLM_VERSION into $VENV"
  started=$SECONDS
  # replace a broken venv, but never a folder that is not one
  if [ -e "$VENV" ] && [ ! -f "$VENV/pyvenv.cfg" ]; then
    log "$VENV exists and is not a virtualenv: remove it or set MEMLOOM_LITELLM_VENV elsewhere"
    exit 1
  fi
  rm -rf "$VENV"
  mkdir -p "$(dirname "$VENV")"
  "$PYTHON" -m venv "$VENV"
  # the pip that ensurepip bundles may be old
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade pip >&2
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check \
    "litellm[proxy]==$LITELLM_VERSION" >&2
  if ! installed; then
    log "litellm was installed into $VENV but '$LITELLM --version' fails:"
    "$LITELLM" --version >&2 || true
    exit 1
  fi
  log "installed litellm $LITELLM_VERSION in $((SECONDS - started)) s"
fi

printf '%s\n' "$LITELLM"
