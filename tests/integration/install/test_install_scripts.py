"""systemd/install.sh and uninstall.sh, staged under tmp_path with `--root` (nothing system-wide runs).

The staged files are checked against the unit that will run them: every path the unit names
exists where install.sh puts it, the config template validates and points at the staged
calibration, and the credentials are private. Re-runs keep config, secrets and the outbox;
uninstalling keeps the outbox unless purged, and a purge is refused while counts are undelivered.
"""

from __future__ import annotations

import os
import re
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from edge.calibration import load_calibration
from edge.config import load_settings
from edge.deliver import SqliteOutbox
from tests.unit.deliver.deliver_samples import sample_interval

PROJECT_ROOT = Path(__file__).resolve().parents[3]
SYSTEMD = PROJECT_ROOT / "systemd"
INSTALL = SYSTEMD / "install.sh"
UNINSTALL = SYSTEMD / "uninstall.sh"
# Highest `systemd-analyze security` exposure the unit may have (1.6 when written; 10 is unsafe).
MAX_EXPOSURE = 2.0


def run_script(script: Path, *args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", str(script), *map(str, args)], capture_output=True, text=True, timeout=60, check=False
    )


def install(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    done = run_script(INSTALL, "--root", root, *args)
    assert done.returncode == 0, done.stderr
    return done


def would_run(output: str) -> list[str]:
    return [
        line.removeprefix("would run: ") for line in output.splitlines() if line.startswith("would run: ")
    ]


def unit_settings(unit: Path) -> dict[str, list[str]]:
    """`Key=value` lines of a unit file; repeated keys keep every value in order."""
    values: dict[str, list[str]] = {}
    for line in unit.read_text().splitlines():
        if "=" in line and not line.startswith(("#", "[")):
            key, _, value = line.partition("=")
            values.setdefault(key, []).append(value)
    return values


def staged(root: Path, path: str | Path) -> Path:
    return root / str(path).lstrip("/")


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return tmp_path / "root"


def enqueue(outbox_file: Path, count: int, *, delivered: int = 0) -> None:
    with SqliteOutbox(outbox_file, device_id="cam-1") as outbox:
        seqs = [outbox.enqueue(sample_interval(index)) for index in range(count)]
        for seq in seqs[:delivered]:
            outbox.mark_delivered(seq)


def test_install_stages_every_file_where_the_unit_expects_it(root: Path) -> None:
    done = install(root, "--dry-run")
    commands = would_run(done.stdout)
    unit_file = staged(root, "/etc/systemd/system/footfall.service")
    unit = unit_settings(unit_file)
    assert unit_file.read_text() == (SYSTEMD / "footfall.service").read_text()

    # ExecStart: the venv's console script, with the staged config file.
    executable, *arguments = unit["ExecStart"][0].split()
    venv = Path(executable).parents[1]
    assert arguments[:2] == ["run", "--config"]
    assert f"python3 -m venv --system-site-packages {venv}" in commands
    assert f"{venv}/bin/pip install --quiet --disable-pip-version-check -e /opt/footfall/src" in commands
    assert not staged(root, venv).exists()  # commands are only printed
    source = staged(root, "/opt/footfall/src")
    assert (source / "pyproject.toml").read_text() == (PROJECT_ROOT / "pyproject.toml").read_text()
    assert (source / "models" / "manifest.toml").is_file()  # D-005: the manifest is read from there
    assert not (source / ".venv").exists()
    assert not (source / ".git").exists()

    # The config file validates and names the staged calibration, outbox and cache.
    config = staged(root, arguments[2])
    settings = load_settings(config)
    assert load_calibration(staged(root, settings.calibration)).lines[0].line_id == "uncalibrated"
    state_dir = Path("/var/lib") / unit["StateDirectory"][0]
    assert settings.outbox.path == state_dir / "outbox.sqlite3"
    assert settings.calibration.parent == state_dir
    environment = dict(line.split("=", 1) for line in unit["Environment"])
    assert environment["ORT_DISABLE_TELEMETRY"] == "1"
    cache_dir = Path(environment["FOOTFALL_CACHE_DIR"].replace("%C", "/var/cache"))
    assert settings.cache_dir == cache_dir == Path("/var/cache") / unit["CacheDirectory"][0]
    assert f"env FOOTFALL_CACHE_DIR={cache_dir} {venv}/bin/footfall models fetch yolox_nano" in commands
    for directory in (state_dir, cache_dir, Path("/etc") / unit["ConfigurationDirectory"][0]):
        assert staged(root, directory).is_dir()

    # Credentials: private files where LoadCredential= reads them; an empty MQTT password, a random API one.
    credentials = dict(entry.split(":", 1) for entry in unit["LoadCredential"])
    assert set(credentials) == {"FOOTFALL_MQTT_PASSWORD", "FOOTFALL_API_PASSWORD"}
    mqtt_password = staged(root, credentials["FOOTFALL_MQTT_PASSWORD"])
    api_password = staged(root, credentials["FOOTFALL_API_PASSWORD"])
    assert mode(mqtt_password.parent) == 0o700
    assert (mode(mqtt_password), mode(api_password)) == (0o600, 0o600)
    assert mqtt_password.read_text() == ""
    assert re.fullmatch(r"[A-Za-z0-9_-]{24}", api_password.read_text())

    # The service user, the unit enabled, and a doctor wrapper that loads the same credentials.
    (useradd,) = [command for command in commands if command.startswith("useradd ")]
    assert useradd.split()[-1] == unit["User"][0] == "footfall"
    assert "systemctl enable footfall.service" in commands
    doctor = staged(root, "/usr/local/sbin/footfall-doctor")
    assert os.access(doctor, os.X_OK)
    assert re.findall(r"LoadCredential=(\S+)", doctor.read_text()) == unit["LoadCredential"]
    assert f"{executable} doctor --config {arguments[2]}" in doctor.read_text()
    apt = next(command for command in commands if "apt-get install" in command)
    assert {"python3-picamera2", "python3-venv"} <= set(apt.split())


def test_second_run_keeps_config_secrets_calibration_and_outbox(root: Path) -> None:
    install(root)
    config = staged(root, "/etc/footfall/footfall.toml")
    config.write_text(config.read_text().replace('device_id = "cam-1"', 'device_id = "pole-17"'))
    staged(root, "/etc/footfall/credentials/mqtt-password").write_text("s3cret")
    api_password = staged(root, "/etc/footfall/credentials/api-password").read_text()
    calibration = staged(root, "/var/lib/footfall/calibration.json")
    shutil.copyfile(PROJECT_ROOT / "calibration" / "examples" / "demo.json", calibration)
    enqueue(staged(root, "/var/lib/footfall/outbox.sqlite3"), 3)
    source = staged(root, "/opt/footfall/src")
    (source / "stale.py").write_text("left over from an old version")
    (source / "README.md").write_text("edited by hand")

    done = install(root)

    assert 'device_id = "pole-17"' in config.read_text()
    assert staged(root, "/etc/footfall/credentials/mqtt-password").read_text() == "s3cret"
    assert staged(root, "/etc/footfall/credentials/api-password").read_text() == api_password
    assert load_calibration(calibration).lines[0].line_id == "exit"
    with SqliteOutbox(staged(root, "/var/lib/footfall/outbox.sqlite3"), device_id="cam-1") as outbox:
        assert outbox.stats().backlog_rows == 3
    assert done.stdout.count("footfall-install: kept ") == 4
    # The code is replaced as a whole.
    assert not (source / "stale.py").exists()
    assert (source / "README.md").read_text() == (PROJECT_ROOT / "README.md").read_text()


def test_plain_dry_run_changes_nothing() -> None:
    targets = [
        Path(path)
        for path in ("/opt/footfall", "/etc/footfall", "/var/lib/footfall", "/usr/local/sbin/footfall-doctor")
    ]
    before = [path.exists() for path in targets]
    done = run_script(INSTALL, "--dry-run", "--no-apt")
    assert done.returncode == 0, done.stderr
    assert [path.exists() for path in targets] == before
    commands = would_run(done.stdout)
    assert (
        "install -D -m 0644 " + str(SYSTEMD / "footfall.service") + " /etc/systemd/system/footfall.service"
        in commands
    )
    assert not any("apt-get" in command for command in commands)


def test_uninstall_keeps_the_outbox_config_and_cache(root: Path) -> None:
    install(root)
    outbox_file = staged(root, "/var/lib/footfall/outbox.sqlite3")
    enqueue(outbox_file, 2)

    done = run_script(UNINSTALL, "--root", root)

    assert done.returncode == 0, done.stderr
    for removed in (
        "/etc/systemd/system/footfall.service",
        "/usr/local/sbin/footfall-doctor",
        "/opt/footfall",
    ):
        assert not staged(root, removed).exists()
    for kept in (
        "/etc/footfall/footfall.toml",
        "/etc/footfall/credentials/api-password",
        "/var/cache/footfall",
    ):
        assert staged(root, kept).exists()
    with SqliteOutbox(outbox_file, device_id="cam-1") as outbox:
        assert outbox.stats().backlog_rows == 2
    assert "systemctl disable --now footfall.service" in would_run(done.stdout)


def test_purge_is_refused_while_counts_are_undelivered(root: Path) -> None:
    install(root)
    # The check follows the outbox path of the config file.
    config = staged(root, "/etc/footfall/footfall.toml")
    config.write_text(
        config.read_text().replace("/var/lib/footfall/outbox.sqlite3", "/var/lib/footfall/q/o.db")
    )
    outbox_file = staged(root, "/var/lib/footfall/q/o.db")
    enqueue(outbox_file, 3, delivered=1)

    refused = run_script(UNINSTALL, "--root", root, "--purge")

    assert refused.returncode == 1
    assert "the outbox holds 2 undelivered interval count(s); nothing removed" in refused.stderr
    assert staged(root, "/opt/footfall/src").is_dir()
    assert outbox_file.exists()
    assert "systemctl stop footfall.service" in would_run(refused.stdout)  # stopped before counting

    with SqliteOutbox(outbox_file, device_id="cam-1") as outbox:
        outbox.mark_delivered_many(row.seq for row in outbox.pending(10))
    purged = run_script(UNINSTALL, "--root", root, "--purge")
    assert purged.returncode == 0, purged.stderr
    assert [path for path in root.rglob("*") if not path.is_dir()] == []  # only empty parents remain
    assert "userdel footfall" in would_run(purged.stdout)


@pytest.mark.parametrize("leftover", ["undelivered", "corrupt-copy"])
def test_purge_with_force_deletes_undelivered_counts(root: Path, leftover: str) -> None:
    install(root)
    outbox_file = staged(root, "/var/lib/footfall/outbox.sqlite3")
    if leftover == "undelivered":
        enqueue(outbox_file, 1)
    else:  # an unreadable outbox moved aside may hold counts nobody delivered
        outbox_file.with_name("outbox.sqlite3.corrupt-20260105T080000Z").write_bytes(b"junk")

    refused = run_script(UNINSTALL, "--root", root, "--purge")
    assert refused.returncode == 1
    expected = "1" if leftover == "undelivered" else "unknown"
    assert f"the outbox holds {expected} undelivered" in refused.stderr

    forced = run_script(UNINSTALL, "--root", root, "--purge", "--force")
    assert forced.returncode == 0, forced.stderr
    assert not staged(root, "/var/lib/footfall").exists()
    assert not staged(root, "/etc/footfall").exists()


def test_unit_verifies_and_keeps_a_low_exposure(tmp_path: Path) -> None:
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.fail("systemd-analyze not found: install Debian's systemd package (.ci/run does)")
    # verify wants ExecStart to exist: point it at this venv's console script.
    footfall = Path(sys.executable).parent / "footfall"
    unit = tmp_path / "footfall.service"
    unit.write_text(
        (SYSTEMD / "footfall.service").read_text().replace("/opt/footfall/venv/bin/footfall", str(footfall))
    )
    verify = subprocess.run([analyze, "verify", str(unit)], capture_output=True, text=True, check=False)
    assert (verify.returncode, verify.stderr) == (0, "")
    security = subprocess.run(
        [analyze, "security", "--offline=true", str(unit)], capture_output=True, text=True, check=False
    )
    exposure = re.search(r"Overall exposure level for footfall\.service: (\d+\.\d+)", security.stdout)
    assert exposure is not None, security.stdout + security.stderr
    assert float(exposure.group(1)) <= MAX_EXPOSURE
