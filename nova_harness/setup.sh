#!/usr/bin/env bash
# Create the Nova harness's virtual environment and install Nova 34 into it.
#
#   bash nova_harness/setup.sh [VENV]      (VENV defaults to .venv-nova)
#
# The environment is separate from the suite's .venv: Nova pins many OpenStack
# libraries, and the suite talks to the harness over HTTP only. Prints the time
# the install took.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/.." && pwd)"
venv="${1:-$root/.venv-nova}"

start=$(date +%s)
python3 -m venv "$venv"
"$venv/bin/pip" install -q -r "$here/requirements.txt" -c "$here/constraints.txt"
echo "installed Nova's environment in $venv in $(( $(date +%s) - start )) s"
echo "start it with: (cd $root && $venv/bin/python -m nova_harness --port 8774)"
