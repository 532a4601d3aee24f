# Shared by scripts/run and scripts/test: find Python 3.11+, create .venv and
# install a requirements file into it, again only when the file changed.

set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

find_python() {
    local candidate
    for candidate in "${PYTHON:-}" python3.11 python3.12 python3.13 python3; do
        [ -n "$candidate" ] || continue
        if command -v "$candidate" >/dev/null 2>&1 &&
            "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
            echo "$candidate"
            return 0
        fi
    done
    echo "Python 3.11 or newer is needed: install it, or set PYTHON=/path/to/python3.11." >&2
    return 1
}

ensure_venv() {
    local requirements="$1"
    if [ ! -x .venv/bin/python ]; then
        local python
        python="$(find_python)"
        echo "==> Creating .venv with $("$python" --version)"
        "$python" -m venv .venv
    fi
    local stamp=".venv/.installed-$(basename "$requirements")"
    local digest
    digest="$(cat requirements*.txt | sha256sum | cut -d' ' -f1)"
    if [ "$(cat "$stamp" 2>/dev/null || true)" != "$digest" ]; then
        echo "==> Installing $requirements"
        .venv/bin/python -m pip install --quiet --disable-pip-version-check --upgrade pip
        .venv/bin/python -m pip install --quiet --disable-pip-version-check -r "$requirements"
        echo "$digest" >"$stamp"
    fi
}

# Install Debian's PACKAGE unless COMMAND is already there. Needs root or sudo.
ensure_debian_package() {
    local command="$1" package="$2" why="$3"
    if command -v "$command" >/dev/null 2>&1; then
        return 0
    fi
    echo "==> Installing $package $why (apt-get)"
    local sudo=""
    if [ "$(id -u)" -ne 0 ]; then
        sudo="sudo"
    fi
    $sudo apt-get update -q
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q "$package"
}

# The browser tests drive the OS's Chromium (Playwright cannot download one here).
ensure_chromium() {
    ensure_debian_package chromium chromium "for the browser tests"
}

# The catalogue test runs makemessages, which needs GNU gettext's xgettext
# (the desk itself compiles its catalogues with Babel and needs none).
ensure_gettext() {
    ensure_debian_package xgettext gettext "for the catalogue test"
}

# The front-end libraries (Chart.js for the dashboard) from package-lock.json,
# installed again only when the lock file changed.
ensure_node_modules() {
    if ! command -v npm >/dev/null 2>&1; then
        echo "npm is needed for the console's charts: install Node.js 18 or newer (it brings npm)." >&2
        return 1
    fi
    local stamp="node_modules/.installed-package-lock"
    local digest
    digest="$(sha256sum package-lock.json | cut -d' ' -f1)"
    if [ "$(cat "$stamp" 2>/dev/null || true)" != "$digest" ]; then
        echo "==> Installing the front-end libraries (npm ci)"
        npm ci --no-audit --no-fund
        echo "$digest" >"$stamp"
    fi
}
