#!/bin/sh
# Restarts `gshf lm serve` on a checkpoint, under the model name "policy": the trainer's `after`
# command in openai-trainer-http-rm.yaml (generation then points at the model the trainer produced).
# Usage: restart-lm-serve.sh CHECKPOINT
# Env: PORT (default 8000), PIDFILE (default ./lm-serve.pid), GSHF (default: gshf).
set -eu
ckpt="$1"
port="${PORT:-8000}"
pidfile="${PIDFILE:-lm-serve.pid}"
gshf="${GSHF:-gshf}"
if [ -f "$pidfile" ]; then
  old="$(cat "$pidfile")"
  kill "$old" 2>/dev/null || true
  i=0
  while kill -0 "$old" 2>/dev/null; do
    i=$((i + 1))
    [ "$i" -gt 200 ] && { echo "restart-lm-serve: pid $old does not stop" >&2; exit 1; }
    sleep 0.05
  done
fi
# shellcheck disable=SC2086 # GSHF may be a command with arguments ("node dist/src/cli/main.js")
nohup $gshf lm serve --model "$ckpt" --host 127.0.0.1 --port "$port" --model-name policy >/dev/null 2>&1 &
echo $! >"$pidfile"
i=0
until curl -sf "http://127.0.0.1:$port/v1/models" >/dev/null 2>&1; do
  i=$((i + 1))
  [ "$i" -gt 600 ] && { echo "restart-lm-serve: server on port $port did not come up" >&2; exit 1; }
  sleep 0.05
done
