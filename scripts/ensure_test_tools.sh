#!/usr/bin/env bash
# What `make test` needs beyond Python: Debian's chromium (the admin browser test drives it;
# Playwright cannot download one here) and pgbouncer (the PgBouncer tests start a real one).
# Installs the missing ones: apt-get as root, sudo otherwise; one clear line when neither works.
set -euo pipefail
# CHROMIUM_PATH / PGBOUNCER_PATH: only for the test of this script.
missing=()
[ -x "${CHROMIUM_PATH:-/usr/bin/chromium}" ] || missing+=(chromium)
[ -x "${PGBOUNCER_PATH:-/usr/sbin/pgbouncer}" ] || missing+=(pgbouncer)
[ ${#missing[@]} -eq 0 ] && exit 0
packages="${missing[*]}"
if [ "$EUID" -eq 0 ]; then
    SUDO=()
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    SUDO=(sudo -n)
else
    echo "error: the test suite needs Debian's $packages; run 'sudo apt-get install -y $packages' (not root, no passwordless sudo)" >&2
    exit 1
fi
if ! command -v apt-get >/dev/null 2>&1; then
    echo "error: the test suite needs $packages and apt-get is not available; install them (chromium at /usr/bin/chromium, pgbouncer at /usr/sbin/pgbouncer)" >&2
    exit 1
fi
echo "make test: installing Debian's $packages for the test suite" >&2
log=$(mktemp)
if ! { "${SUDO[@]}" apt-get update -qq && \
       DEBIAN_FRONTEND=noninteractive "${SUDO[@]}" apt-get install -y -qq "${missing[@]}"; } >"$log" 2>&1; then
    echo "error: 'apt-get install $packages' failed (last line: $(tail -n 1 "$log"))" >&2
    rm -f "$log"
    exit 1
fi
rm -f "$log"
