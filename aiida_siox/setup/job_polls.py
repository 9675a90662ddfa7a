"""A running job's scheduler poll writes its node twice instead of four times.

At each poll of a running job (every second on ``localhost``), aiida-core 2.9 writes the job's node
four times, each write its own database commit: the process status (the same text at every poll:
"Monitoring scheduler: job state RUNNING"), the last job info, and the scheduler state and its
check time as two separate attributes. A process node's attributes include its checkpoint, so each
write serialises, commits and then reloads them all. The daemon worker spent ~4 % of a core on the
polls of a 26 s amorphous XANES job (py-spy, session 23), and on 2 cores every slice it takes from an
MPI rank holds up the job's other rank: the programs ran 0.5-2 s slower in the engine than by hand.

Here a status equal to the stored one is not written again, and the scheduler state and its check
time are written together. The node ends up with the same attributes; only the commits are fewer.
"""

from __future__ import annotations


def install() -> None:
    """Replace ``ProcessNode.set_process_status`` and ``CalcJobNode.set_scheduler_state``; once."""
    from aiida.orm import CalcJobNode, ProcessNode

    set_process_status = ProcessNode.set_process_status
    if getattr(set_process_status, 'skips_unchanged', False):
        return

    def set_process_status_when_changed(self, status: str | None) -> None:
        if status is not None and self.is_stored and self.base.attributes.get(self.PROCESS_STATUS_KEY, None) == status:
            return None
        return set_process_status(self, status)

    def set_scheduler_state_in_one_write(self, state) -> None:
        from aiida.common import timezone
        from aiida.schedulers.datastructures import JobState

        if not isinstance(state, JobState):
            raise ValueError(f'scheduler state should be an instance of JobState, got: {state}')
        now = timezone.now().isoformat()
        self.base.attributes.set_many({self.SCHEDULER_STATE_KEY: state.value, self.SCHEDULER_LAST_CHECK_TIME_KEY: now})

    set_process_status_when_changed.skips_unchanged = True
    set_process_status_when_changed.__doc__ = set_process_status.__doc__
    set_scheduler_state_in_one_write.__doc__ = CalcJobNode.set_scheduler_state.__doc__
    ProcessNode.set_process_status = set_process_status_when_changed
    CalcJobNode.set_scheduler_state = set_scheduler_state_in_one_write
