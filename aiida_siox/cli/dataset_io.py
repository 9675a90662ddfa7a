"""AiiDA side of ``siox dataset export`` / ``import``: dataset nodes <-> tables on disk."""

from __future__ import annotations

import pathlib

import numpy as np
from aiida import orm

from aiida_siox.analysis import dataset_table
from aiida_siox.graph import DATASET, IMPORTED_FROM, REASSEMBLED_FROM, STRUCTURE

ARRAY_NAMES = ('spectra', 'energy', 'charge', 'rdf', 'r', 'x', 'seed', 'site', 'n_o', 'n_si')


def load_dataset(identifier: str) -> orm.ArrayData:
    """The dataset ArrayData of ``identifier``: the node itself, or the ``dataset`` output of a workchain."""
    node = orm.load_node(identifier)
    if isinstance(node, orm.WorkflowNode):
        if 'dataset' not in node.outputs:
            raise ValueError(
                f'{node.process_label}<{node.pk}> has no dataset output (state: {node.process_state}, exit {node.exit_status})'
            )
        node = node.outputs.dataset
    if not isinstance(node, orm.ArrayData) or 'spectra' not in node.get_arraynames():
        raise ValueError(f'node {identifier} is not a dataset (ArrayData with spectra, charge, rdf, ...)')
    return node


def dataset_arrays(dataset: orm.ArrayData) -> dict[str, np.ndarray]:
    """Arrays of a dataset node, with its rows' structure, spectrum and charge UUIDs where it has them."""
    from aiida_siox.calculations.dataset import dataset_rows

    arrays = {name: dataset.get_array(name) for name in ARRAY_NAMES}
    try:
        rows = dataset_rows(dataset)
    except ValueError:  # an imported table: no nodes behind its rows
        return arrays
    arrays['structure_uuid'] = np.array([row['structure'] for row in rows])
    arrays['spectrum_uuid'] = np.array([row['spectrum'] for row in rows])
    arrays['charge_uuid'] = np.array([row['charges'] for row in rows])
    return arrays


def export_dataset(identifier: str, output: pathlib.Path) -> int:
    """Write the dataset of ``identifier`` to ``output`` (.npz or .csv); return the number of rows."""
    arrays = dataset_arrays(load_dataset(identifier))
    if output.suffix == '.npz':
        dataset_table.write_npz(arrays, output)
    elif output.suffix == '.csv':
        dataset_table.write_csv(arrays, output)
    else:
        raise ValueError(f'{output.name}: choose a .npz or .csv file name')
    return len(arrays['charge'])


def import_dataset(path: pathlib.Path, label: str | None = None) -> orm.ArrayData:
    """Validate a user's table and store it as a dataset node (source file name in its extras)."""
    arrays = dataset_table.read_table(path)
    node = orm.ArrayData()
    for name in ARRAY_NAMES:
        node.set_array(name, np.asarray(arrays[name], int if name in dataset_table.INTEGER_COLUMNS else float))
    node.label = label or f'imported from {path.name}'
    node.base.extras.set(IMPORTED_FROM, str(path.resolve()))
    return node.store()


def reassemble_dataset(identifier: str) -> dict[str, orm.Data]:
    """Assemble again the dataset of a SiOxDatasetWorkChain, with the newest XANES run of each structure.

    Runs ``assemble_dataset`` and ``structure_averages`` (calcfunctions: the new table's provenance
    shows exactly which spectra went in). Only structures that finished are used, as in the workchain.
    """
    from aiida_siox.calculations.dataset import assemble_dataset, structure_averages
    from aiida_siox.workflows.assembly import assembly_inputs

    node = orm.load_node(identifier)
    if node.process_type != DATASET:
        raise ValueError(f'<{node.pk}> is a {getattr(node, "process_label", type(node).__name__)}, not a SiOxDatasetWorkChain')
    structures = [n for n in node.called if n.process_type == STRUCTURE and n.is_finished_ok]
    if not structures:
        raise ValueError(f'SiOxDatasetWorkChain<{node.pk}> has no finished structure')
    result = assemble_dataset(**assembly_inputs(sorted(structures, key=lambda n: n.pk)))
    result['averages'] = structure_averages(result['dataset'])
    for output in result.values():
        output.base.extras.set(REASSEMBLED_FROM, node.uuid)
    return result
