"""A process's outputs linked without asking the database which are linked already, when it knows.

aiida-core 2.9's ``Process.update_outputs`` runs at every state a process enters (created, running,
waiting, running again after each job step, finished): it queries the node's outgoing links for the
labels already attached, then links and stores the new outputs. Most states come before the process
has any output, and after a batch is linked the same labels are asked for again at the next state.
That was 0.59 s of the daemon worker's CPU over three quartz XANES sites with their ground states
(py-spy, session 23: 118 of 2444 samples), all of it between the sites' jobs.

Here a process with no outputs asks nothing, and one whose outputs were all linked by this same
process object (this run of the worker: they are in its memory) asks nothing either. A link, once
made, is never removed, so the answer is the one the database would give. Anything else (a process
resumed from its checkpoint, new outputs) goes to aiida's own method, unchanged.
"""

from __future__ import annotations

#: Attribute of a ``Process`` instance: the output labels it has itself seen linked.
LINKED_LABELS = '_siox_linked_output_labels'


def install() -> None:
    """Replace ``Process.update_outputs`` by one that skips the query when its answer is known; once."""
    from aiida.engine.processes.process import Process

    update_outputs = Process.update_outputs
    if getattr(update_outputs, 'remembers_linked_outputs', False):
        return

    def update_outputs_remembering_linked(self) -> None:
        if self.metadata.store_provenance is False:
            return
        labels = set(self._flat_outputs())
        if labels <= getattr(self, LINKED_LABELS, set()):  # nothing new (also: no outputs at all)
            return
        update_outputs(self)
        setattr(self, LINKED_LABELS, labels | getattr(self, LINKED_LABELS, set()))

    update_outputs_remembering_linked.remembers_linked_outputs = True
    update_outputs_remembering_linked.__doc__ = update_outputs.__doc__
    Process.update_outputs = update_outputs_remembering_linked
