#!/usr/bin/env bash
# Install the Debian packages the service needs, when they are missing; with --tests, also
# what the tests, the benchmarks and make prod-local need.
#   scripts/install-system-packages.sh            # make run: Tesseract with French, DejaVu
#   scripts/install-system-packages.sh --tests    # make test: + Chromium, PostgreSQL, ...
set -euo pipefail

packages=(tesseract-ocr tesseract-ocr-fra tesseract-ocr-eng fonts-dejavu-core)
if [ "${1:-}" = "--tests" ]; then
  # gettext: msgfmt --check, which the catalogue tests run on both catalogues.
  packages+=(chromium poppler-utils qpdf pdftk-java postgresql redis-server gettext
             fonts-breip fonts-femkeklaver fonts-humor-sans fonts-comic-neue fonts-liberation
             # Handwriting fonts of the handprint model (scripts/train_handprint.py trains on
             # the first line, the text-box model on the second too; the tests and
             # benchmarks/scan_accuracy.py measure on the third).
             fonts-bwht fonts-kiloji fonts-seto fonts-rufscript fonts-cabinsketch
             fonts-dancingscript fonts-kristi fonts-kaushanscript fonts-leckerli-one fonts-opendyslexic
             fonts-dkg-handwriting fonts-sjfonts fonts-klee fonts-yusei-magic
             # Kannel's bearerbox and smsbox, and fakesmsc (its test SMSC, in kannel-extras):
             # the SMS tests and benchmarks/send.py run them; `make run` too when installed.
             kannel kannel-extras)
fi
installed() {
  dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"
}
missing=()
for package in "${packages[@]}"; do
  installed "$package" || missing+=("$package")
done
if [ "${1:-}" = "--tests" ]; then
  # LibreOffice, which the PDF-return tests run for real (Draw's PDF import, Writer's forms):
  # the headless packages, unless the desktop ones (which conflict with them) are there.
  for part in writer draw; do
    installed "libreoffice-$part" || installed "libreoffice-$part-nogui" \
      || missing+=("libreoffice-$part-nogui")
  done
  # Node.js and npm, which run pdf.js (Firefox's PDF reader) in the same tests. Any Node on
  # the PATH will do: NodeSource's nodejs package carries its own npm and conflicts with
  # Debian's.
  command -v node >/dev/null 2>&1 || command -v nodejs >/dev/null 2>&1 || missing+=(nodejs)
  command -v npm >/dev/null 2>&1 || missing+=(npm)
fi
[ ${#missing[@]} -eq 0 ] && exit 0

if ! command -v apt-get >/dev/null 2>&1; then
  echo "error: missing system packages: ${missing[*]}" >&2
  echo "       this is not a Debian/Ubuntu machine: install them with your package manager" >&2
  exit 1
fi
if [ "$(id -u)" -ne 0 ]; then
  sudo=sudo
  command -v sudo >/dev/null 2>&1 || {
    echo "error: missing system packages: ${missing[*]}; run as root or install sudo" >&2
    exit 1
  }
else
  sudo=
fi
echo "Installing system packages: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
# Installing server packages must not start services on a machine that has its own.
if [ ! -e /usr/sbin/policy-rc.d ]; then
  printf '#!/bin/sh\nexit 101\n' | $sudo tee /usr/sbin/policy-rc.d >/dev/null
  $sudo chmod +x /usr/sbin/policy-rc.d
  trap '$sudo rm -f /usr/sbin/policy-rc.d' EXIT
fi
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
