"""The shipped reference model: what ``siox predict`` uses when no ``--model`` is given.

The reference study (``reference_study/``) trains its models in a ``TrainingWorkChain`` tagged with the
extra ``siox_reference_chunk = 'final'`` and exports it, with its whole provenance, to
``reference_study/archives/final.aiida``. On first use the archive is imported into the profile, so a
prediction made with the shipped model links to its training job, its dataset and every structure
behind it, exactly as one made with a user's own model.
"""

from __future__ import annotations

import contextlib
import logging
import pathlib
from collections.abc import Callable, Iterator

from aiida import orm

from aiida_siox.graph import REFERENCE_CHUNK

#: Where a source checkout keeps the study's archives, and its final one (the trainings).
REFERENCE_ARCHIVES = pathlib.Path(__file__).resolve().parents[1] / 'reference_study' / 'archives'
REFERENCE_ARCHIVE = REFERENCE_ARCHIVES / 'final.aiida'
#: The value of the chunk extra on the reference study's training workchain.
FINAL = 'final'
#: The chunk of the alpha-quartz calibration: its archive carries the pseudopotential families, so it comes first.
CALIBRATION = 'calibration'


class ReferenceModelMissing(Exception):
    """Neither the profile nor this installation holds the reference model."""


@contextlib.contextmanager
def quiet_import() -> Iterator[None]:
    """aiida's archive import without its ~40 report lines per archive (our own line says what was imported)."""
    logger = logging.getLogger('aiida.export')
    level = logger.level
    logger.setLevel(logging.WARNING)
    try:
        yield
    finally:
        logger.setLevel(level)


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
    with quiet_import():
        import_archive(archive, create_group=False)
    node = stored_reference_training()
    if node is None:
        raise ReferenceModelMissing(f'{archive} holds no finished training tagged {REFERENCE_CHUNK}={FINAL!r}')
    return node


def reference_archives(folder: pathlib.Path = REFERENCE_ARCHIVES) -> list[pathlib.Path]:
    """The study's archives that exist, in import order: the calibration, the compositions (``x*.aiida``), the trainings."""
    compositions = sorted(folder.glob('x*.aiida'))
    return [path for path in (folder / f'{CALIBRATION}.aiida', *compositions, folder / f'{FINAL}.aiida') if path.is_file()]


def stored_chunk(chunk: str) -> orm.WorkflowNode | None:
    """The top workchain of a study chunk (an archive's name: ``x1p00``, ``final``, ...) in this profile, or None."""
    query = orm.QueryBuilder().append(orm.WorkflowNode, filters={f'extras.{REFERENCE_CHUNK}': chunk}, project='*')
    return query.first(flat=True)


def import_reference_study(folder: pathlib.Path = REFERENCE_ARCHIVES, echo: Callable[[str], None] = print) -> int:
    """Import the whole reference study (every structure, site, Bader job and training, with their provenance).

    Archives whose top workchain is already in the profile are skipped, so running it again imports
    nothing. Returns how many archives were imported.

    :raises ReferenceModelMissing: when ``folder`` holds no archive of the study.
    """
    import time

    from aiida.tools.archive import import_archive

    archives = reference_archives(folder)
    if not archives:
        raise ReferenceModelMissing(f'no archive of the reference study in {folder} (a source checkout has them)')
    imported = 0
    for number, path in enumerate(archives, 1):
        if stored_chunk(path.stem) is not None:
            echo(f'[{number}/{len(archives)}] {path.name}: already in this profile')
            continue
        start = time.perf_counter()
        with quiet_import():
            import_archive(path, create_group=False)
        imported += 1
        seconds = time.perf_counter() - start
        echo(f'[{number}/{len(archives)}] {path.name}: imported ({path.stat().st_size / 1e6:.1f} MB) in {seconds:.1f} s')
    return imported
