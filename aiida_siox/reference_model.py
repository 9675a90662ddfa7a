"""The shipped reference model: what ``siox predict`` uses when no ``--model`` is given.

The reference study (``reference_study/``) trains its models in a ``TrainingWorkChain`` tagged with the
extra ``siox_reference_chunk = 'final'`` and exports it, with its whole provenance, to
``reference_study/archives/final.aiida``. On first use the archive is imported into the profile, so a
prediction made with the shipped model links to its training job, its dataset and every structure
behind it, exactly as one made with a user's own model.
"""

from __future__ import annotations

import pathlib
from collections.abc import Callable

from aiida import orm

from aiida_siox.graph import REFERENCE_CHUNK

#: Where a source checkout keeps the study's final archive.
REFERENCE_ARCHIVE = pathlib.Path(__file__).resolve().parents[1] / 'reference_study' / 'archives' / 'final.aiida'
#: The value of the chunk extra on the reference study's training workchain.
FINAL = 'final'


class ReferenceModelMissing(Exception):
    """Neither the profile nor this installation holds the reference model."""


def stored_reference_training() -> orm.WorkflowNode | None:
    """The reference study's training workchain in this profile (the newest), or None."""
    query = orm.QueryBuilder().append(orm.WorkflowNode, filters={f'extras.{REFERENCE_CHUNK}': FINAL}, tag='training')
    nodes = [node for (node,) in query.order_by({'training': {'ctime': 'desc'}}).all() if node.is_finished_ok]
    return nodes[0] if nodes else None


def reference_training(archive: pathlib.Path = REFERENCE_ARCHIVE, echo: Callable[[str], None] = print) -> orm.WorkflowNode:
    """The reference study's training workchain: from the profile, else imported from ``archive`` first.

    :raises ReferenceModelMissing: with what to do, when neither holds it.
    """
    node = stored_reference_training()
    if node is not None:
        return node
    if not archive.is_file():
        raise ReferenceModelMissing(
            f'no reference model in this profile, and no {archive.name} to import it from at {archive.parent} '
            '(a source checkout has it once the reference study is finished): give --model with a training of your own'
        )
    from aiida.tools.archive import import_archive

    echo(f'importing the reference model with its provenance from {archive} (first use; once per profile) ...')
    import_archive(archive, create_group=False)
    node = stored_reference_training()
    if node is None:
        raise ReferenceModelMissing(f'{archive} holds no finished training tagged {REFERENCE_CHUNK}={FINAL!r}')
    return node
