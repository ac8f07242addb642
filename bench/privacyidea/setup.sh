#!/usr/bin/env bash
# Installs privacyIDEA from PyPI into a virtual environment, configures it on
# SQLite in WAL mode, creates its database and an administrator, and starts
# it under gunicorn with 4 workers on 127.0.0.1.
#
#   bench/privacyidea/setup.sh DIR PORT ADMIN_PASSWORD
#
# DIR receives the venv (reused when present), pi.cfg, keys, the database,
# the log and gunicorn.pid. What each setting changes is in docs/performance.md.
set -euo pipefail
dir=$(realpath -m "$1"); port=$2; password=$3
workers=${PI_WORKERS:-4}
mkdir -p "$dir"
cd "$dir"

if [ ! -x venv/bin/pi-manage ]; then
  python3 -m venv venv
  venv/bin/pip install -q --upgrade pip
  venv/bin/pip install -q privacyidea gunicorn
fi
venv/bin/pip show privacyidea 2>/dev/null | sed -n 's/^Version: /privacyIDEA version: /p'

rm -f pi.sqlite pi.sqlite-wal pi.sqlite-shm privacyidea.log
rand() { venv/bin/python -c 'import secrets; print(secrets.token_urlsafe(24))'; }
cat > pi.cfg <<CFG
SQLALCHEMY_DATABASE_URI = 'sqlite:///$dir/pi.sqlite'
# Wait for the write lock instead of failing with "database is locked" while
# another worker commits (SQLite allows one writer at a time).
SQLALCHEMY_ENGINE_OPTIONS = {'connect_args': {'timeout': 30}}
SECRET_KEY = '$(rand)'
PI_PEPPER = '$(rand)'
PI_ENCFILE = '$dir/enckey'
PI_AUDIT_KEY_PRIVATE = '$dir/private.pem'
PI_AUDIT_KEY_PUBLIC = '$dir/public.pem'
PI_LOGFILE = '$dir/privacyidea.log'
PI_LOGLEVEL = 30
PI_ENGINE_REGISTRY_CLASS = 'shared'
PI_NODE = 'bench'
PI_BASE_URL = 'http://127.0.0.1:$port'
SUPERUSER_REALM = ['superuser']
CFG
export PRIVACYIDEA_CONFIGFILE="$dir/pi.cfg"
pim() { venv/bin/pi-manage "$@" >>setup.log 2>&1 || { echo "pi-manage $1 $2 failed:" >&2; tail -20 setup.log >&2; return 1; }; }
[ -f enckey ] || pim setup create_enckey
[ -f private.pem ] || pim setup create_audit_keys
pim setup create_tables
pim admin add admin -p "$password"
# WAL is a property of the database file: set once, it stays.
venv/bin/python - "$dir/pi.sqlite" <<'PY'
import sqlite3, sys
c = sqlite3.connect(sys.argv[1])
mode = c.execute("PRAGMA journal_mode=WAL").fetchone()[0]
sync = c.execute("PRAGMA synchronous").fetchone()[0]
print(f"privacyIDEA SQLite: journal_mode={mode}, synchronous={sync} (2 = FULL)")
PY

if curl -s -o /dev/null "http://127.0.0.1:$port/" 2>/dev/null; then
  echo "127.0.0.1:$port is already in use" >&2
  exit 1
fi
venv/bin/gunicorn -w "$workers" -b "127.0.0.1:$port" --log-level warning \
  "privacyidea.app:create_app(config_name='production', config_file='$dir/pi.cfg', silent=True)" \
  >gunicorn.log 2>&1 &
echo $! >gunicorn.pid
for _ in $(seq 1 120); do
  if curl -fsS -o /dev/null "http://127.0.0.1:$port/healthz/" 2>/dev/null; then break; fi
  sleep 0.5
done
kill -0 "$(cat gunicorn.pid)" 2>/dev/null && curl -fsS -o /dev/null "http://127.0.0.1:$port/healthz/" || { echo "privacyIDEA did not start; see $dir/gunicorn.log" >&2; exit 1; }
echo "privacyIDEA serving on 127.0.0.1:$port (gunicorn pid $(cat gunicorn.pid), $workers workers)"
