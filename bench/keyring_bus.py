#!/usr/bin/env python3
"""Runs a command with a private session bus and an unlocked gnome-keyring (password "bench"),
HOME and the XDG dirs in a temp dir that is removed afterwards; exits with the command's status.

The bus starts nothing on demand (tests/e2e/private_bus.py). On the standard session bus of
`dbus-run-session`, a client that asked early started a second keyring daemon, and Chromium's
calls started a notification daemon and the document portal, whose FUSE mount in the temp dir
made its removal, and so the benchmark, fail after the figures were printed.
usage: bench/keyring_bus.py CMD [ARG...]"""
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests" / "e2e"))
import private_bus  # noqa: E402  (the e2e tests' keyring bus)


def main() -> int:
    if len(sys.argv) < 2:
        print(__doc__.rsplit("\n", 1)[-1], file=sys.stderr)
        return 2
    tmp = Path(tempfile.mkdtemp(prefix="holdfast-bench-bus."))
    procs: list[subprocess.Popen] = []
    try:
        bus, address = private_bus.start(tmp)
        procs.append(bus)
        env = dict(
            os.environ,
            DBUS_SESSION_BUS_ADDRESS=address,
            HOME=str(tmp),
            XDG_DATA_HOME=str(tmp / ".local" / "share"),
            XDG_CONFIG_HOME=str(tmp / ".config"),
            XDG_CACHE_HOME=str(tmp / ".cache"),
            XDG_RUNTIME_DIR=str(tmp),
        )
        procs.append(private_bus.start_keyring(env, "bench"))
        return subprocess.call(sys.argv[1:], env=env)
    finally:
        private_bus.stop_all(procs)
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
