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

The node object that stores a process node knows its incoming links already: they are the ones it
stores. aiida then reads them back at once to hash the node (``rehash`` at the end of ``_store``):
99 of 2278 samples of pytest's process over tests/test_site_xanes.py (py-spy, session 25). Those
links are kept when the node is stored and answer the questions by link type; a question by node
class, label pattern or for UUIDs only still goes to the database.
"""

from __future__ import annotations

#: Attribute of a ``ProcessNodeLinks`` instance: its answers, by question.
ANSWERS = '_siox_incoming_link_triples'
#: Attribute of a ``ProcessNodeLinks`` instance: every incoming link, as this object stored the node with them.
STORED_WITH = '_siox_incoming_links_stored_with'


def answer_from_stored_links(stored: list, node_class, link_types: tuple, link_label_filter, only_uuid: bool) -> list | None:
    """The incoming link triples among ``stored`` that answer the question, or None where only the database can:
    a node class (the database matches type strings, not Python subclasses: ``BandsData`` is a ``KpointsData``
    in Python only), a label pattern (SQL ``LIKE``), UUIDs only, or link types aiida would refuse."""
    from aiida.common.links import LinkType
    from aiida.orm import Node

    if node_class not in (None, Node) or link_label_filter is not None or only_uuid:
        return None
    if not all(isinstance(link_type, LinkType) for link_type in link_types):
        return None  # aiida's own method raises its TypeError
    return [triple for triple in stored if not link_types or triple.link_type in link_types]


def install() -> None:
    """Give ``ProcessNodeLinks.get_stored_link_triples`` a per-object memory of incoming links, seeded when the node
    object stores the node; once."""
    from aiida.orm.nodes.links import NodeLinks
    from aiida.orm.nodes.node import Node
    from aiida.orm.nodes.process.process import ProcessNode, ProcessNodeLinks

    if getattr(ProcessNodeLinks.get_stored_link_triples, 'remembers_incoming', False):
        return

    def incoming_link_triples_read_once(
        self, node_class=None, link_type=(), link_label_filter=None, link_direction='incoming', only_uuid=False
    ):
        # NodeLinks' method looked up at each call: setup/unstored_links.py's once that is installed
        if link_direction != 'incoming' or self._node.pk is None:
            return NodeLinks.get_stored_link_triples(self, node_class, link_type, link_label_filter, link_direction, only_uuid)
        link_types = tuple(link_type) if isinstance(link_type, (tuple, list)) else (link_type,)
        question = (node_class, link_types, link_label_filter, only_uuid)
        answers = self.__dict__.setdefault(ANSWERS, {})
        if question not in answers:
            stored = self.__dict__.get(STORED_WITH)
            answer = None if stored is None else answer_from_stored_links(stored, node_class, link_types, link_label_filter, only_uuid)
            if answer is None:
                answer = NodeLinks.get_stored_link_triples(self, node_class, link_type, link_label_filter, link_direction, only_uuid)
            answers[question] = answer
        return list(answers[question])

    def store_knowing_incoming_links(self, clean: bool = True):
        # read only once the node is stored (pk set); a failed store leaves nothing that is read
        self.base.links.__dict__[STORED_WITH] = list(self.base.links.incoming_cache)
        return Node._store(self, clean)

    incoming_link_triples_read_once.remembers_incoming = True
    incoming_link_triples_read_once.__doc__ = NodeLinks.get_stored_link_triples.__doc__
    ProcessNodeLinks.get_stored_link_triples = incoming_link_triples_read_once
    ProcessNode._store = store_knowing_incoming_links
