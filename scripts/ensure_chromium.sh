#!/usr/bin/env bash
# The admin browser test drives Debian's Chromium (Playwright cannot download one here).
# Installs it when missing: apt-get as root, sudo otherwise; one clear line when neither works.
set -euo pipefail
# CHROMIUM_PATH: only for the test of this script (the browser test uses /usr/bin/chromium).
[ -x "${CHROMIUM_PATH:-/usr/bin/chromium}" ] && exit 0
if [ "$EUID" -eq 0 ]; then
    SUDO=()
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    SUDO=(sudo -n)
else
    echo "error: the browser test needs Debian's chromium; run 'sudo apt-get install -y chromium' (not root, no passwordless sudo)" >&2
    exit 1
fi
if ! command -v apt-get >/dev/null 2>&1; then
    echo "error: the browser test needs chromium and apt-get is not available; install chromium at /usr/bin/chromium" >&2
    exit 1
fi
echo "make test: installing Debian's chromium for the admin browser test" >&2
log=$(mktemp)
if ! { "${SUDO[@]}" apt-get update -qq && \
       DEBIAN_FRONTEND=noninteractive "${SUDO[@]}" apt-get install -y -qq chromium; } >"$log" 2>&1; then
    echo "error: 'apt-get install chromium' failed (last line: $(tail -n 1 "$log"))" >&2
    rm -f "$log"
    exit 1
fi
rm -f "$log"
