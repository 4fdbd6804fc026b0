#!/usr/bin/env bash
# `--db postgresql://...` against a real PostgreSQL server that this test starts on 127.0.0.1
# (initdb in a temp dir, as the postgres user when run as root), then stops: two bench processes
# write at once, the rows are read back through `webaccel report` and psql.
set -euo pipefail
bin=${WEBACCEL_BIN:?set WEBACCEL_BIN}
models=${WEBACCEL_MODELS_DIR:?set WEBACCEL_MODELS_DIR}
pgbin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n1)
[[ -x "$pgbin/initdb" ]] || { echo "PostgreSQL server not installed (scripts/setup installs it)" >&2; exit 1; }

# initdb runs shell commands redirected to /dev/null; a regular file there (some tool renamed onto it) breaks them.
if [[ ! -c /dev/null ]]; then
  # Not this test's doing; as root (CI) put the device back so the server can start, and say so.
  echo "warning: /dev/null was a regular file (something renamed onto it); restoring the device" >&2
  [[ $(id -u) == 0 ]] && rm -f /dev/null && mknod -m 666 /dev/null c 1 3
  [[ -c /dev/null ]] || { echo "/dev/null is not a character device: restore it with mknod -m 666 /dev/null c 1 3" >&2; exit 1; }
fi

tmp=$(mktemp -d)
chmod 755 "$tmp"
as_db_user=()
if [[ $(id -u) == 0 ]]; then  # initdb refuses to run as root
  chown postgres "$tmp"
  as_db_user=(runuser -u postgres --)
fi
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
stop() {
  "${as_db_user[@]}" "$pgbin/pg_ctl" -D "$tmp/data" -m immediate stop >/dev/null 2>&1 || true
  rm -rf "$tmp"
}
trap stop EXIT
"${as_db_user[@]}" "$pgbin/initdb" -D "$tmp/data" -A trust -U webaccel >/dev/null
"${as_db_user[@]}" "$pgbin/pg_ctl" -D "$tmp/data" -l "$tmp/server.log" -w \
  -o "-p $port -k $tmp -c listen_addresses=127.0.0.1" start >/dev/null
url="postgresql://webaccel@127.0.0.1:$port/postgres"

export DEPRECATE_JSON_OUTPUT=1
small=(bench --models minilm --seq-lens 8,12,16 --iterations 1 -t 1 --models-dir "$models" --no-progress --db "$url")
"$bin" "${small[@]}" 2>"$tmp/a.log" & a=$!
"$bin" "${small[@]}" 2>"$tmp/b.log" & b=$!
wait $a || { cat "$tmp/a.log" >&2; exit 1; }
wait $b || { cat "$tmp/b.log" >&2; exit 1; }

q() { psql -X -h 127.0.0.1 -p "$port" -U webaccel -d postgres -tAc "$1"; }
rows=$(q "SELECT count(*) FROM web_platform_performance")
runs=$(q "SELECT count(*) FROM benchmark_runs WHERE status = 'complete'")
version=$(q "SELECT max(version) FROM webaccel_schema_version")
fks=$(q "SELECT count(*) FROM information_schema.table_constraints WHERE constraint_type = 'FOREIGN KEY'")
[[ "$rows" == 6 && "$runs" == 2 && "$fks" == 7 ]] || { echo "FAIL: rows=$rows runs=$runs fks=$fks" >&2; exit 1; }
n=$("$bin" report --report web_platform --format json --db "$url" |
    python3 -c 'import json,sys; t=json.load(sys.stdin)["tables"][0]["rows"]; print(sum(int(r["n"]) for r in t))')
[[ "$n" == 6 ]] || { echo "FAIL: report read $n rows back" >&2; exit 1; }
"$bin" report --db "postgresql://webaccel@127.0.0.1:1/postgres" 2>"$tmp/err.log" && exit 1
grep -q "cannot connect to PostgreSQL" "$tmp/err.log" || { cat "$tmp/err.log" >&2; exit 1; }
echo "ok   PostgreSQL $port: schema v$version, 7 foreign keys, 6 rows from 2 concurrent runs, read back by webaccel report"
