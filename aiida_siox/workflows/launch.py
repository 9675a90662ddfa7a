"""Launch a child process at most once per call link label, even across daemon crashes.

A workchain step that submits children runs again from its last checkpoint when the daemon worker
dies between the submission and the checkpoint of the step (measured: a SIGKILL mid-XANES
launched site 1 twice). The child's CALL link is stored when the child is, so a replayed step can
see what it already launched and wait on that instead of launching a duplicate.

``submit_once`` does this for our own workchains' steps; ``LaunchOnceRestartMixin`` does it for
``BaseRestartWorkChain.run_process`` (aiida-core 2.x submits ``iteration_NN`` and checkpoints only
after the step, so a SIGKILL in between made the resumed parent launch the same pw.x a second time:
seen once in CI, 5 PwCalculation instead of 4 in the daemon-kill test).
"""

from __future__ import annotations

from aiida import orm
from aiida.common.links import LinkType
from aiida.engine import Process, ProcessState, ToContext, WorkChain, append_

#: Extra set on a child that a crash left stored but never started (see :func:`launched_child`).
NEVER_STARTED = 'siox_never_started'


def never_started(node: orm.ProcessNode) -> bool:
    """Whether ``node`` was stored by a launch that a crash cut short before its first checkpoint.

    Submission stores the node, then its checkpoint, then sends its task to the broker. A node in
    the created state without a checkpoint has no task and no state to run from: it never will.
    """
    return node.process_state in (None, ProcessState.CREATED) and node.checkpoint is None and not node.is_sealed


def launched_child(workchain: WorkChain, label: str) -> orm.ProcessNode | None:
    """The process ``workchain`` already called under the call link ``label`` and that can run, or None.

    A child that a crash left stored but never started is marked killed (extra ``siox_never_started``)
    and skipped, so that the caller launches it again instead of waiting on it forever.
    """
    launched = workchain.node.base.links.get_outgoing(
        link_type=(LinkType.CALL_WORK, LinkType.CALL_CALC), link_label_filter=label
    ).all_nodes()
    usable = []
    for node in sorted(launched, key=lambda node: node.ctime):
        if node.base.extras.get(NEVER_STARTED, False):
            continue
        if never_started(node):
            node.set_process_state(ProcessState.KILLED)
            node.set_process_status('never started: the daemon died while launching it; launched again')
            node.base.extras.set(NEVER_STARTED, True)
            node.seal()
            workchain.report(f'{label}: {node.process_label}<{node.pk}> was stored but never started before an interruption')
            continue
        usable.append(node)
    return usable[-1] if usable else None


def submit_once(workchain: WorkChain, process_class: type[Process], **inputs) -> orm.ProcessNode:
    """Submit ``process_class``, unless ``workchain`` already called a process under the same label.

    :param inputs: the inputs, with ``metadata.call_link_label`` set (it names the child).
    """
    label = inputs['metadata']['call_link_label']
    node = launched_child(workchain, label)
    if node is not None:
        workchain.report(f'{label}: already launched as {node.process_label}<{node.pk}> before an interruption; not launched again')
        return node
    return workchain.submit(process_class, **inputs)


class LaunchOnceRestartMixin:
    """For a ``BaseRestartWorkChain``: a replayed ``run_process`` waits on the iteration it already launched."""

    def run_process(self) -> ToContext:
        """Launch the next iteration, or adopt it when a crash interrupted the step after its launch."""
        node = launched_child(self, f'iteration_{self.ctx.iteration + 1:02d}')
        if node is None:
            return super().run_process()
        self.ctx.iteration += 1
        # the interrupted step may not have added this iteration's (empty) list of considered handlers
        considered = self.node.base.extras.get(self._considered_handlers_extra, [])
        considered.extend([] for _ in range(self.ctx.iteration - len(considered)))
        self.node.base.extras.set(self._considered_handlers_extra, considered)
        label = f'{node.process_label}<{node.pk}>'
        self.report(f'iteration #{self.ctx.iteration}: already launched as {label} before an interruption; not launched again')
        return ToContext(children=append_(node))
