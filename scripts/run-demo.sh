#!/usr/bin/env bash
# `make run`: the local Stripe sandbox beside the app, the demo workspace connected to it.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=.venv/bin
SANDBOX_PORT="${NEXTORIA_SANDBOX_PORT:-12111}"
export NEXTORIA_STRIPE_API_BASE="${NEXTORIA_STRIPE_API_BASE:-http://127.0.0.1:$SANDBOX_PORT}"
mkdir -p .nextoria

sandbox_pid=""
if [ "$NEXTORIA_STRIPE_API_BASE" = "http://127.0.0.1:$SANDBOX_PORT" ]; then
  "$BIN/python" -m stripe_sandbox serve --port "$SANDBOX_PORT" --db .nextoria/stripe-sandbox.db \
    > .nextoria/stripe-sandbox.log 2>&1 &
  sandbox_pid=$!
  trap '[ -n "$sandbox_pid" ] && kill "$sandbox_pid" 2>/dev/null || true' EXIT INT TERM
  for _ in $(seq 1 50); do
    curl -fsS "http://127.0.0.1:$SANDBOX_PORT/_sandbox/health" >/dev/null 2>&1 && break
    sleep 0.2
  done
fi

"$BIN/nextoria" db upgrade
if [ -n "$sandbox_pid" ]; then
  "$BIN/nextoria" demo seed --stripe-sandbox "$NEXTORIA_STRIPE_API_BASE"
  # A sandbox Connect platform, so Settings → Integrations offers "Connect with Stripe"
  # (unless a platform is configured already). Its keys stay in this process's environment.
  if [ -z "${NEXTORIA_STRIPE_CONNECT_CLIENT_ID:-}" ]; then
    eval "$("$BIN/nextoria" demo platform-env --stripe-sandbox "$NEXTORIA_STRIPE_API_BASE")"
  fi
else
  "$BIN/nextoria" demo seed
fi
echo "Starting the app (production build, one port: http://localhost:3000) ..."
"$BIN/reflex" run --env prod --single-port --frontend-port 3000 --backend-port 3000
