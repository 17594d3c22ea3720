#!/usr/bin/env bash
# The soak of tests/test_soak.py, longer: more members, more of the checklist each, and so
# more kills (one every 0.5-3 s while two workers are up). Prints the walk's figures.
#   bench/soak.sh            # 500 members x 12 items
#   MEMBERS=1000 ITEMS=27 bench/soak.sh
set -euo pipefail
cd "$(dirname "$0")/.."
TUSOI_SOAK_MEMBERS="${MEMBERS:-500}" TUSOI_SOAK_ITEMS="${ITEMS:-12}" \
    .venv/bin/pytest -q -s tests/test_soak.py
