"""Fixtures for end-to-end tests of the real Holdfast window.

Each test gets: its own HOLDFAST_HOME, its own X server (Xvfb), its own D-Bus session with a real
unlocked gnome-keyring, and its own tauri-driver (which drives WebKitWebDriver, which starts the
app). Everything is stopped when the test ends.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import urllib3
from selenium import webdriver
from selenium.webdriver.common.options import ArgOptions

import private_bus  # this folder: the test keyring's bus

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(os.environ.get("HOLDFAST_BIN", ROOT / "target" / "debug" / "holdfast"))
SEED = ROOT / "target" / "debug" / "examples" / "seed_templates"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Tinyproxy:
    """A real tinyproxy with Basic auth on a loopback port, leaving from `bind`."""

    def __init__(self, tmp, port: int, bind: str) -> None:
        conf = tmp / f"tinyproxy-{bind}.conf"
        conf.write_text(
            f"Port {port}\nListen 127.0.0.1\nBind {bind}\nTimeout 60\nAllow 127.0.0.1\n"
            f'LogFile "{tmp}/tp-{bind}.log"\nPidFile "{tmp}/tp-{bind}.pid"\nBasicAuth e2e e2e-pw\n'
        )
        self.proc = subprocess.Popen(
            ["tinyproxy", "-d", "-c", str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                return
            except OSError:
                assert time.monotonic() < deadline, "tinyproxy did not start"
                time.sleep(0.02)

    def stop(self) -> None:
        self.proc.kill()
        self.proc.wait()


@dataclass
class Procs:
    """Child processes to stop at teardown, newest first."""

    items: list[subprocess.Popen] = field(default_factory=list)

    def add(self, p: subprocess.Popen) -> subprocess.Popen:
        self.items.append(p)
        return p

    def stop(self) -> None:
        private_bus.stop_all(self.items)


def start_xvfb(procs: Procs) -> str:
    # -displayfd: Xvfb picks a free display and writes its number once it accepts clients.
    r, w = os.pipe()
    procs.add(
        subprocess.Popen(
            ["Xvfb", "-displayfd", str(w), "-screen", "0", "1280x800x24", "-nolisten", "tcp"],
            pass_fds=[w],
            stderr=subprocess.DEVNULL,
        )
    )
    os.close(w)
    with os.fdopen(r) as f:
        number = f.readline().strip()
    assert number, "Xvfb did not start"
    return f":{number}"


def start_session_bus(procs: Procs, tmp: Path) -> str:
    bus, address = private_bus.start(tmp)
    procs.add(bus)
    assert address, "dbus-daemon did not start"
    env = {k: v for k, v in os.environ.items() if k != "XDG_RUNTIME_DIR"}
    env.update(DBUS_SESSION_BUS_ADDRESS=address, HOME=str(tmp), XDG_DATA_HOME=str(tmp / "data"))
    procs.add(private_bus.start_keyring(env, "e2e-unlock"))
    return address


@dataclass
class AppEnv:
    """One isolated home plus the environment the app and the CLI run with."""

    home: Path
    env: dict[str, str]

    def cli(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        out = subprocess.run([str(BIN), *args], env=self.env, capture_output=True, text=True, timeout=60)
        if check:
            assert out.returncode == 0, f"holdfast {' '.join(args)} failed: {out.stderr}"
        return out

    def list_json(self) -> list[dict]:
        return json.loads(self.cli("template", "list", "--json").stdout)

    def secret(self, username: str) -> str | None:
        out = subprocess.run(
            ["secret-tool", "lookup", "service", "holdfast", "username", username],
            env=self.env,
            capture_output=True,
            text=True,
        )
        return out.stdout if out.returncode == 0 else None

    def seed(self, n: int) -> None:
        subprocess.run([str(SEED), str(n)], env=self.env, check=True, capture_output=True, timeout=300)


@pytest.fixture
def app_env(request):
    procs = Procs()
    tmp = Path(tempfile.mkdtemp(prefix="holdfast-e2e-"))
    try:
        display = start_xvfb(procs)
        bus = start_session_bus(procs, tmp)
        env = dict(os.environ)
        env.pop("XDG_RUNTIME_DIR", None)
        env.update(
            HOLDFAST_HOME=str(tmp / "home"),
            # Browsers the app launches keep their ~/.config and ~/.pki in the temp dir too.
            HOME=str(tmp / "user-home"),
            XDG_CONFIG_HOME=str(tmp / "user-home" / ".config"),
            XDG_CACHE_HOME=str(tmp / "user-home" / ".cache"),
            # The clock check stays on loopback: a closed port answers at once.
            HOLDFAST_NTP_SERVERS="127.0.0.1:9",
            # No public IP-info service is asked where an exit is.
            HOLDFAST_GEO_URLS="off",
            DISPLAY=display,
            DBUS_SESSION_BUS_ADDRESS=bus,
            # No desktop portal or accessibility bus to activate on the private session bus.
            GTK_USE_PORTAL="0",
            NO_AT_BRIDGE="1",
            # Software rendering: no GPU under Xvfb.
            WEBKIT_DISABLE_COMPOSITING_MODE="1",
            LIBGL_ALWAYS_SOFTWARE="1",
        )
        yield AppEnv(home=tmp / "home", env=env), procs
    finally:
        procs.stop()
        shutil.rmtree(tmp, ignore_errors=True)


def wait_http(url: str, proc: subprocess.Popen, timeout: float = 20.0) -> None:
    """Polls until tauri-driver answers; there is no readiness event to wait on."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, "tauri-driver exited"
        try:
            with urllib.request.urlopen(url, timeout=1):
                return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"{url} did not answer in {timeout}s")


@pytest.fixture(scope="session", autouse=True)
def desktop_binary():
    """Fails at once, not by a WebDriver hang, when the binary lacks the desktop app."""
    version = subprocess.run([str(BIN), "--version"], capture_output=True, text=True, check=True).stdout
    if "desktop app included" not in version:
        pytest.fail(f"{BIN} is a CLI-only build ({version.strip()}): cargo build --features gui")


@pytest.fixture
def open_app(app_env):
    """Returns a function that starts the app window and gives a WebDriver for it."""
    env, procs = app_env
    drivers: list[webdriver.Remote] = []

    def start() -> webdriver.Remote:
        # tauri-driver has now and then dropped the new-session request of a fresh app (the
        # connection closed without an answer; seen once in CI after seven good starts). A real
        # start-up failure of the app fails both attempts.
        try:
            return start_once()
        except urllib3.exceptions.ProtocolError:
            return start_once()

    def start_once() -> webdriver.Remote:
        port, native = free_port(), free_port()
        driver_proc = procs.add(
            subprocess.Popen(
                [
                    "tauri-driver",
                    "--port",
                    str(port),
                    "--native-port",
                    str(native),
                    "--native-driver",
                    shutil.which("WebKitWebDriver") or "/usr/bin/WebKitWebDriver",
                ],
                env=env.env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        )
        wait_http(f"http://127.0.0.1:{port}/status", driver_proc)
        opts = ArgOptions()
        opts.set_capability("browserName", "wry")
        opts.set_capability("tauri:options", {"application": str(BIN)})
        try:
            d = webdriver.Remote(command_executor=f"http://127.0.0.1:{port}", options=opts)
        except urllib3.exceptions.ProtocolError:
            driver_proc.kill()
            driver_proc.wait()
            raise
        drivers.append(d)
        return d

    yield env, start
    for d in drivers:
        try:
            d.quit()
        except Exception:  # the app may already be gone; teardown must still stop processes
            pass


class Postgres:
    """A real PostgreSQL (initdb + pg_ctl) on a free loopback port; as root it runs as the user
    holdfast-pg that scripts/setup.sh test creates (PostgreSQL refuses root)."""

    OWNER, PASSWORD = "owner", "owner-Pa55"

    def __init__(self, tmp: Path) -> None:
        self.dir = tmp / "pg"
        self.dir.mkdir()
        self.bin = sorted(Path("/usr/lib/postgresql").glob("*/bin"))[-1]
        self.port = free_port()
        root = os.geteuid() == 0
        if root:
            shutil.chown(self.dir, "holdfast-pg")
            os.chmod(tmp, 0o755)
        (self.dir / "pw").write_text(self.PASSWORD)
        if root:
            shutil.chown(self.dir / "pw", "holdfast-pg")
        self.as_pg = ["runuser", "-u", "holdfast-pg", "--"] if root else []
        subprocess.run(
            [*self.as_pg, str(self.bin / "initdb"), "-D", str(self.dir / "data"), "-U", self.OWNER,
             "--pwfile", str(self.dir / "pw"), "--auth", "scram-sha-256", "--no-sync", "-E", "UTF8", "--locale", "C"],
            check=True, capture_output=True,
        )
        self.start()
        self.sql("postgres", "CREATE DATABASE team")

    def start(self) -> None:
        opts = f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.dir} -c fsync=off"
        subprocess.run(
            [*self.as_pg, str(self.bin / "pg_ctl"), "-D", str(self.dir / "data"), "-l", str(self.dir / "log"),
             "-o", opts, "-w", "start"],
            check=True, capture_output=True,
        )

    def stop(self) -> None:
        subprocess.run(
            [*self.as_pg, str(self.bin / "pg_ctl"), "-D", str(self.dir / "data"), "-m", "immediate", "-w", "stop"],
            capture_output=True,
        )

    def sql(self, db: str, sql: str) -> str:
        out = subprocess.run(
            [str(self.bin / "psql"), "-h", "127.0.0.1", "-p", str(self.port), "-U", self.OWNER, "-d", db,
             "-v", "ON_ERROR_STOP=1", "-X", "-A", "-t", "-c", sql],
            env={**os.environ, "PGPASSWORD": self.PASSWORD}, capture_output=True, text=True, check=True,
        )
        return out.stdout.strip()

    def url(self, user: str) -> str:
        return f"postgres://{user}@127.0.0.1:{self.port}/team?sslmode=disable"


@pytest.fixture
def postgres():
    tmp = Path(tempfile.mkdtemp(prefix="holdfast-e2e-pg-"))
    pg = Postgres(tmp)
    try:
        yield pg
    finally:
        pg.stop()
        shutil.rmtree(tmp, ignore_errors=True)
