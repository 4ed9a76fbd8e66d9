"""The installed package's app, started the way the desktop menu starts it.

Run by scripts/test-package.sh after `apt-get install ./holdfast_*.deb`, with HOLDFAST_BIN set to
the `holdfast` on PATH and HOLDFAST_INSTALLED_DESKTOP to the package's desktop entry; skipped in
the ordinary end-to-end run, which tests the binary in target/.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import WebDriverWait

from conftest import BIN

DESKTOP = os.environ.get("HOLDFAST_INSTALLED_DESKTOP")
pytestmark = pytest.mark.skipif(
    not DESKTOP, reason="tests the installed package: run by scripts/test-package.sh"
)
WAIT = 30


def desktop_entry(path: str) -> dict[str, str]:
    """The [Desktop Entry] group of a .desktop file as key -> value."""
    entry: dict[str, str] = {}
    group = None
    for line in Path(path).read_text().splitlines():
        line = line.strip()
        if line.startswith("["):
            group = line
        elif group == "[Desktop Entry]" and "=" in line and not line.startswith("#"):
            key, value = line.split("=", 1)
            entry[key.strip()] = value.strip()
    return entry


def test_the_menu_entry_starts_the_installed_app_and_its_window_shows_the_cli_data(open_app):
    assert DESKTOP is not None
    entry = desktop_entry(DESKTOP)
    assert entry.get("Type") == "Application" and entry.get("Terminal") == "false"
    command = entry["Exec"].split()
    exe = shutil.which(command[0])
    assert exe == str(BIN), f"the menu's Exec={entry['Exec']} is the holdfast on PATH the test drives"
    assert len(command) == 1, "the menu starts the app with no arguments, as run.sh does"
    for size in (16, 32, 48, 64, 128, 256, 512):
        icon = Path(f"/usr/share/icons/hicolor/{size}x{size}/apps/{entry['Icon']}.png")
        assert icon.is_file(), f"the menu's icon is installed at {size}x{size}: {icon}"

    env, start = open_app
    env.cli("template", "add", "pkg-smoke", "--timezone", "Europe/Berlin", "--locale", "de-DE")
    d = start()
    assert d.title == "Holdfast"
    WebDriverWait(d, WAIT).until(
        EC.presence_of_element_located((By.CSS_SELECTOR, '[data-testid="template-row"]'))
    )
    rows = d.find_elements(By.CSS_SELECTOR, '[data-testid="template-row"]')
    assert [r.get_attribute("data-name") for r in rows] == ["pkg-smoke"], (
        "the installed app reads the same home as the installed CLI"
    )

    # A desktop groups the window under the menu entry by its WM_CLASS.
    found = subprocess.run(
        ["xdotool", "search", "--onlyvisible", "--class", f"^{entry['StartupWMClass']}$"],
        env=env.env,
        capture_output=True,
        text=True,
        timeout=WAIT,
    )
    assert found.stdout.split(), f"a visible window has WM_CLASS {entry['StartupWMClass']!r}"
