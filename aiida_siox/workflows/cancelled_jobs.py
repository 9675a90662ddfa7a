"""pw.x and xspectra.x base workchains that run a job again when the scheduler cancelled it.

On a cluster a job can die for reasons unrelated to its input: ``scancel`` by an admin or a user,
preemption, a drained node. SLURM then writes ``*** JOB <id> ON <node> CANCELLED AT <time> ***`` to
the job's stderr, pw.x's output stops mid-run, and aiida-quantumespresso's ``PwBaseWorkChain``
calls that an unrecoverable failure (exit status < 400) and gives up: one cancelled job would
cost the whole site. These subclasses add one handler, ahead of all others, that launches the same
job again. A cancellation for the time limit (``... DUE TO TIME LIMIT``) is left to the
wall-time handlers, and ``max_iterations`` still bounds the retries.
"""

from __future__ import annotations

import re

from aiida import orm
from aiida.engine import ProcessHandlerReport, process_handler
from aiida.plugins import WorkflowFactory

from aiida_siox.workflows.launch import LaunchOnceRestartMixin

PwBaseWorkChain = WorkflowFactory('quantumespresso.pw.base')
XspectraBaseWorkChain = WorkflowFactory('xspec.xspectra.base')

CANCELLED = re.compile(r'\*\*\* JOB \S+ ON \S+ CANCELLED AT (?P<time>\S+)(?P<rest>[^*]*)\*\*\*', re.IGNORECASE)


def scheduler_cancellation(calculation: orm.CalcJobNode) -> str | None:
    """The scheduler's cancellation line of a job (not for the time limit), or None.

    Read from the scheduler's stderr of the job; with SLURM accounting (``sacct``) available, a
    ``CANCELLED`` state in the detailed job info counts too.
    """
    stderr = calculation.get_scheduler_stderr() or ''
    for match in CANCELLED.finditer(stderr):
        if 'TIME LIMIT' not in match.group('rest').upper():
            return match.group(0)
    info = calculation.get_detailed_job_info() or {}
    lines = (info.get('stdout') or '').splitlines() if info.get('retval') == 0 else []
    if len(lines) >= 2:
        record = dict(zip(lines[0].split('|'), lines[1].split('|'), strict=False))
        if record.get('State', '').startswith('CANCELLED'):
            return f'sacct: State {record["State"]}'
    return None


def _retry_cancelled(workchain, calculation) -> ProcessHandlerReport | None:
    if not calculation.is_failed:
        return None
    reason = scheduler_cancellation(calculation)
    if reason is None:
        return None
    workchain.report(f'{calculation.process_label}<{calculation.pk}> was cancelled by the scheduler ({reason}): running it again')
    return ProcessHandlerReport(do_break=True)


class CancelTolerantPwBaseWorkChain(LaunchOnceRestartMixin, PwBaseWorkChain):
    """``PwBaseWorkChain`` that runs a scheduler-cancelled pw.x job again from scratch."""

    @process_handler(priority=700)
    def handle_cancelled_by_scheduler(self, calculation):
        """The job was cancelled by the scheduler (scancel, preemption, node failure): launch it again."""
        return _retry_cancelled(self, calculation)


class CancelTolerantXspectraBaseWorkChain(LaunchOnceRestartMixin, XspectraBaseWorkChain):
    """``XspectraBaseWorkChain`` that runs a scheduler-cancelled xspectra.x job again from scratch."""

    @process_handler(priority=700)
    def handle_cancelled_by_scheduler(self, calculation):
        """The job was cancelled by the scheduler (scancel, preemption, node failure): launch it again."""
        return _retry_cancelled(self, calculation)
