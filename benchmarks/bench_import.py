"""Import cost of the commands a user types first: ``theorycheck --help`` and
``theorycheck check --list``.

For each command, ``python -X importtime`` reports every module's cumulative import time;
the import time of the command is the sum over top-level imports (those at indentation 0),
which is what the interpreter spent importing before and while the command ran. The
best of ``--rounds`` runs is reported, with the wall time of the whole process beside it and
the five most expensive top-level imports.

    python benchmarks/bench_import.py [--rounds 5]
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import time

COMMANDS = {
    "theorycheck --help": ["--help"],
    "theorycheck check --list": ["check", "--list"],
}
_LINE = re.compile(r"^import time:\s+(\d+) \|\s+(\d+) \| (\s*)(\S+)")


def measure(args: list[str]) -> tuple[float, float, list[tuple[float, str]]]:
    """(import seconds, wall seconds, top-level imports sorted by cost) of one process."""
    code = "import sys; from theorycheck.commands.main import main; sys.exit(main(sys.argv[1:]))"
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-X", "importtime", "-c", code, *args],
                          capture_output=True, text=True)
    wall = time.perf_counter() - t0
    top = []
    for line in proc.stderr.splitlines():
        m = _LINE.match(line)
        if m and not m.group(3):
            top.append((int(m.group(2)) / 1e6, m.group(4)))
    return sum(t for t, _ in top), wall, sorted(top, reverse=True)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args(argv)
    print("| command | import time (s) | wall (s) | largest top-level imports |")
    print("|---|---:|---:|---|")
    for name, argv_ in COMMANDS.items():
        runs = [measure(argv_) for _ in range(args.rounds)]
        imp, wall, top = min(runs, key=lambda r: r[0])
        worst = ", ".join(f"{m} {t * 1e3:.0f} ms" for t, m in top[:5])
        print(f"| `{name}` | {imp:.3f} | {min(r[1] for r in runs):.3f} | {worst} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
