#!/usr/bin/env bash
# A plan applied under a live application (issue 16): pgbench's TPC-B-like load,
# 4 clients, against a 2M-row pgbench_accounts (scale 20), while pgalign applies
# the online and then the offline plan of one change (a column on
# pgbench_accounts, an index and a foreign key on pgbench_history, a CHECK on
# pgbench_accounts). For each: whether it applied, its retries, how long it
# took without and with the load, the application's transactions and failed
# transactions during the run, and the p99 and maximum latency of the
# transactions that ended during the apply. Prints figures; asserts nothing.
#
#   bench/live_load.sh          # needs root (the server runs as user pgalign)
#
# Environment: PGALIGN (default target/release/pgalign, built when missing),
# SCALE (default 20), CLIENTS (default 4), BENCH_DIR (default /tmp/pgalign-load-bench).
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
W="${BENCH_DIR:-/tmp/pgalign-load-bench}"
P="${PGALIGN:-$repo/target/release/pgalign}"
SCALE="${SCALE:-20}"
CLIENTS="${CLIENTS:-4}"
ALLOW="lock,rewrite,may-fail,ops,authz,scan-under-lock,blocking-index,breaks-clients"
B=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1); [ -n "$B" ] || B=$(pg_config --bindir)
PGBENCH="$B/pgbench"; [ -x "$PGBENCH" ] || PGBENCH=$(command -v pgbench)
[ -x "$P" ] || (cd "$repo" && cargo build --release -q)
id pgalign >/dev/null 2>&1 || useradd --system --user-group --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin pgalign
as() { setpriv --reuid=pgalign --regid=pgalign --init-groups -- "$@"; }
rm -rf "$W"; mkdir -p "$W/c/sock"; chown -R pgalign:pgalign "$W/c"; chmod 700 "$W/c/sock"
as "$B/initdb" -D "$W/c/data" -U postgres -A trust >/dev/null
as "$B/pg_ctl" -D "$W/c/data" -w -l "$W/c/log" -o "-c listen_addresses='' -c unix_socket_directories=$W/c/sock -c port=55433 -c fsync=off -c max_connections=50" start >/dev/null
trap 'as "$B/pg_ctl" -D "$W/c/data" -m immediate -w stop >/dev/null; rm -rf "$W/c"' EXIT
export PGHOST="$W/c/sock" PGPORT=55433 PGUSER=postgres
enc() { python3 -c 'import sys, urllib.parse; print(urllib.parse.quote(sys.argv[1], safe=""))' "$1"; }
url() { echo "postgres://postgres@$(enc "$W/c/sock"):55433/$1"; }
ms_since() { echo $(( ($(date +%s%N) - $1) / 1000000 )); }

psql -X -q -d postgres -c "CREATE DATABASE base"
"$PGBENCH" -i -q -s "$SCALE" base 2>&1 | tail -1
psql -X -q -d base -c "VACUUM ANALYZE"
# The desired schema: the live one with the change.
psql -X -q -d postgres -c "CREATE DATABASE desired TEMPLATE base"
psql -X -q -v ON_ERROR_STOP=1 -d desired <<'SQL'
ALTER TABLE pgbench_accounts ADD COLUMN note text;
CREATE INDEX pgbench_history_aid_idx ON pgbench_history (aid);
ALTER TABLE pgbench_accounts ADD CONSTRAINT pgbench_accounts_abalance_check CHECK (abalance > -1000000000);
ALTER TABLE pgbench_history ADD CONSTRAINT pgbench_history_aid_fkey FOREIGN KEY (aid) REFERENCES pgbench_accounts (aid);
SQL

echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg); $("$PGBENCH" --version), scale $SCALE, $CLIENTS clients"
row() { printf '%-8s %-9s %-8s %-8s %-8s %-9s %-11s %-8s %s\n' "$@"; }
row strategy applied retries quiet_s load_s app_xacts app_failed p99_ms max_ms
for strategy in online offline; do
  db="run_$strategy"
  psql -X -q -d postgres -c "CREATE DATABASE $db TEMPLATE base" -c "CREATE DATABASE quiet_$strategy TEMPLATE base"
  "$P" diff --db "$(url "$db")" --desired "$(url desired)" --strategy "$strategy" -o "$W/$strategy.sql" >/dev/null 2>"$W/$strategy.diff.err" || true
  # Without load first (both databases are copies of base: one fingerprint),
  # so that the load can run 10 s before, during and after the apply and end
  # on its own: pgbench writes its summary and logs only then.
  q0=$(date +%s%N)
  "$P" apply --db "$(url "quiet_$strategy")" --plan "$W/$strategy.sql" --confirm-target "quiet_$strategy" \
    --allow-hazards "$ALLOW" --lock-timeout 2s >"$W/$strategy.quiet" 2>&1 || true
  quiet=$(ms_since "$q0")
  T=$(( 25 + quiet * 4 / 1000 ))
  rm -f "$W"/pgbench_log.*
  (cd "$W" && exec "$PGBENCH" -n -c "$CLIENTS" -j 2 -T "$T" -l --failures-detailed "$db" >"$W/$strategy.pgbench" 2>&1) &
  bench=$!
  sleep 10
  start=$(date +%s%N)
  set +e
  "$P" apply --db "$(url "$db")" --plan "$W/$strategy.sql" --confirm-target "$db" \
    --allow-hazards "$ALLOW" --lock-timeout 2s --session-dir "$W/$strategy.session" >"$W/$strategy.apply" 2>&1
  rc=$?
  set -e
  end=$(date +%s%N)
  wait "$bench" || true
  retries=$(grep -c '"event":"group-retried"' "$W/$strategy.session/journal.jsonl" 2>/dev/null || true)
  # pgbench -l lines: client xact latency_us script epoch_s epoch_us; the
  # latency column holds a word for a failed transaction.
  read -r p99 max < <(cat "$W"/pgbench_log.* 2>/dev/null | awk -v s="$start" -v e="$end" '
      $3 ~ /^[0-9]+$/ { t = ($5 * 1000000 + $6) * 1000; if (t >= s && t <= e) print $3 }' |
    sort -n | awk '{ a[NR] = $1 } END { if (NR == 0) { print "-", "-"; exit }
      i = int(NR * 0.99); if (i < 1) i = 1; printf "%.1f %.1f\n", a[i] / 1000, a[NR] / 1000 }')
  xacts=$(grep -E "^number of transactions actually processed" "$W/$strategy.pgbench" | grep -oE '[0-9]+' | head -1 || true)
  failed=$(grep -E "^number of failed transactions" "$W/$strategy.pgbench" | grep -oE '[0-9]+' | head -1 || true)
  aborted=$(grep -c "aborted in command" "$W/$strategy.pgbench" || true)
  [ "${aborted:-0}" -gt 0 ] && failed="${failed:-0}+${aborted}ab"
  row "$strategy" "$([ $rc -eq 0 ] && echo yes || echo "no($rc)")" "${retries:-0}" \
    "$(awk -v q="$quiet" 'BEGIN { printf "%.1f", q / 1000 }')" \
    "$(awk -v s="$start" -v e="$end" 'BEGIN { printf "%.1f", (e - s) / 1e9 }')" \
    "${xacts:-?}" "${failed:-?}" "$p99" "$max"
  [ $rc -eq 0 ] || tail -4 "$W/$strategy.apply" | sed 's/^/  apply: /'
done
echo "(app_failed: pgbench's failed transactions, +Nab: clients that aborted on an error)"
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
