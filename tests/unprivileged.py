"""Run a child process that file modes apply to, also when the tests run as root.

Root ignores permission bits (CAP_DAC_OVERRIDE), so "a folder you cannot
write to" cannot be made for root by chmod alone. As root, the child is
started through ``setpriv`` with an empty capability bounding set: still
uid 0, so it can run the project's Python (which may live under a private
/root), but mode bits bind it like anyone else. As another user, the child
just runs. Where neither works, the calling test is skipped.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]


def unprivileged_prefix() -> list[str]:
    """The command prefix that drops root's power over file modes ([] when not root)."""
    if os.name != "posix":
        pytest.skip("file modes as tested here are POSIX")
    if os.geteuid() != 0:
        return []
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        pytest.skip("running as root without setpriv: root ignores file modes")
    prefix = [setpriv, "--bounding-set", "-all", "--inh-caps", "-all", "--"]
    probe = subprocess.run([*prefix, sys.executable, "-c", "pass"], capture_output=True)
    if probe.returncode != 0:
        pytest.skip(f"setpriv cannot drop capabilities here: {probe.stderr.decode(errors='replace').strip()}")
    return prefix


def child_env(**extra: str) -> dict[str, str]:
    """The environment for a child running this checkout's ``digitlab``."""
    env = dict(os.environ)
    env["PYTHONPATH"] = str(REPO_ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    env.pop("DIGITLAB_DEBUG", None)  # it re-raises errors on purpose
    env.update(extra)
    return env


def run_python(code: str, *args: str, unprivileged: bool = False, timeout: float = 120, **env: str):
    """Run ``python -c code args...``; returns the CompletedProcess (text)."""
    prefix = unprivileged_prefix() if unprivileged else []
    return subprocess.run(
        [*prefix, sys.executable, "-c", code, *args],
        cwd=REPO_ROOT, env=child_env(**env), capture_output=True, text=True, timeout=timeout,
    )
