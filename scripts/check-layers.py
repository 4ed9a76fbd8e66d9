#!/usr/bin/env python3
"""Checks that imports in holdfast-core go downward through its floors (see the top doc comment
of crates/core/src/lib.rs) and that no two feature folders import each other, directly or in a
ring. Exit status 1 and one line per offending import when they do not.

    scripts/check-layers.py [CORE_SRC_DIR]

A module's floor comes from its path: `X/service.rs` is an operation whatever X is, the rest of
a folder shares the folder's floor. Imports are read from `crate::…` paths in code (test modules
are skipped: a test may reach anywhere)."""

import os
import re
import sys
from collections import defaultdict

GROUND, MODEL, SESSION, OPERATIONS, FACADE = range(5)
NAMES = ["ground", "model/store", "session", "operations", "facade"]

# Top-level module -> (floor, rank within the floor). An import must go to a lower floor, or to
# a lower rank on the same floor; on the operations floor services may call each other (no
# rings). The ranks are the design: on the session floor the browser and the clock are tools of
# the rest, the relay (exit) knows nothing of health or guard, and the observer (health) drives
# the guard's interception, never the other way.
FLOORS = {
    "error": (GROUND, 0),
    "events": (GROUND, 0),
    "secret": (GROUND, 0),
    "home": (GROUND, 1),
    "settings": (GROUND, 1),
    "logging": (GROUND, 2),
    "memory": (GROUND, 0),
    "rules": (MODEL, 0),
    "api": (MODEL, 0),
    "template": (MODEL, 1),
    "store": (MODEL, 2),
    "team": (MODEL, 2),
    "clock": (SESSION, 0),
    "browser": (SESSION, 0),
    "exit": (SESSION, 1),
    "bundle": (SESSION, 1),
    "guard": (SESSION, 2),
    "health": (SESSION, 3),
    "context": (OPERATIONS, 0),
    "launch": (OPERATIONS, 0),
    "fleet": (OPERATIONS, 1),
    "lib": (FACADE, 0),
    "commands": (FACADE, 0),
}
# The ground floor's event stream and vocabulary import nothing at all.
IMPORTS_NOTHING = {"events", "error", "secret"}


def node_of(rel):
    """(node name, (floor, rank)) of a source file: `exit/service.rs` is an operation."""
    parts = rel[:-3].split("/")
    top = parts[0]
    if len(parts) > 1 and parts[-1] == "service":
        return f"{top}::service", (OPERATIONS, 0)
    return top, FLOORS.get(top)


def target_of(path):
    """The node an import path like `exit::service::Service` or `exit::Relay` names."""
    parts = path.split("::")
    if len(parts) > 1 and parts[1] == "service":
        return f"{parts[0]}::service", (OPERATIONS, 0)
    return parts[0], FLOORS.get(parts[0])


def strip_tests(src):
    # `#[cfg(test)] mod tests { … }` runs to the end of the file by convention here.
    return re.split(r"#\[cfg\(test\)\]\s*mod tests\b", src)[0]


def imports_of(src):
    """Every `crate::a::b` path in the code, with `use crate::{a, b::c}` groups expanded."""
    src = re.sub(r"//[^\n]*", "", src)
    found = []
    for group in re.finditer(r"crate::\{", src):
        depth, i = 1, group.end()
        while depth and i < len(src):
            depth += {"{": 1, "}": -1}.get(src[i], 0)
            i += 1
        body = src[group.end() : i - 1]
        # Top-level items of the group only.
        depth, item, items = 0, "", []
        for c in body:
            if c == "{":
                depth += 1
            elif c == "}":
                depth -= 1
            if c == "," and depth == 0:
                items.append(item)
                item = ""
            else:
                item += c
        items.append(item)
        for it in items:
            it = it.strip()
            if it and it not in ("self",):
                found.append(re.sub(r"\s+", "", it))
    for m in re.finditer(r"crate::([a-z_][a-z0-9_]*(?:::[a-z_][a-z0-9_]*)*)", src):
        found.append(m.group(1))
    return found


def main():
    root = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
        os.path.dirname(__file__), "..", "crates", "core", "src"
    )
    problems = []
    edges = defaultdict(set)
    for dirpath, _, files in os.walk(root):
        for f in sorted(files):
            if not f.endswith(".rs"):
                continue
            path = os.path.join(dirpath, f)
            rel = os.path.relpath(path, root).replace(os.sep, "/")
            node, level = node_of(rel)
            if level is None:
                problems.append(f"{rel}: module '{node}' has no floor: add it to FLOORS in scripts/check-layers.py")
                continue
            with open(path, encoding="utf-8") as fh:
                src = strip_tests(fh.read())
            for imp in imports_of(src):
                target, tlevel = target_of(imp)
                if target == node or (target.split("::")[0] == node.split("::")[0] and "::" not in node + target):
                    continue
                if node.endswith("::service") and target == node.split("::")[0]:
                    continue  # a feature's service uses its own folder
                if tlevel is None:
                    # `crate::Holdfast`, `crate::Result`: items re-exported at the root.
                    if target == "Holdfast":
                        tlevel = (FACADE, 0)
                    else:
                        continue
                if node.split("::")[0] in IMPORTS_NOTHING:
                    problems.append(f"{rel}: imports crate::{imp}, but '{node}' imports no other module")
                    continue
                if tlevel[0] > level[0] or (tlevel[0] == level[0] and tlevel[1] >= level[1] and level[0] != OPERATIONS):
                    problems.append(
                        f"{rel}: imports crate::{imp}: '{node}' ({NAMES[level[0]]} {level[1]}) must not import "
                        f"'{target}' ({NAMES[tlevel[0]]} {tlevel[1]})"
                    )
                    continue
                if tlevel[0] == level[0]:
                    edges[node].add(target)

    def ring_from(start):
        stack = [(start, [start])]
        while stack:
            n, path = stack.pop()
            for m in edges.get(n, ()):
                if m == start:
                    return path
                if m not in path:
                    stack.append((m, path + [m]))
        return None

    seen = set()
    for a in sorted(edges):
        ring = ring_from(a)
        if ring and frozenset(ring) not in seen:
            seen.add(frozenset(ring))
            problems.append("import ring: " + " -> ".join(ring + [a]))
    for p in problems:
        print(p)
    if problems:
        print(f"FAIL: {len(problems)} layering problem(s) in {os.path.normpath(root)}", file=sys.stderr)
        return 1
    print(f"ok: imports in {os.path.normpath(root)} go downward through the floors, no rings")
    return 0


if __name__ == "__main__":
    sys.exit(main())
