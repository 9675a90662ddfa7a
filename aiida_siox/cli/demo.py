"""``siox demo``: submit the toy pipeline to the daemon, show progress, write the report."""

from __future__ import annotations

import pathlib
import time
from collections.abc import Callable


def ensure_daemon(profile: str, echo: Callable[[str], None]) -> bool:
    """Start the profile's daemon (one worker) unless it is running; whether this call started it."""
    from aiida_siox.setup.daemon_recovery import daemon_is_alive, start_daemon

    if daemon_is_alive(profile):
        echo(f'Daemon of {profile}: running')
        return False

    start_daemon(profile, 1)  # stale broker files of an earlier crash would leave the new worker deaf
    echo(f'Daemon of {profile}: started')
    return True


def refresh_view() -> None:
    """End this process's read transaction: SQLite would otherwise keep showing the old snapshot."""
    from aiida.manage import get_manager

    get_manager().get_profile_storage().get_session().commit()


#: Seconds between two looks at the pipeline. Each look queries the whole process tree (0.15 s of CPU on the demo's
#: ~500 nodes): every 3 s that was 3 % of a core beside the jobs (session 23), which on 2 cores slows their MPI ranks.
FOLLOW_INTERVAL = 5.0


def follow(node, echo: Callable[[str], None], interval: float = FOLLOW_INTERVAL, terminal: bool | None = None) -> float:
    """Show the pipeline's stages until ``node`` terminates: a live table on a terminal, a line per change
    otherwise (logs, CI). ``terminal``: force either view (default: detected). Returns the elapsed seconds."""
    from rich.console import Console
    from rich.live import Live

    from aiida_siox.progress import format_seconds, pipeline_stages, remaining_seconds, stage_table, summary_line

    console = Console(force_terminal=terminal)
    start = time.monotonic()

    def title(stages) -> str:
        elapsed, left = format_seconds(time.monotonic() - start), format_seconds(remaining_seconds(stages))
        return f'{node.process_label}<{node.pk}>  elapsed {elapsed}, left ~{left}'

    if console.is_terminal:
        with Live(console=console, auto_refresh=False, transient=False) as live:  # drawn at each look, not every second
            while True:
                refresh_view()
                stages = pipeline_stages(node)
                live.update(stage_table(stages, title(stages)), refresh=True)
                if node.is_terminated:
                    break
                time.sleep(interval)
    else:
        last = ''
        while True:
            refresh_view()
            line = summary_line(pipeline_stages(node))
            if line != last:
                echo(f'[{time.monotonic() - start:6.0f} s] {line}')
                last = line
            if node.is_terminated:
                break
            time.sleep(interval)
    return time.monotonic() - start


def run_demo(
    profile: str,
    codes: dict,
    compositions: list[float],
    seeds: list[int],
    protocol: str,
    output: pathlib.Path,
    echo,
    overrides: dict | None = None,
) -> bool:
    """Submit :class:`SiOxDatasetWorkChain`, follow it, write the report; True when it finished ok.

    :param overrides: of the dataset protocol (e.g. ``max_concurrent_structures``).
    """
    from aiida.engine import submit

    from aiida_siox.report import write_report
    from aiida_siox.workflows.dataset import SiOxDatasetWorkChain

    ensure_daemon(profile, echo)
    builder = SiOxDatasetWorkChain.get_builder_from_protocol(codes, compositions, seeds, protocol=protocol, overrides=overrides)
    node = submit(builder)
    echo(f'Submitted SiOxDatasetWorkChain <{node.pk}> ({protocol} protocol, x = {compositions}, seeds = {seeds})')
    elapsed = follow(node, echo)
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
