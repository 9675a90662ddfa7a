"""Crash an AiiDA daemon the way the OOM killer or a node failure would (shared by the fault tests)."""

from __future__ import annotations

import pathlib

import psutil


def _is_python(process: psutil.Process) -> bool:
    """True for a live Python process; zombies and processes gone meanwhile (a job just ended) are not."""
    try:
        return 'python' in ' '.join(process.cmdline()[:1])
    except (psutil.ZombieProcess, psutil.NoSuchProcess, psutil.AccessDenied):
        return False


def kill_daemon(config_dir: pathlib.Path) -> int:
    """SIGKILL the circus arbiter and its Python workers; return how many processes were killed.

    The running pw.x/xspectra.x jobs are left alone: a crashed daemon does not take its jobs down
    (core.direct starts them under the worker; a scheduler's jobs are the cluster's).
    """
    pid_file = next(config_dir.rglob('circus-*.pid'))
    arbiter = psutil.Process(int(pid_file.read_text().split()[0]))
    victims = [arbiter, *(p for p in arbiter.children(recursive=True) if _is_python(p))]
    for process in victims:
        try:
            process.kill()
        except psutil.NoSuchProcess:
            pass
    psutil.wait_procs(victims, timeout=30)
    return len(victims)
