# Shared by bin/run and bin/test: a virtual environment with the project's
# dependencies, rebuilt when pyproject.toml changes.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
stamp=".venv/.installed-$(sha1sum pyproject.toml | cut -c1-12)-${PSA_EXTRAS:-base}"
if [ ! -f "$stamp" ]; then
  # pip's notes about this machine's unused local indexes are noise here.
  .venv/bin/python -m pip install --quiet --upgrade pip 2> >(grep -v "^WARNING: Location" >&2)
  .venv/bin/python -m pip install --quiet -e ".${PSA_EXTRAS:+[$PSA_EXTRAS]}" \
    2> >(grep -v -e "^WARNING: Location" >&2)
  rm -f .venv/.installed-*
  touch "$stamp"
fi
export PATH="$PWD/.venv/bin:$PATH"
