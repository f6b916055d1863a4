#!/usr/bin/env bash
# Remove footfall-edge installed by systemd/install.sh.
#
#   sudo systemd/uninstall.sh                 stop and disable the service, remove the code, the
#                                             venv, the unit and footfall-doctor; KEEP the outbox
#                                             (/var/lib/footfall), the config and credentials
#                                             (/etc/footfall), the model cache and the user
#   sudo systemd/uninstall.sh --purge         also remove those, and the footfall user; refused
#                                             while the outbox holds undelivered counts
#   sudo systemd/uninstall.sh --purge --force also when counts are undelivered (they are lost)
#   systemd/uninstall.sh --root DIR           act on files under DIR instead of /; commands
#                                             (systemctl, userdel) are printed, not run
#   systemd/uninstall.sh --dry-run            print what would be done, change nothing
set -euo pipefail

ROOT=""
DRY_RUN=0
PURGE=0
FORCE=0
while [ $# -gt 0 ]; do
    case "$1" in
        --root) ROOT=$(realpath -m "${2:?--root needs a directory}"); shift 2 ;;
        --dry-run) DRY_RUN=1; shift ;;
        --purge) PURGE=1; shift ;;
        --force) FORCE=1; shift ;;
        -h|--help) sed -n '2,15s/^# \{0,1\}//p' "$0"; exit 0 ;;
        *) echo "uninstall.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
    esac
done

SERVICE_USER=footfall
PREFIX=/opt/footfall
CONFIG=/etc/footfall/footfall.toml
CONFIG_DIR=/etc/footfall
STATE_DIR=/var/lib/footfall
CACHE_DIR=/var/cache/footfall
UNIT=/etc/systemd/system/footfall.service
DOCTOR=/usr/local/sbin/footfall-doctor

log() { printf 'footfall-uninstall: %s\n' "$*"; }
# System-wide commands: printed with --root or --dry-run.
run() {
    if [ -n "$ROOT" ] || [ "$DRY_RUN" = 1 ]; then
        printf 'would run:'
        printf ' %q' "$@"
        printf '\n'
    else
        "$@"
    fi
}
# Removals below the root: printed with --dry-run.
remove() {
    if [ "$DRY_RUN" = 1 ]; then
        printf 'would run: rm -rf'
        printf ' %q' "$@"
        printf '\n'
    else
        rm -rf -- "$@"
    fi
}

# Print how many counts are undelivered in the outbox named by the config (default
# $STATE_DIR/outbox.sqlite3), read-only; "unknown" if it cannot be read. Moved-aside unreadable
# outboxes (*.corrupt-*) count as unknown: they may hold counts nobody has delivered.
undelivered_counts() {
    python3 - "$ROOT" "$CONFIG" "$STATE_DIR/outbox.sqlite3" <<'EOF'
import sqlite3
import sys
import tomllib
from pathlib import Path

root, config, default = sys.argv[1], Path(sys.argv[1] + sys.argv[2]), sys.argv[3]
try:
    configured = tomllib.loads(config.read_text()).get("outbox", {}).get("path") if config.exists() else None
except (OSError, tomllib.TOMLDecodeError):
    configured = None
outbox = Path(root + (configured or default))
if list(outbox.parent.glob(outbox.name + ".corrupt-*")):
    print("unknown")
elif not outbox.exists():
    print(0)
else:
    try:
        with sqlite3.connect(f"file:{outbox}?mode=ro", uri=True) as conn:
            print(conn.execute("SELECT COUNT(*) FROM outbox WHERE delivered_at IS NULL").fetchone()[0])
    except sqlite3.Error:
        print("unknown")
EOF
}

if [ -z "$ROOT" ] && [ "$DRY_RUN" = 0 ] && [ "$(id -u)" != 0 ]; then
    echo "uninstall.sh: run as root (sudo), or use --dry-run / --root DIR" >&2
    exit 1
fi

# Decide about the purge with the service stopped (stopping writes its last partial interval to the
# outbox); a refusal restarts it and removes nothing.
if [ "$PURGE" = 1 ]; then
    was_active=0
    if [ -z "$ROOT" ] && [ "$DRY_RUN" = 0 ] && systemctl is-active --quiet footfall.service; then
        was_active=1
    fi
    run systemctl stop footfall.service || true
    pending=$(undelivered_counts)
    if [ "$pending" != 0 ] && [ "$FORCE" = 0 ]; then
        [ "$was_active" = 0 ] || run systemctl start footfall.service
        echo "uninstall.sh: the outbox holds $pending undelivered interval count(s); nothing removed." >&2
        echo "  Let the service deliver them (a reachable broker, 'footfall-doctor'), or re-run with" >&2
        echo "  --purge --force to delete them, or without --purge to keep them." >&2
        exit 1
    fi
    [ "$pending" = 0 ] || log "--force: deleting $pending undelivered interval count(s)"
fi

run systemctl disable --now footfall.service || log "the unit was not installed"
remove "$ROOT$UNIT" "$ROOT$DOCTOR" "$ROOT$PREFIX"
run systemctl daemon-reload
if [ "$PURGE" = 1 ]; then
    remove "$ROOT$STATE_DIR" "$ROOT$CONFIG_DIR" "$ROOT$CACHE_DIR"
    if [ -n "$ROOT" ] || [ "$DRY_RUN" = 1 ] || getent passwd "$SERVICE_USER" >/dev/null; then
        run userdel "$SERVICE_USER"
    fi
fi
if [ "$DRY_RUN" = 1 ]; then
    log "dry run: nothing was changed"
elif [ "$PURGE" = 1 ]; then
    log "removed footfall-edge and all its data"
else
    log "removed the software; kept $STATE_DIR (outbox, calibration), $CONFIG_DIR, $CACHE_DIR"
    log "and the $SERVICE_USER user: re-run systemd/install.sh to get it back, --purge to remove them"
fi
