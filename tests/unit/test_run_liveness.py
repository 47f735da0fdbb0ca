"""A run's process marks itself alive; its death (even kill -9) is seen by others."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

from ecom_platform.config import REPO_ROOT
from ecom_platform.lib import run_liveness


def test_alive_while_the_process_lives_dead_once_it_is_killed(tmp_path):
    proc = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time; from ecom_platform.lib import run_liveness as r; "
            f"r.hold({str(tmp_path)!r}, 'run-1'); print('held', flush=True); time.sleep(60)",
        ],
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout.readline().strip() == "held"
    state, who = run_liveness.state(tmp_path, "run-1")
    assert state == run_liveness.ALIVE and f"pid {proc.pid}" in who
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert run_liveness.state(tmp_path, "run-1")[0] == run_liveness.DEAD
    assert run_liveness.state(tmp_path, "run-2") == (run_liveness.UNKNOWN, "no liveness marker")


def test_this_process_holds_and_releases(tmp_path):
    run_liveness.hold(tmp_path, "run-3")
    run_liveness.hold(tmp_path, "run-3")  # idempotent
    assert run_liveness.state(tmp_path, "run-3")[0] == run_liveness.ALIVE
    run_liveness.release("run-3")
    assert run_liveness.state(tmp_path, "run-3")[0] == run_liveness.UNKNOWN  # a clean end leaves no marker
