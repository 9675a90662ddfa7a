"""A stored process node's incoming links read from the database once per node object, not at every access.

Every ``node.inputs.<label>`` in aiida-core 2.9 queries all the node's input links again
(``NodeLinksManager`` keeps nothing). The code around a job reads its inputs many times: the pw.x
parser (``get_calculation_type``, ``parse``, the output bands and structure), each of
``PwBaseWorkChain``'s checks after a job (``sanity_check_insufficient_bands``), the hash of a process
node as it is stored. That was ~90 of 2444 samples of the daemon worker over three quartz XANES sites
with their ground states (py-spy, session 23: 0.45 s), between the sites' jobs.

The incoming links of a stored process node cannot change: aiida refuses any new incoming link once
the node is stored (``ProcessNodeLinks.validate_incoming``), the ``CALL`` link from its parent
included. So the first answer to each question is kept on the node object (``node.base.links``)
and given again. Outgoing links (outputs, which grow) and data nodes' links are aiida's own, unchanged.
"""

from __future__ import annotations

#: Attribute of a ``ProcessNodeLinks`` instance: its answers, by question.
ANSWERS = '_siox_incoming_link_triples'


def install() -> None:
    """Give ``ProcessNodeLinks.get_stored_link_triples`` a per-object memory of incoming links; once."""
    from aiida.orm.nodes.links import NodeLinks
    from aiida.orm.nodes.process.process import ProcessNodeLinks

    if getattr(ProcessNodeLinks.get_stored_link_triples, 'remembers_incoming', False):
        return

    def incoming_link_triples_read_once(
        self, node_class=None, link_type=(), link_label_filter=None, link_direction='incoming', only_uuid=False
    ):
        # NodeLinks' method looked up at each call: setup/unstored_links.py's once that is installed
        if link_direction != 'incoming' or self._node.pk is None:
            return NodeLinks.get_stored_link_triples(self, node_class, link_type, link_label_filter, link_direction, only_uuid)
        question = (node_class, tuple(link_type) if isinstance(link_type, (tuple, list)) else link_type, link_label_filter, only_uuid)
        answers = self.__dict__.setdefault(ANSWERS, {})
        if question not in answers:
            answers[question] = NodeLinks.get_stored_link_triples(self, node_class, link_type, link_label_filter, link_direction, only_uuid)
        return list(answers[question])

    incoming_link_triples_read_once.remembers_incoming = True
    incoming_link_triples_read_once.__doc__ = NodeLinks.get_stored_link_triples.__doc__
    ProcessNodeLinks.get_stored_link_triples = incoming_link_triples_read_once
