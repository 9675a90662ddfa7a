"""The daemon's circus statistics process stopped: it streams numbers nobody reads, beside the jobs.

``verdi daemon start`` runs circus with ``statsd``: a ``circusd-stats`` process that measures the CPU
and memory of every daemon process each second and publishes them on a socket. aiida reads none of
it (``verdi daemon status`` asks circus's controller, which measures on demand). It took 0.61 s of
CPU during one 31 s amorphous XANES job (session 23, 2 % of a core), and on 2 cores each slice it
takes from an MPI rank holds up the job's other rank too. Stopping that one watcher through the
controller leaves the workers, the broker and every ``verdi daemon`` command as they are.
"""

from __future__ import annotations

import contextlib

#: The watcher circus makes for ``statsd``.
STATS_WATCHER = 'circusd-stats'


@contextlib.contextmanager
def _controller(profile: str):
    from aiida.engine.daemon.client import get_daemon_client
    from circus.client import CircusClient

    client = CircusClient(endpoint=get_daemon_client(profile).get_controller_endpoint(), timeout=10)
    try:
        yield client
    finally:
        client.stop()


def daemon_watchers(profile: str) -> dict[str, str]:
    """The running daemon's circus watchers and their status (``active``, ``stopped``)."""
    with _controller(profile) as client:
        return client.call({'command': 'status', 'properties': {}}).get('statuses', {})


def stop_circus_statistics(profile: str) -> bool:
    """Stop the running daemon's ``circusd-stats`` watcher; whether it was running and is stopped now."""
    with _controller(profile) as client:
        if client.call({'command': 'status', 'properties': {}}).get('statuses', {}).get(STATS_WATCHER) != 'active':
            return False
        return client.call({'command': 'stop', 'properties': {'name': STATS_WATCHER, 'waiting': True}}).get('status') == 'ok'
