"""A process's outputs linked without asking the database which are linked already, when it knows.

aiida-core 2.9's ``Process.update_outputs`` runs at every state a process enters (created, running,
waiting, running again after each job step, finished): it queries the node's outgoing links for the
labels already attached, then links and stores the new outputs. Most states come before the process
has any output, and after a batch is linked the same labels are asked for again at the next state.
That was 0.59 s of the daemon worker's CPU over three quartz XANES sites with their ground states
(py-spy, session 23: 118 of 2444 samples), all of it between the sites' jobs.

Each new output link is then validated by queries that ask the same thing: does the process node
already have an outgoing link with this label (``validate_link``'s "one per label" rule), and, for a
workflow's ``RETURN`` link, does this very link exist (``link_triple_exists``). Over four alpha-quartz
sites with their ground states they were 297 of 2,725 active py-spy samples of the daemon worker
(session 26).

Here the process knows the labels of its outputs: none when it created its node, or the database's
answer asked once (resumed from a checkpoint, or made from the cache), plus every output it linked since.
aiida links outputs to a process node only through its process (and refuses any once the node is
sealed), except a job's ``remote_stash``, which is left to the database: so this is the answer the
database would give. While it links new outputs, the two validation queries
about its own node are answered from those labels; every other rule of ``validate_link`` (node and
link types, the target's incoming links) is aiida's own, unchanged, and so is anything else.
"""

from __future__ import annotations

import contextvars
import re

#: Attribute of a ``Process`` instance: the labels of every output its node has (known once set).
LINKED_LABELS = '_siox_linked_output_labels'
#: Output labels that aiida links to a job's node itself, outside ``update_outputs`` (``execmanager``'s stash).
LINKED_OUTSIDE_PROCESS = frozenset({'remote_stash'})
#: While a process links its new outputs: its node object and the labels of the outputs it has.
KNOWN_OUTPUTS: contextvars.ContextVar[tuple | None] = contextvars.ContextVar('siox_known_outputs', default=None)


def could_match(label_filter: str, labels: set[str]) -> bool:
    """Whether the SQL ``LIKE`` pattern ``label_filter`` could match one of ``labels``: ``%`` and ``_`` are
    wildcards and the case is ignored (SQLite's ``LIKE``; PostgreSQL's is stricter), so "no" is certain. Link
    labels are identifiers; a pattern with an escape (``\\``) could match, as far as this knows."""
    if '\\' in label_filter:  # an escaped wildcard: left to the database
        return True
    pattern = ''.join('.*' if c == '%' else '.' if c == '_' else re.escape(c) for c in label_filter)
    return any(re.fullmatch(pattern, label, flags=re.IGNORECASE | re.DOTALL) for label in labels)


def known_labels(node, link_type) -> set[str] | None:
    """The labels of ``node``'s outputs while its process links new ones (``link_type`` one of its output link
    types), with those aiida links outside the process (which only the database knows), else None."""
    known = KNOWN_OUTPUTS.get()
    if known is None or known[0] is not node:
        return None
    from aiida.common.links import LinkType

    if link_type not in (LinkType.CREATE, LinkType.RETURN):
        return None
    return known[1] | LINKED_OUTSIDE_PROCESS


def install() -> None:
    """Replace ``Process.update_outputs`` and ``Process.on_create``, and answer ``NodeLinks.get_outgoing`` and
    ``link_triple_exists`` for a process linking its outputs; once."""
    from aiida import orm
    from aiida.common.links import LinkType
    from aiida.engine.processes.process import Process
    from aiida.orm.nodes.links import NodeLinks
    from aiida.orm.utils import links
    from aiida.orm.utils.links import LinkManager, LinkTriple

    update_outputs = Process.update_outputs
    if getattr(update_outputs, 'remembers_linked_outputs', False):
        return
    on_create = Process.on_create
    get_outgoing = NodeLinks.get_outgoing
    link_triple_exists = links.link_triple_exists

    def on_create_with_no_outputs(self) -> None:
        on_create(self)
        # a node made from the cache has its outputs linked already (a failed job's are not in self.outputs)
        if not self.outputs and not self.node.base.caching.is_created_from_cache:
            setattr(self, LINKED_LABELS, set())

    def update_outputs_knowing_linked(self) -> None:
        if self.metadata.store_provenance is False:
            return
        outputs = self._flat_outputs()
        linked = getattr(self, LINKED_LABELS, None)
        if linked is None:  # resumed from a checkpoint, or made from the cache: asked once
            if not outputs:
                return
            linked = set(self.node.base.links.get_outgoing(link_type=(LinkType.CREATE, LinkType.RETURN)).all_link_labels())
            setattr(self, LINKED_LABELS, linked)
        if isinstance(self.node, orm.CalculationNode):
            link_type = LinkType.CREATE
        elif isinstance(self.node, orm.WorkflowNode):
            link_type = LinkType.RETURN
        else:
            link_type = None
        token = KNOWN_OUTPUTS.set((self.node, linked))
        try:
            for label, output in outputs.items():
                if label in linked:
                    continue
                if link_type is not None:
                    output.base.links.add_incoming(self.node, link_type, label)
                output.store()
                linked.add(label)
        finally:
            KNOWN_OUTPUTS.reset(token)

    def get_outgoing_knowing_outputs(self, node_class=None, link_type=(), link_label_filter=None, only_uuid=False):
        labels = known_labels(self._node, link_type)
        if labels is not None and node_class is None and link_label_filter and not could_match(link_label_filter, labels):
            return LinkManager([])
        return get_outgoing(self, node_class, link_type, link_label_filter, only_uuid)

    def link_triple_exists_knowing_outputs(source, target, link_type, link_label, backend=None) -> bool:
        labels = known_labels(source, link_type)
        if labels is None or link_label in labels:
            return link_triple_exists(source, target, link_type, link_label, backend)
        return LinkTriple(source, link_type, link_label) in (target.base.links.incoming_cache or [])

    update_outputs_knowing_linked.remembers_linked_outputs = True
    update_outputs_knowing_linked.__doc__ = update_outputs.__doc__
    on_create_with_no_outputs.__doc__ = on_create.__doc__
    get_outgoing_knowing_outputs.__doc__ = get_outgoing.__doc__
    link_triple_exists_knowing_outputs.__doc__ = link_triple_exists.__doc__
    Process.update_outputs = update_outputs_knowing_linked
    Process.on_create = on_create_with_no_outputs
    NodeLinks.get_outgoing = get_outgoing_knowing_outputs
    links.link_triple_exists = link_triple_exists_knowing_outputs
