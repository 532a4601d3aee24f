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

# PgBouncer, for the tests that run behind a transaction pooler (scripts/test).
ensure_pgbouncer() {
    ensure_debian_package /usr/sbin/pgbouncer pgbouncer "for the tests behind a transaction pooler"
}

# Start a PgBouncer of our own (never the Debian service) in transaction
# pooling mode in front of the PostgreSQL at HOST PORT, every database on it
# reachable through it for USER (and PASSWORD, if the server asks for one);
# wait until it answers and set PGBOUNCER_PORT. The port is PGBOUNCER_PORT
# when set, else the first free one from 6432 (a Debian service or another
# run of this script may hold 6432). The caller's EXIT trap must call
# stop_pgbouncer, which copies its log to test-artifacts/pgbouncer.log.
PGBOUNCER_DIR=""
start_pgbouncer() {
    local host="$1" server_port="$2" user="$3" password="${4:-}"
    local port="${PGBOUNCER_PORT:-}"
    if [ -z "$port" ]; then
        for port in $(seq 6432 6462); do
            port_is_free "$port" && break
        done
    fi
    if ! port_is_free "$port"; then
        echo "Port $port on 127.0.0.1 is taken: set PGBOUNCER_PORT to a free one." >&2
        return 1
    fi
    PGBOUNCER_DIR="$(mktemp -d -t helpdesk-pgbouncer.XXXXXX)"
    # The sizes: the test run's clients (pytest, a Celery worker thread, the
    # live server's threads) need a handful of server connections at once.
    cat >"$PGBOUNCER_DIR/pgbouncer.ini" <<INI
[databases]
* = host=$host port=$server_port

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = $port
unix_socket_dir =
auth_type = trust
auth_file = $PGBOUNCER_DIR/userlist.txt
admin_users = $user
stats_users = $user
pool_mode = transaction
default_pool_size = 20
min_pool_size = 0
reserve_pool_size = 5
max_client_conn = 200
max_db_connections = 40
ignore_startup_parameters = extra_float_digits
log_connections = 0
log_disconnections = 0
logfile = $PGBOUNCER_DIR/pgbouncer.log
pidfile = $PGBOUNCER_DIR/pgbouncer.pid
INI
    # Clients are trusted (it listens on 127.0.0.1 only); the password, if
    # any, is the one PgBouncer gives the server.
    printf '"%s" "%s"\n' "$user" "$password" >"$PGBOUNCER_DIR/userlist.txt"
    chmod 600 "$PGBOUNCER_DIR/userlist.txt"
    local as_user=()
    if [ "$(id -u)" -eq 0 ]; then
        # PgBouncer refuses to run as root: it runs as postgres (nobody on a
        # machine without PostgreSQL's server), which owns its files.
        local owner=postgres
        id -u postgres >/dev/null 2>&1 || owner=nobody
        chown -R "$owner" "$PGBOUNCER_DIR"
        as_user=(--user="$owner")
    fi
    /usr/sbin/pgbouncer --daemon --quiet "${as_user[@]}" "$PGBOUNCER_DIR/pgbouncer.ini"
    local _
    for _ in $(seq 50); do
        if pgbouncer_answers "$port" "$user"; then
            PGBOUNCER_PORT="$port"
            export PGBOUNCER_PORT
            return 0
        fi
        sleep 0.2
    done
    echo "PgBouncer did not answer on 127.0.0.1:$port within 10 s; its log:" >&2
    cat "$PGBOUNCER_DIR/pgbouncer.log" >&2 || true
    stop_pgbouncer
    return 1
}

port_is_free() {
    ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# A query through it to PostgreSQL's maintenance database, and its admin
# console's SHOW CONFIG saying transaction pooling: ours, and working.
pgbouncer_answers() {
    .venv/bin/python - "$1" "$2" <<'PY' 2>/dev/null
import sys

import psycopg

url = f"postgresql://{sys.argv[2]}@127.0.0.1:{sys.argv[1]}"
with psycopg.connect(f"{url}/postgres", connect_timeout=2, prepare_threshold=None) as conn:
    conn.execute("SELECT 1")
with psycopg.connect(f"{url}/pgbouncer", autocommit=True, prepare_threshold=None) as admin:
    config = {row[0]: row[1] for row in admin.execute("SHOW CONFIG").fetchall()}
sys.exit(0 if config.get("pool_mode") == "transaction" else 1)
PY
}

stop_pgbouncer() {
    [ -n "$PGBOUNCER_DIR" ] || return 0
    local pid
    pid="$(cat "$PGBOUNCER_DIR/pgbouncer.pid" 2>/dev/null || true)"
    if [ -n "$pid" ]; then
        kill "$pid" 2>/dev/null || true
        local _
        for _ in $(seq 50); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
    fi
    mkdir -p test-artifacts
    cp "$PGBOUNCER_DIR/pgbouncer.log" test-artifacts/pgbouncer.log 2>/dev/null || true
    rm -rf "$PGBOUNCER_DIR"
    PGBOUNCER_DIR=""
}
