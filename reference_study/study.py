"""The reference study (issue 18), cut into chunks that outlive a machine through git.

A chunk is the alpha-quartz calibration, or one composition (5 seeds) as a ``SiOxDatasetWorkChain``
of protocol ``reference`` without training. Each finished chunk is exported to
``reference_study/archives/<chunk>.aiida``; a new machine imports the archives that exist and runs
only the chunks that are missing (nothing in an archive is recomputed: it is skipped by name).

    .venv/bin/python reference_study/study.py status
    .venv/bin/python reference_study/study.py run [--chunks x0p00 x1p00] [--max-chunks 1] [--commit]
    .venv/bin/python reference_study/study.py export x0p00 [x0p25 ...]   # write existing chunks' archives again
    .venv/bin/python reference_study/study.py finish [--partial]

``finish`` assembles one dataset from every chunk's finished structures (``assemble_dataset``), trains
on it (``TrainingWorkChain``, protocol ``reference``), and writes ``dataset.npz``, ``predictions.npz``,
``metrics.json`` and ``cells.json`` here, and ``archives/final.aiida``: the trainings with their whole
provenance, and so the model files (once: ``metrics.json`` gives their UUIDs).

The profile (``--profile``, default ``siox-reference``) is made when absent, as ``siox setup`` does:
embedded (SQLite + ZeroMQ), localhost codes, pseudopotential families. Archived pseudopotential
families are imported before set-up, so every chunk uses the same pseudopotential nodes.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from aiida import orm
    from aiida.engine import ProcessBuilder

from aiida_siox.reference_model import FINAL  # the tag `siox predict` without --model looks for

STUDY = Path(__file__).resolve().parent
ARCHIVES = STUDY / 'archives'
PROTOCOL = 'reference'
COMPOSITIONS = (0.0, 0.25, 0.5, 0.75, 1.0, 1.25, 1.5, 1.75, 2.0)
SEEDS = (1, 2, 3, 4, 5)
CALIBRATION = 'calibration'


def composition_chunk(x: float) -> str:
    """Chunk name of one composition, e.g. ``x1p25``."""
    return f'x{x:.2f}'.replace('.', 'p')


#: Also the import order on a new machine: the calibration (pseudopotentials, ld1.x runs) first.
CHUNKS = (CALIBRATION, *map(composition_chunk, COMPOSITIONS))


def archive_path(chunk: str) -> Path:
    return ARCHIVES / f'{chunk}.aiida'


def shown(path: Path) -> str:
    """A path as the messages show it: from the repository's root."""
    return os.path.relpath(path, STUDY.parent)


def load_environment(profile: str, echo: Callable[[str], None] = print) -> dict:
    """The profile (made when absent), every archive imported, then computer, codes and pseudopotentials."""
    from aiida_siox.setup.environment import DEFAULT_CONFIG_DIR, ensure_codes, ensure_computer, ensure_profile

    ensure_profile(DEFAULT_CONFIG_DIR, profile, production=False, echo=echo)
    import_archives(echo)
    computer = ensure_computer(DEFAULT_CONFIG_DIR, echo)
    codes = ensure_codes(DEFAULT_CONFIG_DIR, computer, echo)
    from aiida_siox.setup.bader_warmup import warm_bader_cache
    from aiida_siox.workflows.pseudopotentials import ensure_pseudo_families

    ensure_pseudo_families(codes['ld1'], echo)
    warm_bader_cache(codes['python'], echo)
    return codes


def import_archives(echo: Callable[[str], None] = print) -> None:
    """Import each chunk archive whose top node is not in the profile yet, then the trainings' (``final``, and
    those of a ``finish`` cut short: one archive per finished training, see :func:`finish`)."""
    from aiida.tools.archive import import_archive

    for chunk in (*CHUNKS, *TRAININGS):
        path = archive_path(chunk)
        if path.exists() and chunk_node(chunk) is None:
            start = time.perf_counter()
            import_archive(path, create_group=False)
            echo(f'  imported {shown(path)} in {time.perf_counter() - start:.1f} s')


def chunk_node(chunk: str) -> orm.WorkflowNode | None:
    """The newest finished top workchain of a chunk in the profile, or None."""
    from aiida import orm

    from aiida_siox.graph import REFERENCE_CHUNK

    query = orm.QueryBuilder().append(
        orm.WorkflowNode, filters={f'extras.{REFERENCE_CHUNK}': chunk, 'attributes.process_state': 'finished'}, tag='node'
    )
    nodes = [node for (node,) in query.order_by({'node': {'ctime': 'desc'}}).all() if node.exit_status in (0, 401)]
    return nodes[0] if nodes else None


def calibration_node() -> orm.Dict:
    node = chunk_node(CALIBRATION)
    if node is None:
        raise SystemExit('the calibration chunk has not run yet: run it first (`study.py run --chunks calibration`)')
    return node.outputs.calibration


def build_chunk(chunk: str, codes: dict) -> ProcessBuilder:
    """The builder of one chunk from the ``reference`` protocols."""
    from aiida_siox.structures.builder import LATTICE_CONSTANT
    from aiida_siox.workflows.dataset import SiOxDatasetWorkChain
    from aiida_siox.workflows.quartz_calibration import QuartzCalibrationWorkChain
    from aiida_siox.workflows.structure_pipeline import SiOxStructureWorkChain

    if chunk == CALIBRATION:
        supercell = SiOxStructureWorkChain.get_protocol_inputs(PROTOCOL)['supercell']
        return QuartzCalibrationWorkChain.get_builder_from_protocol(
            codes, protocol=PROTOCOL, production_cell_length=supercell * LATTICE_CONSTANT
        )
    x = COMPOSITIONS[CHUNKS.index(chunk) - 1]
    return SiOxDatasetWorkChain.get_builder_from_protocol(
        codes, [x], list(SEEDS), protocol=PROTOCOL, calibration=calibration_node(), train=False
    )


def export_chunk(chunk: str, node: orm.WorkflowNode) -> Path:
    """Write the chunk's archive: its top workchain with everything it called and every input of those.

    The calibration's archive holds its whole provenance and the pseudopotential groups (and the ld1.x
    runs that made them). A composition's archive does not follow CREATE links back out of the chunk
    (``create_backward=False``): its inputs from outside (the pseudopotentials, the calibration) come as
    nodes whose creators are in ``calibration.aiida``, imported first. That keeps ~1.6 MB of ld1.x
    outputs per chunk out of git (measured on x0p00: 9.1 MB with them).
    """
    from aiida import orm
    from aiida.tools.archive import create_archive

    from aiida_siox.workflows.pseudopotentials import FAMILY_INPUTS, GROUP_CORE_WAVEFUNCTION

    ARCHIVES.mkdir(parents=True, exist_ok=True)
    path = archive_path(chunk)
    entities = [node]
    if chunk == CALIBRATION:
        entities += [orm.load_group(label) for label in (*FAMILY_INPUTS, GROUP_CORE_WAVEFUNCTION)]
    create_archive(entities, filename=path, overwrite=True, compression=9, create_backward=chunk == CALIBRATION)
    return path


def run_chunk(chunk: str, codes: dict, echo: Callable[[str], None] = print) -> orm.WorkflowNode:
    from aiida.engine import run_get_node
    from aiida.manage.caching import enable_caching

    from aiida_siox.graph import REFERENCE_CHUNK

    builder = build_chunk(chunk, codes)
    builder.metadata.label = f'reference study {chunk}'
    start = time.perf_counter()
    echo(f'chunk {chunk}: running {builder.process_class.__name__} (protocol {PROTOCOL})')
    # a chunk killed half-way and run again on the same machine takes its finished jobs from the cache
    with enable_caching():
        _, node = run_get_node(builder)
    elapsed = time.perf_counter() - start
    echo(f'chunk {chunk}: <{node.pk}> exit status {node.exit_status} after {elapsed / 60:.1f} min')
    if node.exit_status not in (0, 401):
        raise SystemExit(f'chunk {chunk} failed: {node.exit_message or node.exit_status} (see `verdi process report {node.pk}`)')
    node.base.extras.set(REFERENCE_CHUNK, chunk)
    node.base.extras.set('siox_reference_wall_s', round(elapsed, 1))
    return node


def finished_structures(partial: bool = False) -> list[orm.WorkflowNode]:
    """Every finished SiOxStructureWorkChain of the composition chunks, in chunk order."""
    from aiida.common.links import LinkType

    from aiida_siox.graph import STRUCTURE

    nodes, missing = [], []
    for chunk in CHUNKS[1:]:
        top = chunk_node(chunk)
        if top is None:
            missing.append(chunk)
            continue
        calls = sorted(top.base.links.get_outgoing(link_type=LinkType.CALL_WORK).all(), key=lambda call: call.link_label)
        nodes += [call.node for call in calls if call.node.process_type == STRUCTURE and call.node.is_finished_ok]
    if missing and not partial:
        raise SystemExit(f'chunks not run yet: {", ".join(missing)} (or `finish --partial` to try on what exists)')
    return nodes


#: The trainings of ``finish``, cheapest first (a ``finish`` cut short keeps the most trainings): the learning
#: curve's points (10-100 % of the training rows, the same test rows, the same settings), the split by cell, and
#: the shipped one (split by site, with paper mode).
TRAININGS = {
    **{
        f'learning_curve_{fraction:.2f}': {
            'train_fraction': fraction,
            'paper_mode': False,
            'windows': False,
            'cv_folds': 0,
            'coordination': False,
            'save_models': False,  # a point of the curve is its metrics; its ~20 MB of networks stay out of the archive
        }
        for fraction in (0.1, 0.25, 0.5, 1.0)
    },
    'training_cell': {'split': 'cell', 'paper_mode': False, 'save_models': False},
    FINAL: {},
}


#: Extra on the study's dataset: the UUIDs of the structure workchains it was assembled from.
STRUCTURES_EXTRA = 'siox_reference_structures'


def stored_dataset(structures: list) -> orm.ArrayData | None:
    """The dataset already assembled from exactly these structures (``finish`` run again), or None."""
    from aiida import orm

    from aiida_siox.graph import REFERENCE_CHUNK

    wanted = sorted(node.uuid for node in structures)
    query = orm.QueryBuilder().append(orm.ArrayData, filters={f'extras.{REFERENCE_CHUNK}': 'dataset'}, tag='dataset')
    for (node,) in query.order_by({'dataset': {'ctime': 'desc'}}).all():
        if node.base.extras.get(STRUCTURES_EXTRA, None) == wanted:
            return node
    return None


def train(codes: dict, dataset: orm.ArrayData, name: str, echo: Callable[[str], None] = print) -> orm.WorkflowNode:
    """One TrainingWorkChain of :data:`TRAININGS` on the dataset (reused when it already ran on it)."""
    from aiida import orm
    from aiida.engine import run_get_node

    from aiida_siox.graph import REFERENCE_CHUNK
    from aiida_siox.workflows.training import TrainingWorkChain

    query = orm.QueryBuilder().append(orm.ArrayData, filters={'uuid': dataset.uuid}, tag='dataset')
    query.append(TrainingWorkChain, with_incoming='dataset', filters={f'extras.{REFERENCE_CHUNK}': name})
    # reused only with today's settings: a training made before a change of the protocol is not what it would ship
    config = TrainingWorkChain.get_protocol_inputs(PROTOCOL, TRAININGS[name])
    done = [node for (node,) in query.all() if node.is_finished_ok and node.inputs.job.config.get_dict() == config]
    if done:
        return done[0]
    builder = TrainingWorkChain.get_builder_from_protocol(codes['python'], dataset, protocol=PROTOCOL, overrides=TRAININGS[name])
    builder.job.metadata.options.max_wallclock_seconds = 6 * 3600
    start = time.perf_counter()
    _, node = run_get_node(builder)
    echo(f'{name}: TrainingWorkChain<{node.pk}> exit status {node.exit_status} after {(time.perf_counter() - start) / 60:.1f} min')
    if not node.is_finished_ok:
        raise SystemExit(f'the training {name} failed: {node.exit_message} (see `verdi process report {node.pk}`)')
    node.base.extras.set(REFERENCE_CHUNK, name)
    return node


def lifetime(node: orm.ProcessNode) -> float:
    """Seconds from a process's creation to its last change: its end, unless something wrote to it later (the
    study sets extras on the top workchains only, whose wall time is measured apart: ``siox_reference_wall_s``)."""
    return (node.mtime - node.ctime).total_seconds()


def cell_summaries() -> list[dict]:
    """Per cell of every composition chunk: its density and coordination (validation), its sites and their cost."""
    from aiida.common.links import LinkType

    from aiida_siox.graph import SITE_SPECTRUM, STRUCTURE

    cells = []
    for chunk in CHUNKS[1:]:
        top = chunk_node(chunk)
        if top is None:
            continue
        for call in sorted(top.base.links.get_outgoing(link_type=LinkType.CALL_WORK).all(), key=lambda c: c.link_label):
            node = call.node
            if node.process_type != STRUCTURE:
                continue
            validation = node.outputs.md.validation.get_dict() if 'md' in node.outputs and 'validation' in node.outputs.md else {}
            children = {c.link_label: c.node for c in node.base.links.get_outgoing(link_type=LinkType.CALL_WORK).all()}
            sites = [n for n in children['xanes'].called_descendants if n.process_type == SITE_SPECTRUM] if 'xanes' in children else []
            cells.append(
                {
                    'chunk': chunk,
                    'label': call.link_label,
                    'uuid': node.uuid,
                    'x': node.inputs.x.value,
                    'seed': node.inputs.seed.value,
                    'exit_status': node.exit_status,
                    'exit_message': node.exit_message,
                    'n_atoms': validation.get('n_atoms'),
                    'density_g_cm3': validation.get('density_g_cm3'),
                    'valid': validation.get('valid'),
                    'largest_void_radius_A': validation.get('largest_void_radius_A'),
                    'fraction_fourfold_si': validation.get('fraction_fourfold_si'),
                    'oxidation_classes': validation.get('oxidation_classes'),
                    'sites_done': sum(site.is_finished_ok for site in sites),
                    'sites_failed': [site.base.extras.get('siox_site', None) for site in sites if not site.is_finished_ok],
                    'site_seconds': [lifetime(site) for site in sites if site.is_finished_ok],
                    'md_seconds': lifetime(children['melt_quench']) if 'melt_quench' in children else None,
                    'bader_seconds': lifetime(children['bader']) if 'bader' in children else None,
                    'structure_seconds': lifetime(node),
                    # jobs taken from the cache (a chunk run again on one machine) make the lifetimes above short
                    'cached_jobs': sum(
                        1
                        for job in node.called_descendants
                        if job.node_type.startswith('process.calculation.calcjob') and job.base.caching.get_cache_source()
                    ),
                }
            )
    return cells


def finish(codes: dict, partial: bool, commit_each: bool = False, echo: Callable[[str], None] = print) -> None:
    """One dataset of every chunk, its trainings; their files here and their archive.

    Each training is archived as it ends (``archives/<name>.aiida``, committed with ``commit_each``), so a
    ``finish`` cut short by the end of a session goes on elsewhere from the trainings that ended.
    """
    import numpy as np

    from aiida_siox.calculations.dataset import assemble_dataset
    from aiida_siox.cli.dataset_io import export_dataset
    from aiida_siox.graph import REFERENCE_CHUNK
    from aiida_siox.workflows.assembly import assembly_inputs

    structures = finished_structures(partial)
    dataset = stored_dataset(structures)
    if dataset is None:
        echo(f'assembling {len(structures)} structures')
        dataset = assemble_dataset(**assembly_inputs(structures))['dataset']
        dataset.base.extras.set_many({REFERENCE_CHUNK: 'dataset', STRUCTURES_EXTRA: sorted(node.uuid for node in structures)})
    manifest = dataset.creator.outputs.manifest
    echo(f'dataset <{dataset.pk}>: {manifest["n_rows"]} rows, {len(manifest["missing"])} missing')
    assembly = dataset.creator
    rows = [assembly.inputs[label].creator for label in assembly.inputs if label.endswith('_rows')]
    trainings = {}
    for name in TRAININGS:
        trainings[name] = train(codes, dataset, name, echo)
        path = archive_path(name)
        # a training of hours outlives a machine: its own archive as soon as it ends (not for a trial on part of
        # the chunks: a new machine would import it in place of the real one; not the last, which final.aiida
        # holds a few seconds later: it would be compressed twice)
        if not partial and name != FINAL and not path.exists():
            export_training(path, [*rows, assembly, trainings[name]], echo)
            if commit_each:
                commit(path, f'reference study: training {name} archived', echo)
    n_rows = export_dataset(dataset.uuid, STUDY / 'dataset.npz')
    echo(f'  wrote reference_study/dataset.npz ({n_rows} rows)')
    shipped = trainings[FINAL]
    predictions = shipped.outputs.predictions
    np.savez_compressed(STUDY / 'predictions.npz', **{name: predictions.get_array(name) for name in predictions.get_arraynames()})
    metrics = {name: {'uuid': node.uuid, **node.outputs.metrics.get_dict()} for name, node in trainings.items()}
    # The model files ship once, inside archives/final.aiida (as the training's outputs): their UUIDs are here.
    metrics[FINAL]['models'] = {label: shipped.outputs[label].uuid for label in shipped.outputs if label.endswith('_model')}
    chunks = {chunk: chunk_node(chunk) for chunk in CHUNKS}
    summary = {
        'chunk_wall_seconds': {chunk: node.base.extras.get('siox_reference_wall_s', None) for chunk, node in chunks.items() if node},
        'training_seconds': {name: lifetime(node) for name, node in trainings.items()},
        'cores': codes['pw'].computer.get_default_mpiprocs_per_machine(),
        'cells': cell_summaries(),
    }
    (STUDY / 'cells.json').write_text(json.dumps(summary, indent=1))
    (STUDY / 'metrics.json').write_text(json.dumps(metrics, indent=1))
    # What finish made: the rows of each structure, their assembly and the trainings, in one archive; the
    # archives of single trainings are then in it, and go (commit their removal with the files above)
    export_training(archive_path(FINAL), [*rows, assembly, *trainings.values()], echo)
    for name in TRAININGS:
        if name != FINAL and archive_path(name).exists():
            archive_path(name).unlink()
            echo(f'  removed {shown(archive_path(name))}: its training is in {FINAL}.aiida')


def export_training(path: Path, nodes: list, echo: Callable[[str], None] = print) -> None:
    """Archive trainings with the rows and assembly of their dataset. The rows' inputs from the chunks come
    along as nodes (their creators are in the chunk archives, imported first)."""
    from aiida.tools.archive import create_archive

    create_archive(nodes, filename=path, overwrite=True, compression=9, create_backward=False)
    echo(f'  archived {shown(path)} ({path.stat().st_size / 1e6:.1f} MB)')


def commit(path: Path, message: str, echo: Callable[[str], None] = print) -> None:
    subprocess.run(['git', 'add', str(path)], cwd=STUDY, check=True)
    subprocess.run(['git', 'commit', '-q', '-m', message, '--', str(path)], cwd=STUDY, check=True)
    echo(f'  committed {shown(path)}')


def status(echo: Callable[[str], None] = print) -> None:
    """One line per chunk: archived (size), in this profile, or missing."""
    for chunk in CHUNKS:
        path = archive_path(chunk)
        node = chunk_node(chunk)
        archived = f'archived ({path.stat().st_size / 1e6:.1f} MB)' if path.exists() else 'not archived'
        ran = f'<{node.pk}> exit {node.exit_status}, {node.base.extras.get("siox_reference_wall_s", "?")} s' if node else 'not run'
        echo(f'{chunk:12s} {archived:24s} {ran}')
    total = sum(p.stat().st_size for p in ARCHIVES.glob('*.aiida')) / 1e6 if ARCHIVES.exists() else 0.0
    echo(f'archives: {total:.1f} MB')


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--profile', default='siox-reference')
    sub = parser.add_subparsers(dest='command', required=True)
    sub.add_parser('status', help='What is archived, what ran in this profile, what is missing.')
    run = sub.add_parser('run', help='Run the missing chunks in order, archiving each.')
    run.add_argument('--chunks', nargs='+', choices=CHUNKS, help='Only these chunks (default: every missing one).')
    run.add_argument('--max-chunks', type=int, default=None, help='Stop after this many chunks.')
    run.add_argument('--commit', action='store_true', help='git-commit each archive as soon as it is written.')
    export = sub.add_parser('export', help='Write the archives of chunks in this profile again (e.g. after a change of how they are cut).')
    export.add_argument('chunks', nargs='+', choices=CHUNKS)
    last = sub.add_parser('finish', help='Assemble every chunk into one dataset, train, and write the results here.')
    last.add_argument('--partial', action='store_true', help='Use the chunks that exist (a trial; nothing is final).')
    last.add_argument('--commit', action='store_true', help="git-commit each training's archive as soon as it is written.")
    args = parser.parse_args(argv)

    def echo(line: str) -> None:
        print(f'[{time.strftime("%H:%M:%S")}] {line}', flush=True)

    codes = load_environment(args.profile, echo)
    if args.command == 'status':
        status(echo)
        return
    if args.command == 'export':
        for chunk in args.chunks:
            node = chunk_node(chunk)
            if node is None:
                raise SystemExit(f'chunk {chunk} is not in profile {args.profile}: nothing to export')
            path = export_chunk(chunk, node)
            echo(f'  archived {shown(path)} ({path.stat().st_size / 1e6:.1f} MB)')
        return
    if args.command == 'finish':
        from aiida.manage.caching import enable_caching

        with enable_caching():  # run again after a stop: the assembly and finished trainings come from the cache
            finish(codes, args.partial, args.commit, echo)
        return
    todo = [chunk for chunk in (args.chunks or CHUNKS) if not archive_path(chunk).exists()]
    for chunk in todo[: args.max_chunks]:
        node = chunk_node(chunk) or run_chunk(chunk, codes, echo)
        path = export_chunk(chunk, node)
        echo(f'  archived {shown(path)} ({path.stat().st_size / 1e6:.1f} MB)')
        if args.commit:
            commit(path, f'reference study: chunk {chunk} archived', echo)
    status(echo)


if __name__ == '__main__':
    sys.exit(main())
