#!/usr/bin/env bash
# `make run`'s last step: a Celery worker (beat embedded) and Django's development server.
# Ctrl-C, a TERM to this script, or the web server exiting stops both.
#
# The worker depends on the broker the settings use (CELERY_BROKER_URL, from the environment or
# .env):
# - filesystem:// (the embedded mode): `--pool solo`, one task at a time in the worker process
#   itself, and the worker is started again whenever it exits (unless it keeps exiting right
#   after it starts: see MAX_QUICK_EXITS). With this broker Celery runs its synchronous loop and
#   billiard's blocking prefork pool, whose processes share one task pipe behind one lock: a pool
#   process killed while idle leaves the lock held, and the worker then takes tasks but never
#   runs them. The filesystem broker deletes a message when the worker
#   receives it, so the letter a dead worker had in hand is queued again by beat's
#   requeue_stuck_letters sweep (every 60 s, once its claim is 2 minutes old).
# - anything else (Redis): `--pool prefork --concurrency 2`; the worker exiting stops both.
#
# The worker runs in a process group of its own: a worker killed with SIGKILL leaves its beat
# process behind, which must be stopped with it (two beats would run every schedule twice).
# Usage: scripts/run-dev.sh HOST PORT
set -euo pipefail
# Whatever the server and the worker create (the queue, beat's schedule, uploads) is private.
umask 077

host=${1:-127.0.0.1}
port=${2:-8000}
venv=${VENV:-.venv}
var_dir=${PRISTAN_VAR_DIR:-var}
mkdir -p "$var_dir"

# A worker that exits this many times in a row less than QUICK_EXIT seconds after it started
# is broken (a configuration error, a database that is not there): give up instead of looping.
QUICK_EXIT=10
MAX_QUICK_EXITS=5

worker_pid=
server_pid=
say() { echo "run: $*" >&2 2>/dev/null || true; }
alive() { [ -n "$1" ] && kill -0 "$1" 2>/dev/null; }
# The worker's process group: the main process and whatever it started (pool, beat).
kill_worker_group() { [ -n "$worker_pid" ] && kill "-$1" -- "-$worker_pid" 2>/dev/null; }
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
    alive "$server_pid" && kill -KILL "$server_pid" 2>/dev/null
    kill_worker_group KILL
    for pid in "$server_pid" "$worker_pid"; do
        [ -n "$pid" ] && wait "$pid" 2>/dev/null
    done
    say "stopped"
}
trap cleanup EXIT
trap 'exit 0' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

# Letters print PRISTAN_PUBLIC_URL: unless the environment or .env sets it (the settings read
# .env into the environment), the server's own address, for the web server and the worker alike.
read -r broker public_url < <("$venv/bin/python" -c 'import os
from config import settings
print(settings.CELERY_BROKER_URL, os.environ.get("PRISTAN_PUBLIC_URL", ""))')
if [ -z "${broker:-}" ]; then
    say "cannot read the settings (see the error above)"
    exit 1
fi
export PRISTAN_PUBLIC_URL=${public_url:-http://$host:$port}
if [[ $broker == filesystem://* ]]; then
    # --concurrency 1: the solo pool runs one task at a time anyway, and the worker takes no more
    # messages than that from the queue (concurrency x prefetch multiplier 1).
    pool=(--pool solo --concurrency 1)
    restart_worker=1
else
    pool=(--pool prefork --concurrency 2)
    restart_worker=0
fi

worker_started=0
start_worker() {
    # setsid: a process group of its own (see above); bash starts a background command outside
    # job control in a process that leads no group, so setsid execs the worker in place and
    # $! is the worker's process id and its group's.
    setsid "$venv/bin/celery" -A config worker -B --loglevel=INFO "${pool[@]}" \
        --schedule "$var_dir/celerybeat-schedule" &
    worker_pid=$!
    worker_started=$SECONDS
}

start_worker

# The server runs in the background too, so that a signal to this script is handled at once
# (bash runs traps only between commands, never while a foreground command runs).
"$venv/bin/python" manage.py runserver "$host:$port" --noreload &
server_pid=$!

echo
echo "run: Celery worker started (pid $worker_pid, ${pool[*]}), web server started (pid $server_pid)"
echo "run: Pristan is at http://$host:$port/  (Ctrl-C stops both)"
echo "run: letters print $PRISTAN_PUBLIC_URL/ (PRISTAN_PUBLIC_URL)"
echo

quick_exits=0
while true; do
    # Return as soon as either process ends; a signal to this script interrupts the wait and
    # its trap exits, and the EXIT trap stops both.
    status=0
    ended=
    wait -n -p ended "$worker_pid" "$server_pid" || status=$?
    if [ "$ended" != "$worker_pid" ]; then
        say "the web server exited (status $status)"
        exit "$status"
    fi
    say "the Celery worker exited (status $status)"
    # What it started may outlive it (its beat process after a SIGKILL).
    kill_worker_group KILL || true
    if [ "$restart_worker" != 1 ]; then
        exit "$status"
    fi
    if [ $((SECONDS - worker_started)) -lt $QUICK_EXIT ]; then
        quick_exits=$((quick_exits + 1))
    else
        quick_exits=0
    fi
    if [ $quick_exits -ge $MAX_QUICK_EXITS ]; then
        say "the Celery worker exited $quick_exits times in a row right after starting: giving up"
        exit "$status"
    fi
    sleep 1
    start_worker
    say "Celery worker restarted (pid $worker_pid); letters it had in hand are queued again" \
        "by the requeue_stuck_letters sweep within about 3 minutes"
done
