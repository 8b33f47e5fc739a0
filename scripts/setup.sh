#!/usr/bin/env bash
# Set up a fresh machine: system packages (OCR, Chromium for browser tests), a virtualenv with
# CPU-only torch first (a looser requirement would pull a multi-GB CUDA build), then the project.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3.11}
command -v "$PYTHON" >/dev/null 2>&1 || PYTHON=python3
VENV=${VENV:-.venv}
WITH_BROWSER=${WITH_BROWSER:-1}

apt_packages=(tesseract-ocr tesseract-ocr-eng tesseract-ocr-hin poppler-utils fonts-dejavu-core fonts-lohit-deva docker-compose)
[ "$WITH_BROWSER" = 1 ] && apt_packages+=(chromium chromium-driver)
missing=()
for pkg in "${apt_packages[@]}"; do
  dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    echo "installing system packages: ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  else
    echo "warning: missing system packages (${missing[*]}); OCR or browser tests will be skipped" >&2
  fi
fi

if [ ! -x "$VENV/bin/python" ]; then
  "$PYTHON" -m venv "$VENV"
fi
"$VENV/bin/pip" install -q --upgrade pip
"$VENV/bin/pip" install -q torch==2.13.0
"$VENV/bin/pip" install -q -c constraints.txt -e ".[test]"
echo "setup done: $VENV"
