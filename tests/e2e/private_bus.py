"""A private D-Bus session bus for a test keyring, shared by the e2e tests, bench/app_memory.py
and bench/keyring_bus.py.

The bus starts no service on demand: the standard session bus would start a second keyring
daemon, with the real HOME, for a client that asks before the test's own daemon owns the name,
and the test's daemon would then give up ("another secret service is running")."""
from __future__ import annotations

import subprocess
import time
from pathlib import Path

CONFIG = """<busconfig><type>session</type><listen>unix:path={socket}</listen><auth>EXTERNAL</auth>
<policy context="default"><allow send_destination="*" eavesdrop="true"/><allow eavesdrop="true"/>
<allow own="*"/></policy></busconfig>
"""


def start(tmp: Path) -> tuple[subprocess.Popen, str]:
    """Starts a bus with its socket in `tmp`; returns the daemon and its address."""
    config = tmp / "bus.conf"
    config.write_text(CONFIG.format(socket=tmp / "bus"))
    bus = subprocess.Popen(
        ["dbus-daemon", "--nofork", "--print-address=1", f"--config-file={config}"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert bus.stdout is not None
    return bus, bus.stdout.readline().strip()


def wait_unlocked(address: str) -> None:
    """Waits until the default collection answers unlocked: the keyring's ready line can come
    before the daemon owns its bus name and before the login collection is unlocked."""
    deadline = time.monotonic() + 10
    last = ""
    while time.monotonic() < deadline:
        out = subprocess.run(
            [
                "dbus-send",
                f"--bus={address}",
                "--print-reply",
                "--dest=org.freedesktop.secrets",
                "/org/freedesktop/secrets/aliases/default",
                "org.freedesktop.DBus.Properties.Get",
                "string:org.freedesktop.Secret.Collection",
                "string:Locked",
            ],
            capture_output=True,
            text=True,
        )
        last = out.stdout + out.stderr
        if out.returncode == 0 and "boolean false" in last:
            return
        time.sleep(0.02)
    raise AssertionError(f"the test keyring never came unlocked: {last}")


def start_keyring(env: dict[str, str], password: str) -> subprocess.Popen:
    """Starts gnome-keyring's Secret Service on the bus of `env` (DBUS_SESSION_BUS_ADDRESS), its
    login collection unlocked with `password`, and waits until it answers unlocked."""
    keyring = subprocess.Popen(
        ["gnome-keyring-daemon", "--foreground", "--unlock", "--components=secrets"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=env,
    )
    assert keyring.stdin is not None and keyring.stdout is not None
    keyring.stdin.write(password)
    keyring.stdin.close()
    # Its control line, or nothing when XDG_RUNTIME_DIR names its control directory; either way
    # it is not ready yet (see wait_unlocked).
    keyring.stdout.readline()
    assert keyring.poll() is None, f"the keyring exited with status {keyring.returncode}"
    wait_unlocked(env["DBUS_SESSION_BUS_ADDRESS"])
    return keyring


def stop_all(procs: list[subprocess.Popen], timeout: float = 5) -> None:
    """Stops `procs`, last started first: a signal, then a kill after `timeout` seconds."""
    for p in reversed(procs):
        if p.poll() is None:
            p.terminate()
            try:
                p.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
