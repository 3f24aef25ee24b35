#!/usr/bin/env bash
# Logins per second and database work per login, Cyrus's libsasl2 (with Debian's sql plugin,
# libsasl2-modules-sql) vs puresasl's libsasl2.so.2, through the same C program
# (benches/c/sasl_bench.c), the user in PostgreSQL and in SQLite. Not a test.
#   benches/c_bench_sql.sh [ITERATIONS]   (default 1000; SCRAM uses a tenth)
# Needs root (PostgreSQL runs as the postgres user through setpriv, as tests/sql/harness.rs
# does), postgresql-15, sqlite3 and strace. Cyrus's sql plugin (libsasl2-modules-sql) is not
# installed on the system (when present, it changes Cyrus's behaviour in the other tests, and
# this machine is shared): its package is downloaded and unpacked into this run's temporary
# directory, and Cyrus finds it there through SASL_PATH, next to links to the system's other
# plugins. Nothing outside the temporary directory changes.
#
# Each (engine, template, library, mechanism) is run twice: once to time it, with the server's
# statement log off, and once with 20 logins to count the database work per login:
#   PostgreSQL: statements and connections from the server's log (log_statement = all,
#               log_connections = on), both libraries;
#   SQLite:     opens of the database file (strace), both libraries; statements from Cyrus's
#               own debug log ("sql plugin doing query/statement"). Ours sends the same statements on
#               SQLite as on PostgreSQL (one per distinct statement; pipelined there).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
iterations="${1:-1000}"
count_iterations=20
pg_bin=/usr/lib/postgresql/15/bin
realm=bench.example.org

work="$(mktemp -d)"
chmod 755 "$work"
pg_pid=
cleanup() {
  if [ -n "$pg_pid" ]; then kill -INT "$pg_pid" 2>/dev/null || true; wait "$pg_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT
trap "exit 130" INT TERM

system_plugins=/usr/lib/x86_64-linux-gnu/sasl2
mkdir "$work/deb" "$work/sasl2"
(cd "$work/deb" && apt-get download -qq libsasl2-modules-sql 2>/dev/null && dpkg-deb -x ./*.deb .)
ln -s "$system_plugins"/* "$work/sasl2/"
ln -sf "$work/deb$system_plugins"/libsql.so* "$work/sasl2/"

lib_dir="$(dirname "$("$root/ffi/build.sh" --release)")"
cc -O2 -Wall -Wno-cast-function-type -o "$work/bench-cyrus" "$root/benches/c/sasl_bench.c" -lsasl2
cc -O2 -Wall -Wno-cast-function-type -I"$root/include" -o "$work/bench-puresasl" \
  "$root/benches/c/sasl_bench.c" -L"$lib_dir" -l:libsasl2.so.2

# A throwaway PostgreSQL on loopback: password (SCRAM, PostgreSQL 15's default) over TCP.
as_pg() { setpriv --reuid=postgres --regid=postgres --init-groups -- "$@"; }
mkdir "$work/pg"
chown postgres: "$work/pg"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
(cd "$work/pg" && as_pg "$pg_bin/initdb" -D data -U postgres -A trust --auth-host=scram-sha-256 \
  --no-sync -E UTF8 --locale=C >/dev/null)
# exec: $! is then the server itself (setpriv execs too), which cleanup stops by pid.
(cd "$work/pg" && exec setpriv --reuid=postgres --regid=postgres --init-groups -- \
  "$pg_bin/postgres" -D data -p "$port" -k "$work/pg" \
  -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200 >"$work/pg/server.log" 2>&1) &
pg_pid=$!
for _ in $(seq 100); do
  "$pg_bin/pg_isready" -q -h 127.0.0.1 -p "$port" && break
  sleep 0.1
done
psql() { as_pg /usr/bin/psql -X -q -A -t -v ON_ERROR_STOP=1 -h "$work/pg" -p "$port" -U postgres "$@"; }
psql -d postgres -c "CREATE ROLE sasl LOGIN PASSWORD 'dbpw'" -c "CREATE DATABASE sasl OWNER sasl"
schema="CREATE TABLE users (username text NOT NULL, realm text NOT NULL, userPassword text,
  PRIMARY KEY (username, realm));
  INSERT INTO users VALUES ('bob', '$realm', 'pw2');"
psql -d sasl -c "SET ROLE sasl" -c "$schema"
sqlite3 "$work/users.db" "$schema"
chmod 644 "$work/users.db"

pg_logging() { # on|off
  if [ "$1" = on ]; then
    psql -d postgres -c "ALTER SYSTEM SET log_statement = 'all'" \
      -c "ALTER SYSTEM SET log_connections = on" -c "SELECT pg_reload_conf()" >/dev/null
  else
    psql -d postgres -c "ALTER SYSTEM RESET log_statement" \
      -c "ALTER SYSTEM RESET log_connections" -c "SELECT pg_reload_conf()" >/dev/null
  fi
  sleep 0.3
}

# Cyrus's template (one column per property) and Postfix's (one column, no %p).
templates=(
  "cyrus|SELECT %p FROM users WHERE username = '%u' AND realm = '%r'"
  "postfix|SELECT userPassword FROM users WHERE username = '%u' AND realm = '%r'"
)

options_file() { # engine template
  local file="$work/options-$1"
  {
    echo "pwcheck_method: auxprop"
    echo "auxprop_plugin: sql"
    echo "sql_select: $2"
    if [ "$1" = pgsql ]; then
      echo "sql_engine: pgsql"
      echo "sql_hostnames: 127.0.0.1:$port"
      echo "sql_user: sasl"
      echo "sql_passwd: dbpw"
      echo "sql_database: sasl"
    else
      echo "sql_engine: sqlite3"
      echo "sql_database: $work/users.db"
    fi
  } >"$file"
  echo "$file"
}

bench() { # library mechanism n [extra env...]
  local library="$1" mech="$2" n="$3"
  shift 3
  if [ "$library" = cyrus ]; then
    env SASL_PATH="$work/sasl2" "$@" "$work/bench-cyrus" "$work/none.db" bob pw2 "$n" "$mech"
  else
    env LD_LIBRARY_PATH="$lib_dir" "$@" "$work/bench-puresasl" "$work/none.db" bob pw2 "$n" "$mech"
  fi
}

rate() { sed -E 's/.* ([0-9.]+) auth\/s.*/\1/'; }

printf '| engine | template | mechanism | Cyrus logins/s | puresasl logins/s | ratio | Cyrus per login | puresasl per login |\n'
printf '|---|---|---|---|---|---|---|---|\n'
for engine in pgsql sqlite3; do
  for entry in "${templates[@]}"; do
    template_name="${entry%%|*}"
    options="$(options_file "$engine" "${entry#*|}")"
    for mech in PLAIN LOGIN CRAM-MD5 DIGEST-MD5 SCRAM-SHA-1 SCRAM-SHA-256; do
      n="$iterations"
      case "$mech" in SCRAM-*) n=$((iterations / 10)) ;; esac
      declare -A speed=() work_done=()
      for library in cyrus puresasl; do
        out="$(bench "$library" "$mech" "$n" SASL_BENCH_OPTIONS="$options" 2>&1)" || {
          speed[$library]="failed"
          work_done[$library]="$(echo "$out" | head -1)"
          continue
        }
        speed[$library]="$(echo "$out" | rate)"
        if [ "$engine" = pgsql ]; then
          pg_logging on
          from=$(stat -c %s "$work/pg/server.log")
          bench "$library" "$mech" "$count_iterations" SASL_BENCH_OPTIONS="$options" >/dev/null 2>&1 || true
          sleep 0.3
          new="$(tail -c +"$((from + 1))" "$work/pg/server.log")"
          statements=$(echo "$new" | grep -cE 'LOG: +(statement|execute)|ERROR: ' || true)
          connections=$(echo "$new" | grep -c 'connection authorized: user=sasl' || true)
          pg_logging off
          work_done[$library]="$(awk -v s="$statements" -v c="$connections" -v n="$count_iterations" \
            'BEGIN { printf "%.2g statements, %.2g connections", s / n, c / n }')"
        else
          trace="$work/strace.$library"
          out="$(strace -f -qq -e trace=openat -o "$trace" env \
            SASL_BENCH_COUNT="sql plugin doing" SASL_PATH="$work/sasl2" \
            $( [ "$library" = puresasl ] && echo LD_LIBRARY_PATH="$lib_dir" ) \
            SASL_BENCH_OPTIONS="$options" "$work/bench-$library" "$work/none.db" bob pw2 \
            "$count_iterations" "$mech" 2>&1)" || true
          opens=$(grep -c "users.db\"" "$trace" || true)
          if [ "$library" = cyrus ]; then
            queries="$(echo "$out" | sed -nE 's/.* ([0-9.]+) "sql plugin doing" per auth.*/\1/p')"
            work_done[$library]="$queries statements, $(awk -v o="$opens" -v n="$count_iterations" \
              'BEGIN { printf "%.2g", o / n }') file opens"
          else
            work_done[$library]="$(awk -v o="$opens" -v n="$count_iterations" \
              'BEGIN { printf "%.2g", o / n }') file opens"
          fi
        fi
      done
      ratio="$(awk -v a="${speed[cyrus]}" -v b="${speed[puresasl]}" \
        'BEGIN { if (a > 0 && b > 0) printf "%.1fx", b / a; else print "-" }')"
      printf '| %s | %s | %s | %s | %s | %s | %s | %s |\n' "$engine" "$template_name" "$mech" \
        "${speed[cyrus]}" "${speed[puresasl]}" "$ratio" "${work_done[cyrus]}" "${work_done[puresasl]}"
      unset speed work_done
    done
  done
done
