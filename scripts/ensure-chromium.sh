#!/usr/bin/env bash
# Browser tests drive Debian's Chromium. Install it when missing and we are allowed to.
set -euo pipefail
if [[ -x /usr/bin/chromium ]]; then
  /usr/bin/chromium --version
  exit 0
fi
if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null; then
  echo "Chromium is missing: installing Debian's chromium package"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  /usr/bin/chromium --version
  exit 0
fi
echo "Chromium is missing at /usr/bin/chromium. Install it: sudo apt-get install -y chromium" >&2
exit 1
