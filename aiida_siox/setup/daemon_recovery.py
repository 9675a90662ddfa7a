"""Starting a profile's daemon safely after a crash (``siox recover``).

aiida-core 2.9's ZeroMQ broker (the embedded profile's) writes the path of its sockets to
``broker.sockets`` and removes it on a clean stop. After a SIGKILL, an OOM kill or a reboot the file
stays; on the next ``verdi daemon start`` circus starts the new broker and the workers at once, and a
worker that reads the stale file first connects to the dead socket and never receives a task
(measured: tasks pile up as "pending" with zero subscribers). Removing the stale files before the
start makes the workers wait for the new broker instead. Tasks themselves are on disk
(``storage/tasks``) and survive the crash: nothing is lost, the waiting processes resume.
"""

from __future__ import annotations

import pathlib
from collections.abc import Callable

import psutil

from aiida_siox.setup.daemon_stats import stop_circus_statistics
from aiida_siox.setup.environment import verdi

STALE_FILES = ('_service_sockets_file', '_service_pid_file', '_service_status_file')


def clear_stale_broker_files() -> list[pathlib.Path]:
    """Remove the loaded profile's ZeroMQ broker files if their broker process is gone; return what was removed."""
    from aiida.manage import get_manager

    broker = get_manager().get_broker()
    if broker is None or type(broker).__name__ != 'ZeromqBroker' or broker.check_service_reachable():
        return []  # RabbitMQ, or a live broker: nothing is stale
    removed = []
    for attribute in STALE_FILES:
        path = getattr(broker, attribute, None)
        if path is not None and pathlib.Path(path).exists():
            pathlib.Path(path).unlink()
            removed.append(pathlib.Path(path))
    return removed


def daemon_is_alive(profile: str) -> bool:
    """Whether the profile's daemon process exists (its PID file alone proves nothing after a SIGKILL)."""
    from aiida.engine.daemon.client import get_daemon_client

    pid = get_daemon_client(profile).get_daemon_pid()
    return pid is not None and psutil.pid_exists(pid)


def start_daemon(profile: str, workers: int) -> list[pathlib.Path]:
    """Start the (stopped) daemon: stale broker files removed first, circus's statistics process stopped after
    (setup/daemon_stats.py). Returns the stale files removed."""
    removed = clear_stale_broker_files()
    result = verdi('-p', profile, 'daemon', 'start', str(workers))
    if result.returncode != 0:
        raise RuntimeError(f'could not start the daemon: {result.stdout}{result.stderr}')
    stop_circus_statistics(profile)
    return removed


def recover_daemon(profile: str, workers: int, echo: Callable[[str], None]) -> None:
    """Clear what a crashed daemon left behind and start it (a running daemon is left alone)."""
    if daemon_is_alive(profile):
        echo(f'Daemon of {profile} is running: nothing to recover (`verdi daemon restart` restarts it).')
        return
    for path in start_daemon(profile, workers):
        echo(f'removed stale broker file {path}')
    echo(f'Daemon of {profile}: started with {workers} worker(s); waiting processes resume from the broker queue.')
