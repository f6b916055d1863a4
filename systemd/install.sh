#!/usr/bin/env bash
# Install or upgrade footfall-edge as a systemd service on Raspberry Pi OS Bookworm (64-bit).
#
#   sudo systemd/install.sh [--mirror DIR] [--start]     install or upgrade this checkout
#   systemd/install.sh --dry-run                         print what would be done, change nothing
#   systemd/install.sh --root DIR [--dry-run]            stage the files under DIR instead of /
#
# Idempotent: safe to re-run for upgrades. The config file, the credentials, the calibration and
# the outbox are never overwritten; the code, the venv, the unit and the doctor wrapper are.
# See systemd/README.md for what goes where and why.
set -euo pipefail

usage() {
    sed -n '2,10s/^# \{0,1\}//p' "$0"
    cat <<'EOF'
Options:
  --root DIR    write the files under DIR (a staging root) instead of /; every command (apt-get,
                useradd, python/pip, chown, systemctl) is printed with its target paths, not run
  --dry-run     print every command and file operation, change nothing (with --root: only the
                staged files under DIR are written)
  --mirror DIR  copy the model from a local folder of byte-identical copies (offline install)
  --start       start (or restart) the service at the end
  --no-apt      do not install Debian packages (they are already there)
  -h, --help    this text
EOF
}

SOURCE_DIR=$(cd "$(dirname "$0")/.." && pwd)
ROOT=""
DRY_RUN=0
MIRROR=""
START=0
APT=1
while [ $# -gt 0 ]; do
    case "$1" in
        --root) ROOT=$(realpath -m "${2:?--root needs a directory}"); shift 2 ;;
        --dry-run) DRY_RUN=1; shift ;;
        --mirror) MIRROR=$(realpath "${2:?--mirror needs a directory}"); shift 2 ;;
        --start) START=1; shift ;;
        --no-apt) APT=0; shift ;;
        -h|--help) usage; exit 0 ;;
        *) echo "install.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
    esac
done

# Where things go (the unit expects exactly these paths; keep them in sync with footfall.service).
SERVICE_USER=footfall
PREFIX=/opt/footfall
VENV=$PREFIX/venv
SRC=$PREFIX/src
CONFIG_DIR=/etc/footfall
CREDENTIALS_DIR=$CONFIG_DIR/credentials
STATE_DIR=/var/lib/footfall
CACHE_DIR=/var/cache/footfall
UNIT=/etc/systemd/system/footfall.service
DOCTOR=/usr/local/sbin/footfall-doctor
MODEL=yolox_nano
# Debian packages: the venv tool, the Pi camera stack (apt only: libcamera is not on PyPI), CA
# certificates for the model download, v4l-utils for USB camera diagnostics.
APT_PACKAGES=(python3-venv ca-certificates v4l-utils)
PI_PACKAGES=(python3-picamera2)

log() { printf 'footfall-install: %s\n' "$*"; }
# Commands (apt-get, useradd, python, pip, chown, systemctl) act on the real system: they are
# printed, never run, with --root or --dry-run. Their paths are the target paths, without --root.
run() {
    if [ -n "$ROOT" ] || [ "$DRY_RUN" = 1 ]; then
        printf 'would run:'
        printf ' %q' "$@"
        printf '\n'
    else
        "$@"
    fi
}
# Files are written below the root: always with --root, never with a plain --dry-run.
writes_files() { [ -n "$ROOT" ] || [ "$DRY_RUN" = 0 ]; }
file_op() {
    if writes_files; then
        "$@"
    else
        printf 'would run:'
        printf ' %q' "$@"
        printf '\n'
    fi
}

preflight() {
    if [ -z "$ROOT" ] && [ "$DRY_RUN" = 0 ] && [ "$(id -u)" != 0 ]; then
        echo "install.sh: run as root (sudo), or use --dry-run / --root DIR" >&2
        exit 1
    fi
    python3 -c 'import sys; sys.exit(sys.version_info < (3, 11))' ||
        { echo "install.sh: Python 3.11 or newer is needed (Raspberry Pi OS Bookworm has it)" >&2; exit 1; }
    [ "$(uname -m)" = aarch64 ] || log "note: $(uname -m), not aarch64: not a 64-bit Raspberry Pi OS"
    [ -f "$SOURCE_DIR/pyproject.toml" ] && [ -f "$SOURCE_DIR/systemd/footfall.service" ] ||
        { echo "install.sh: $SOURCE_DIR is not a footfall-edge checkout" >&2; exit 1; }
}

install_packages() {
    [ "$APT" = 1 ] || { log "skipping apt (--no-apt)"; return; }
    local packages=("${APT_PACKAGES[@]}")
    if apt-cache show "${PI_PACKAGES[0]}" >/dev/null 2>&1 || [ -n "$ROOT" ] || [ "$DRY_RUN" = 1 ]; then
        packages+=("${PI_PACKAGES[@]}")
    else
        log "note: ${PI_PACKAGES[0]} is not in this machine's apt sources: USB/RTSP cameras only"
    fi
    run env DEBIAN_FRONTEND=noninteractive apt-get update -q
    # --no-install-recommends keeps the desktop preview stack (Qt, OpenGL) off a headless Pi.
    run env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${packages[@]}"
}

create_user() {
    if [ -z "$ROOT" ] && getent passwd "$SERVICE_USER" >/dev/null; then
        log "user $SERVICE_USER exists"
        return
    fi
    run useradd --system --user-group --home-dir "$STATE_DIR" --no-create-home \
        --shell /usr/sbin/nologin --comment "footfall-edge people counter" "$SERVICE_USER"
}

# Copy the checkout (without venvs, caches and git) to $SRC, replacing the previous copy as a whole.
copy_source() {
    local target=$ROOT$SRC
    file_op mkdir -p "$ROOT$PREFIX"
    file_op rm -rf "$target.new"
    file_op mkdir -p "$target.new"
    if writes_files; then
        tar -C "$SOURCE_DIR" -cf - \
            --exclude='./.*' --exclude='__pycache__' --exclude='*.egg-info' --exclude='./build' \
            --exclude='./dist' --exclude='*.onnx' --exclude='*.mp4' --exclude='./benchmarks/.cache' . |
            tar -C "$target.new" -xf -
    else
        printf 'would run: tar -C %q -cf - . | tar -C %q -xf -\n' "$SOURCE_DIR" "$target.new"
    fi
    file_op rm -rf "$target.old"
    if [ -e "$target" ]; then file_op mv "$target" "$target.old"; fi
    file_op mv "$target.new" "$target"
    file_op rm -rf "$target.old"
    log "code copied to $target"
}

install_python() {
    if [ -z "$ROOT" ] && [ -x "$VENV/bin/python" ] && "$VENV/bin/python" -c 'import sys' 2>/dev/null; then
        log "venv $VENV exists"
    else
        # --system-site-packages: picamera2 and libcamera come from apt, not from PyPI.
        run python3 -m venv --system-site-packages "$VENV"
    fi
    run "$VENV/bin/pip" install --quiet --disable-pip-version-check -e "$SRC"
    # The service cannot write __pycache__ (ProtectSystem=strict): compile once here.
    run "$VENV/bin/python" -m compileall -q "$SRC/edge"
    # apt's simplejpeg (imported by picamera2) is built for numpy 1.x; the venv has numpy 2.x, so
    # the venv gets its own copy (picamera2 issue #1211).
    if [ -n "$ROOT" ] || [ "$DRY_RUN" = 1 ] || ! "$VENV/bin/python" -c 'import simplejpeg' 2>/dev/null; then
        run "$VENV/bin/pip" install --quiet --disable-pip-version-check --ignore-installed --no-deps \
            'simplejpeg>=1.8'
    fi
    local fetch=("$VENV/bin/footfall" models fetch "$MODEL")
    [ -z "$MIRROR" ] || fetch+=(--mirror "$MIRROR")
    run env FOOTFALL_CACHE_DIR="$CACHE_DIR" "${fetch[@]}"
}

# Install $1 as $2 with mode $3, only if $2 does not exist yet (config and secrets survive upgrades).
install_once() {
    if [ -e "$2" ]; then
        log "kept $2"
    else
        file_op install -D -m "$3" "$1" "$2"
        ! writes_files || log "created $2"
    fi
}

# A secret file, only if absent: empty (filled in by the technician) or random.
secret_once() {
    local path=$1 content=$2
    if [ -e "$path" ]; then
        log "kept $path"
    elif writes_files; then
        (umask 077 && printf '%s' "$content" >"$path")
        log "created $path"
    else
        printf 'would run: create %q (mode 0600)\n' "$path"
    fi
}

install_files() {
    file_op install -d -m 0755 "$ROOT$CONFIG_DIR"
    file_op install -d -m 0700 "$ROOT$CREDENTIALS_DIR"
    file_op install -d -m 0750 "$ROOT$STATE_DIR" "$ROOT$CACHE_DIR"
    install_once "$SOURCE_DIR/systemd/footfall.toml.example" "$ROOT$CONFIG_DIR/footfall.toml" 0640
    install_once "$SOURCE_DIR/systemd/calibration.placeholder.json" "$ROOT$STATE_DIR/calibration.json" 0640
    # LoadCredential= needs both files to exist: an empty MQTT password means "none".
    secret_once "$ROOT$CREDENTIALS_DIR/mqtt-password" ""
    secret_once "$ROOT$CREDENTIALS_DIR/api-password" "$(python3 -c 'import secrets; print(secrets.token_urlsafe(18))')"
    file_op install -D -m 0644 "$SOURCE_DIR/systemd/footfall.service" "$ROOT$UNIT"
    file_op install -D -m 0755 "$SOURCE_DIR/systemd/footfall-doctor" "$ROOT$DOCTOR"
    run chown root:"$SERVICE_USER" "$CONFIG_DIR/footfall.toml"
    run chown -R "$SERVICE_USER:$SERVICE_USER" "$STATE_DIR" "$CACHE_DIR"
}

enable_service() {
    run systemctl daemon-reload
    run systemctl enable footfall.service
    if [ "$START" = 1 ]; then
        run systemctl restart footfall.service
    else
        # An upgrade restarts a running service on the new code; a fresh install waits for --start.
        run systemctl try-restart footfall.service
    fi
}

preflight
log "installing $SOURCE_DIR${ROOT:+, files staged under $ROOT}"
install_packages
create_user
copy_source
install_python
install_files
enable_service
log "done. Next: edit $CONFIG_DIR/footfall.toml (camera, MQTT), put the broker password in"
log "$CREDENTIALS_DIR/mqtt-password, run 'sudo footfall-doctor', then 'sudo systemctl start footfall'."
log "The API password is in $CREDENTIALS_DIR/api-password (sudo cat it)."
