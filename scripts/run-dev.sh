#!/usr/bin/env bash
# `make run`'s last step: a Celery worker (beat embedded) and Django's development server.
# Ctrl-C, a TERM to this script, or either process exiting stops both.
# Usage: scripts/run-dev.sh HOST PORT
set -euo pipefail

host=${1:-127.0.0.1}
port=${2:-8000}
venv=${VENV:-.venv}
var_dir=${PRISTAN_VAR_DIR:-var}
mkdir -p "$var_dir"

worker_pid=
server_pid=
say() { echo "run: $*" >&2 2>/dev/null || true; }
alive() { [ -n "$1" ] && kill -0 "$1" 2>/dev/null; }
cleanup() {
    # Runs on every exit. Must not stop half-way: no -e, and a closed terminal or pipe
    # (SIGPIPE on the messages) must not kill it before both processes are stopped.
    set +e
    trap - EXIT INT TERM HUP
    trap '' PIPE
    alive "$server_pid" && kill -TERM "$server_pid" 2>/dev/null
    # A warm shutdown lets the worker finish the letter in hand.
    alive "$worker_pid" && kill -TERM "$worker_pid" 2>/dev/null
    say "stopping the web server and the Celery worker"
    local tries=30
    while [ $tries -gt 0 ] && { alive "$server_pid" || alive "$worker_pid"; }; do
        sleep 0.5
        tries=$((tries - 1))
    done
    for pid in "$server_pid" "$worker_pid"; do
        alive "$pid" && kill -KILL "$pid" 2>/dev/null
        [ -n "$pid" ] && wait "$pid" 2>/dev/null
    done
    say "stopped"
}
trap cleanup EXIT
trap 'exit 0' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

"$venv/bin/celery" -A config worker -B --loglevel=INFO --concurrency 2 \
    --schedule "$var_dir/celerybeat-schedule" &
worker_pid=$!

# The server runs in the background too, so that a signal to this script is handled at once
# (bash runs traps only between commands, never while a foreground command runs).
"$venv/bin/python" manage.py runserver "$host:$port" --noreload &
server_pid=$!

echo
echo "run: Celery worker started (pid $worker_pid), web server started (pid $server_pid)"
echo "run: Pristan is at http://$host:$port/  (Ctrl-C stops both)"
echo

# Return as soon as either process ends; then the EXIT trap stops the other one.
status=0
wait -n "$worker_pid" "$server_pid" || status=$?
if ! alive "$worker_pid"; then
    say "the Celery worker exited (status $status)"
elif ! alive "$server_pid"; then
    say "the web server exited (status $status)"
fi
exit "$status"
