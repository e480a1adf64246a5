#!/usr/bin/env bash
# Print the path of a Python >= 3.12 that actually runs, or explain what to install and exit 1.
# pyenv shims for python3.12/python3.13 exist even when that version is not active and then fail,
# so every candidate is run, not just looked up.
set -u

check='import sys; assert sys.version_info >= (3, 12)'
candidates=()
for name in python3.12 python3.13; do
    if path=$(command -v "$name" 2>/dev/null); then
        candidates+=("$path")
    fi
done
for root in /root/.pyenv "${HOME:-/root}/.pyenv" "${PYENV_ROOT:-/root/.pyenv}"; do
    for minor in 3.12 3.13; do
        for path in "$root"/versions/"$minor"*/bin/python3; do
            [ -x "$path" ] && candidates+=("$path")
        done
    done
done
if path=$(command -v python3 2>/dev/null); then
    candidates+=("$path")
fi

for path in "${candidates[@]}"; do
    if "$path" -c "$check" >/dev/null 2>&1; then
        # Resolve to the real interpreter so the venv does not depend on a shim.
        "$path" -c 'import sys; print(sys.executable)'
        exit 0
    fi
done

cat >&2 <<'MSG'
error: Pristan needs Python >= 3.12 (Django 6.1), and none was found.
  Tried: python3.12, python3.13, ~/.pyenv/versions/3.12*/bin/python3, 3.13*, python3.
  Debian 12 ships Python 3.11 only; there is no `apt-get install python3.12` there. Either:
    - install it with pyenv:  curl https://pyenv.run | bash && pyenv install 3.12
      (build deps: apt-get install build-essential libssl-dev zlib1g-dev libbz2-dev
       libreadline-dev libsqlite3-dev libffi-dev liblzma-dev tk-dev)
    - or with uv:  pip install uv && uv python install 3.12  (then put its python3.12 on PATH)
    - or use a distribution that ships it (Debian 13 "trixie" has python3.13, Ubuntu 24.04 has 3.12),
    - or run the production image instead (see docker-compose.yml).
  Then run make again.
MSG
exit 1
