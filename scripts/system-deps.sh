#!/usr/bin/env bash
# Installs the system packages pip cannot bring, when missing.
#   run:  libharfbuzz-subset0 (fast font subsetting), a CJK font (fonts-noto-cjk) and an emoji
#         font (fonts-symbola: a consumer's 😊 in a record is a glyph, not a box) for PDFs
#   test: the above, plus poppler-utils (pdffonts/pdftotext) and chromium (browser tests)
#   bench: the test packages, plus wrk (the load generator of bench/run.py)
set -euo pipefail
want="${1:-run}"
missing=()
ldconfig -p 2>/dev/null | grep -q libharfbuzz-subset || missing+=(libharfbuzz-subset0)
fc-list 2>/dev/null | grep -qiE "Noto (Sans|Serif) CJK|WenQuanYi" || missing+=(fonts-noto-cjk)
fc-list 2>/dev/null | grep -qi "Symbola" || missing+=(fonts-symbola)
if [ "$want" = "test" ] || [ "$want" = "bench" ]; then
  command -v pdffonts >/dev/null || missing+=(poppler-utils)
  [ -x /usr/bin/chromium ] || missing+=(chromium)
fi
if [ "$want" = "bench" ]; then
  command -v wrk >/dev/null || missing+=(wrk)
fi
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null; then
  echo "Installing system packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  # Wait (up to 10 minutes) for another apt or dpkg run to let go of its lock instead of
  # failing at once.
  apt-get -o DPkg::Lock::Timeout=600 update -qq
  apt-get -o DPkg::Lock::Timeout=600 install -y -qq "${missing[@]}" >/dev/null
else
  echo "Missing system packages: ${missing[*]}" >&2
  echo "Install them first, e.g.: sudo apt-get install -y ${missing[*]}" >&2
  exit 1
fi
