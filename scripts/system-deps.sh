#!/usr/bin/env bash
# Install the Debian packages Pristan needs, only those missing. Fast (dpkg only) when all are there.
# Usage: scripts/system-deps.sh [--with-chromium]
set -euo pipefail

# libharfbuzz-subset0: WeasyPrint subsets fonts with it instead of fontTools (a PDF: ~50 ms
# instead of ~150 ms of CPU here).
packages=(gettext fonts-dejavu-core poppler-utils libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0)
if [ "${1:-}" = "--with-chromium" ]; then
    packages+=(chromium)
    # npm fetches axe-core for the accessibility tests (make node-deps). Any npm will do: Debian's
    # package, or the one inside NodeSource's nodejs (which conflicts with Debian's npm).
    command -v npm >/dev/null 2>&1 || packages+=(npm)
fi

missing=()
for pkg in "${packages[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed'; then
        missing+=("$pkg")
    fi
done

if [ ${#missing[@]} -eq 0 ]; then
    exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
    echo "system-deps: missing ${missing[*]} and no apt-get here; install them by hand. Continuing." >&2
    exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
    echo "system-deps: missing ${missing[*]}; not root, so not installing them." >&2
    echo "system-deps: run: sudo apt-get install ${missing[*]}   (continuing without them)" >&2
    exit 0
fi

echo "system-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}"
