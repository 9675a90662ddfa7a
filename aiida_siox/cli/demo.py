"""``siox demo``: submit the toy pipeline to the daemon, show progress, write the report."""

from __future__ import annotations

import pathlib
import time
from collections import Counter
from collections.abc import Callable

from aiida_siox.setup.environment import verdi


def ensure_daemon(profile: str, echo: Callable[[str], None]) -> None:
    """Start the profile's daemon (one worker) unless it is running."""
    from aiida_siox.setup.daemon_recovery import clear_stale_broker_files, daemon_is_alive

    if daemon_is_alive(profile):
        echo(f'Daemon of {profile}: running')
        return

    clear_stale_broker_files()  # left by an earlier crash, they would leave the new worker deaf
    result = verdi('-p', profile, 'daemon', 'start', '1')
    if result.returncode != 0:
        raise RuntimeError(f'could not start the daemon: {result.stdout}{result.stderr}')
    echo(f'Daemon of {profile}: started')


def refresh_view() -> None:
    """End this process's read transaction: SQLite would otherwise keep showing the old snapshot."""
    from aiida.manage import get_manager

    get_manager().get_profile_storage().get_session().commit()


def progress_line(node) -> str:
    """One-line summary of the jobs below ``node``: done / running / failed, and what runs now."""
    from aiida import orm

    states = Counter()
    running = []
    # CALL links are not followed by QueryBuilder's with_ancestors (data provenance only): walk the call tree.
    for child in node.called_descendants:
        if not isinstance(child, orm.CalcJobNode):
            continue
        if child.is_finished_ok:
            states['done'] += 1
        elif child.is_terminated:
            states['failed'] += 1
        else:
            states['running'] += 1
            running.append(child.process_label)
    now = ', '.join(sorted(set(running))) or '-'
    return f'jobs: {states["done"]} done, {states["running"]} active, {states["failed"]} failed | active: {now}'


def run_demo(profile: str, codes: dict, compositions: list[float], seeds: list[int], protocol: str, output: pathlib.Path, echo) -> bool:
    """Submit :class:`SiOxDatasetWorkChain`, follow it, write the report; True when it finished ok."""
    from aiida.engine import submit

    from aiida_siox.report import write_report
    from aiida_siox.workflows.dataset import SiOxDatasetWorkChain

    ensure_daemon(profile, echo)
    builder = SiOxDatasetWorkChain.get_builder_from_protocol(codes, compositions, seeds, protocol=protocol)
    node = submit(builder)
    echo(f'Submitted SiOxDatasetWorkChain <{node.pk}> ({protocol} protocol, x = {compositions}, seeds = {seeds})')
    start, last = time.monotonic(), ''
    while True:
        refresh_view()
        if node.is_terminated:
            break
        line = progress_line(node)
        if line != last:
            echo(f'[{time.monotonic() - start:6.0f} s] {line}')
            last = line
        time.sleep(3)
    elapsed = time.monotonic() - start
    echo(f'[{elapsed:6.0f} s] {progress_line(node)}')
    echo(f'Finished: exit status {node.exit_status} {node.exit_message or ""} after {elapsed:.0f} s')
    if 'dataset' in node.outputs:
        report = write_report(node, output)
        echo(f'\nReport: {report.resolve()}')
    echo('\nInspect it with:')
    for command in (
        f'verdi -p {profile} process status {node.pk}      # the whole tree',
        f'verdi -p {profile} process report {node.pk}      # what the workchains said',
        f'verdi -p {profile} node show {node.pk}           # inputs and outputs',
        f'verdi -p {profile} node graph generate {node.pk} # provenance graph (PDF)',
    ):
        echo(f'  {command}')
    return node.is_finished_ok
