#!/usr/bin/env bash
# What the apply gate costs at 10,000 tables: `pgalign diff` of the 10%-mutated
# pair (which also names the lint engine's findings in the plan) and the
# engine's pass over that plan against the live database (`lint --db
# --no-probes`, what `apply` runs before its first group). Prints figures only.
#
#   bench/gate.sh            # needs a release build (target/release/pgalign), root
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
W="${BENCH_DIR:-/tmp/pgalign-gate-bench}"; P="${PGALIGN:-$repo/target/release/pgalign}"
G="$repo/../shared/bench/gen_schema.py"; [ -f "$G" ] || G=/work/shared/bench/gen_schema.py
B=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1); [ -n "$B" ] || B=$(pg_config --bindir)
id pgalign >/dev/null 2>&1 || useradd --system --user-group --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin pgalign
as() { setpriv --reuid=pgalign --regid=pgalign --init-groups -- "$@"; }
mkdir -p "$W"
[ -f "$W/base.sql" ] || python3 "$G" --tables 10000 --seed 1 >"$W/base.sql"
[ -f "$W/mut.sql" ] || python3 "$G" --tables 10000 --seed 1 --mutate 10 >"$W/mut.sql"
rm -rf "$W/c"; mkdir -p "$W/c/sock"; chown -R pgalign:pgalign "$W/c"; chmod 700 "$W/c/sock"
as "$B/initdb" -D "$W/c/data" -U postgres -A trust >/dev/null
as "$B/pg_ctl" -D "$W/c/data" -w -l "$W/c/log" -o "-c listen_addresses='' -c unix_socket_directories=$W/c/sock -c port=55432 -c fsync=off -c max_locks_per_transaction=1024" start >/dev/null
trap 'as "$B/pg_ctl" -D "$W/c/data" -m immediate -w stop >/dev/null; rm -rf "$W/c"' EXIT
export PGHOST="$W/c/sock" PGPORT=55432 PGUSER=postgres
psql -X -q -d postgres -c "CREATE DATABASE b" -c "CREATE DATABASE m"
psql -X -q -v ON_ERROR_STOP=1 --single-transaction -d b -f "$W/base.sql" >/dev/null
psql -X -q -v ON_ERROR_STOP=1 --single-transaction -d m -f "$W/mut.sql" >/dev/null
psql -X -q -d b -c ANALYZE; psql -X -q -d m -c ANALYZE
enc() { python3 -c 'import sys, urllib.parse; print(urllib.parse.quote(sys.argv[1], safe=""))' "$1"; }
DB="postgres://postgres@$(enc "$W/c/sock"):55432/b"; M="postgres://postgres@$(enc "$W/c/sock"):55432/m"
echo "load: $(cut -d' ' -f1-3 /proc/loadavg)"
for i in 1 2 3; do /usr/bin/time -f "diff %e s (%U s user, %M kB)" "$P" diff --db "$DB" --desired "$M" -o "$W/plan.sql" 2>&1 | tail -1 || true; done
echo "steps: $(grep -c '^-- pgalign:step' "$W/plan.sql")"
for i in 1 2 3; do /usr/bin/time -f "lint --db --no-probes %e s (%U s user)" "$P" lint --db "$DB" --no-probes --fail-on blocker "$W/plan.sql" >/dev/null 2>"$W/lint.err" || true; tail -1 "$W/lint.err"; done
PGALIGN_TIMINGS=1 "$P" diff --db "$DB" --desired "$M" -o "$W/plan.sql" 2>&1 | grep -E "both sides|planning took|naming" || true
echo "load: $(cut -d' ' -f1-3 /proc/loadavg)"
