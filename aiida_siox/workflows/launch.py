"""``submit_once``: launch a child process at most once per call link label, even across daemon crashes.

A workchain step that submits children runs again from its last checkpoint when the daemon worker
dies between the submission and the checkpoint of the step (measured: a SIGKILL mid-XANES
launched site 1 twice). The child's CALL link is stored when the child is, so a replayed step can
see what it already launched and wait on that instead of launching a duplicate.
"""

from __future__ import annotations

from aiida import orm
from aiida.common.links import LinkType
from aiida.engine import Process, WorkChain


def submit_once(workchain: WorkChain, process_class: type[Process], **inputs) -> orm.ProcessNode:
    """Submit ``process_class``, unless ``workchain`` already called a process under the same label.

    :param inputs: the inputs, with ``metadata.call_link_label`` set (it names the child).
    """
    label = inputs['metadata']['call_link_label']
    launched = workchain.node.base.links.get_outgoing(
        link_type=(LinkType.CALL_WORK, LinkType.CALL_CALC), link_label_filter=label
    ).all_nodes()
    if launched:
        node = launched[0]
        workchain.report(f'{label}: already launched as {node.process_label}<{node.pk}> before an interruption; not launched again')
        return node
    return workchain.submit(process_class, **inputs)
