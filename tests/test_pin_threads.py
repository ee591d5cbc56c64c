"""pin_threads in a process that already imported numba must not break later compilations."""

from __future__ import annotations

import subprocess
import sys
import textwrap


def test_pin_threads_after_numba_import_keeps_compiling(tmp_path):
    code = textwrap.dedent("""
        import numba, theorycheck
        from theorycheck.runs.kinds import pin_threads
        numba.set_num_threads(1)          # the threading layer is launched
        pin_threads(1)
        f = numba.njit(lambda x: x + 1)   # a compilation re-reads numba's configuration
        assert f(1) == 2
        print("ok")
    """)
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env={"NUMBA_CACHE_DIR": str(tmp_path), "PATH": "/usr/bin:/bin",
                               "PYTHONPATH": "."}, timeout=300)
    assert proc.returncode == 0 and proc.stdout.strip() == "ok", proc.stderr[-2000:]
