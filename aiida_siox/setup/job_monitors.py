"""A running job's ``monitors`` input looked up once, not at every scheduler poll.

aiida-core 2.9's ``Waiting`` state of a CalcJob reads ``'monitors' in node.inputs`` on each pass of
its poll loop and caches only a found value: a job without monitors (all of ours) queries all its
incoming links at every poll, about once a second for the job's whole run. That was 0.37 s of the
daemon worker's CPU during one 27 s amorphous XANES job (py-spy, session 22), taken from the MPI
ranks of the job it waits for on a 2-core machine. A stored process node's inputs never change, so
the answer, found or not, holds for the state's lifetime.
"""

from __future__ import annotations

_UNSET = object()


def install() -> None:
    """Give ``Waiting.monitors`` a cache that remembers "none" too; once."""
    from aiida.engine.processes.calcjobs.monitors import CalcJobMonitors
    from aiida.engine.processes.calcjobs.tasks import Waiting

    if getattr(Waiting.monitors.fget, 'remembers_absence', False):
        return

    def monitors(self) -> CalcJobMonitors | None:
        """Return the collection of monitors if specified in the inputs (looked up once per state)."""
        cached = getattr(self, '_siox_monitors', _UNSET)
        if cached is _UNSET:
            inputs = self.process.node.inputs
            cached = CalcJobMonitors(inputs.monitors) if 'monitors' in inputs else None
            self._siox_monitors = cached
        return cached

    monitors.remembers_absence = True
    Waiting.monitors = property(monitors)
