# Sourced by the install scripts: apt_install WHAT-IF-MISSING PKG... installs the Debian packages
# that are missing, when running as root with apt-get; otherwise it warns and carries on.
apt_updated=0
apt_install() {
  local consequence=$1; shift
  local missing=()
  for p in "$@"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null; then
    echo "[install] apt-get install ${missing[*]}"
    if [ "$apt_updated" = 0 ]; then apt-get update -q >/dev/null || true; apt_updated=1; fi
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}" >/dev/null \
      || echo "[install] warning: could not install ${missing[*]}; $consequence"
  else
    echo "[install] warning: ${missing[*]} missing and not root; $consequence"
  fi
}
