#!/usr/bin/env bash
# Idempotent bootstrap for atlas_ca on Debian 12 / Ubuntu:
#   1. system packages (OpenSSL GOST engine, GnuTLS certtool, OpenSC, build deps);
#   2. SoftHSM 2 built WITH GOST from Debian's source package, into a versioned cache dir;
#   3. a virtualenv with the project installed in editable mode with its dev extra.
# Each step is skipped when its stamp says it is done; caches live outside the repo.
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
cache_root=${ATLAS_CA_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/atlas-ca}
softhsm_version=2.6.1
softhsm_prefix="$cache_root/softhsm-$softhsm_version-gost"
venv=${ATLAS_CA_VENV:-$here/.venv}
python=${PYTHON:-python3}

log() { printf '[bootstrap] %s\n' "$*" >&2; }

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

apt_packages=(
  openssl libengine-gost-openssl gnutls-bin opensc
  wrk  # the HTTP load generator of bench/ocsp.py and bench/tsp.py
  build-essential pkg-config libssl-dev libsqlite3-dev dpkg-dev
  python3-dev  # Python.h for the C extension atlas_ca.gost._ecverify (gcc: build-essential)
)

missing_packages() {
  local p
  for p in "${apt_packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || printf '%s\n' "$p"
  done
}

step_apt() {
  local missing
  missing=$(missing_packages)
  # Debian's system python needs python3-venv for `python3 -m venv`.
  if ! "$python" -c 'import ensurepip, venv' >/dev/null 2>&1; then missing="$missing python3-venv"; fi
  if [ -z "$missing" ]; then log "system packages: present"; return; fi
  log "system packages: installing $(echo $missing | tr '\n' ' ')"
  as_root apt-get update -qq
  # shellcheck disable=SC2086
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing >/dev/null
}

# A deb-src list made from the machine's own deb entries, kept in a private apt dir so the
# system's apt state is not changed.
make_src_apt_dir() {
  local dir=$1
  mkdir -p "$dir/lists/partial" "$dir/sources.list.d"
  : > "$dir/sources.list"
  local f
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
    [ -f "$f" ] || continue
    grep -E '^deb ' "$f" | sed 's/^deb /deb-src /' >> "$dir/sources.list" || true
  done
  for f in /etc/apt/sources.list.d/*.sources; do
    [ -f "$f" ] || continue
    sed -E 's/^Types:.*/Types: deb-src/' "$f" > "$dir/sources.list.d/$(basename "$f")"
  done
}

step_softhsm() {
  local lib="$softhsm_prefix/lib/softhsm/libsofthsm2.so"
  if [ -f "$softhsm_prefix/.complete" ] && [ -f "$lib" ]; then
    log "SoftHSM with GOST: cached at $softhsm_prefix"; return
  fi
  log "SoftHSM with GOST: building $softhsm_version from Debian's source package (about 2 minutes)"
  local work
  work=$(mktemp -d)
  trap 'rm -rf "$work"' RETURN
  local aptdir="$work/apt"
  make_src_apt_dir "$aptdir"
  local aptopts=(-o "Dir::Etc::SourceList=$aptdir/sources.list" -o "Dir::Etc::SourceParts=$aptdir/sources.list.d"
                 -o "Dir::State::Lists=$aptdir/lists" -o "Debug::NoLocking=1" -o "APT::Sandbox::User=$(id -un)")
  apt-get "${aptopts[@]}" update -qq >/dev/null 2>&1 || true
  (cd "$work" && apt-get "${aptopts[@]}" source --download-only softhsm2 >/dev/null 2>&1) || true
  local dsc orig
  dsc=$(ls "$work"/softhsm2_"$softhsm_version"*.dsc 2>/dev/null | head -n1 || true)
  orig=$(ls "$work"/softhsm2_"$softhsm_version".orig.tar.* 2>/dev/null | head -n1 || true)
  if [ -z "$dsc" ] || [ -z "$orig" ]; then
    log "ERROR: could not fetch softhsm2 $softhsm_version source (.dsc and orig tarball)"; return 1
  fi
  # The .debian.tar.xz may not arrive on this network; the orig tarball is all the build needs.
  local want got
  want=$(awk '/^Checksums-Sha256:/{f=1;next} /^[^ ]/{f=0} f && $3 ~ /orig\.tar/ {print $1}' "$dsc")
  got=$(sha256sum "$orig" | cut -d' ' -f1)
  if [ -z "$want" ] || [ "$want" != "$got" ]; then
    log "ERROR: sha256 of $(basename "$orig") is $got, the .dsc says '$want'"; return 1
  fi
  mkdir -p "$work/src"
  tar -xf "$orig" -C "$work/src" --strip-components=1
  (
    cd "$work/src"
    ./configure --prefix="$softhsm_prefix" --enable-gost --with-crypto-backend=openssl \
      --disable-p11-kit --disable-non-paged-memory >"$work/configure.log" 2>&1 \
      || { tail -n 30 "$work/configure.log" >&2; exit 1; }
    grep -q 'Found GOST engine' "$work/configure.log" || { log "ERROR: configure did not find the GOST engine"; exit 1; }
    make -j"$(nproc)" >"$work/make.log" 2>&1 || { tail -n 30 "$work/make.log" >&2; exit 1; }
    make install >"$work/install.log" 2>&1 || { tail -n 30 "$work/install.log" >&2; exit 1; }
  )
  touch "$softhsm_prefix/.complete"
  log "SoftHSM with GOST: installed at $softhsm_prefix"
}

step_venv() {
  local stamp="$venv/.atlas-ca-stamp" want
  # Reinstall (and so recompile the C extension in place) when the build inputs change.
  want=$(cat "$here/pyproject.toml" "$here/setup.py" "$here"/src/atlas_ca/gost/_ecverify*.[ch] \
    | sha256sum | cut -d' ' -f1)
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] && [ -x "$venv/bin/atlas-ca" ] \
    && compgen -G "$here/src/atlas_ca/gost/_ecverify*.so" >/dev/null; then
    log "virtualenv: up to date at $venv"; return
  fi
  log "virtualenv: installing the project into $venv"
  [ -x "$venv/bin/python" ] || "$python" -m venv "$venv"
  "$venv/bin/python" -m pip install -q --upgrade pip >/dev/null
  "$venv/bin/python" -m pip install -q -e "$here[dev]" 2> >(grep -v "is ignored: it is neither a file nor a directory" >&2)
  echo "$want" > "$stamp"
}

# The environment the tests and the demo read: where SoftHSM-GOST lives.
write_env() {
  cat > "$here/.atlas-ca-env" <<ENV
export ATLAS_CA_SOFTHSM_MODULE="$softhsm_prefix/lib/softhsm/libsofthsm2.so"
export ATLAS_CA_SOFTHSM_UTIL="$softhsm_prefix/bin/softhsm2-util"
ENV
}

step_apt
step_softhsm
step_venv
write_env
log "ready"
