"""Inputs of ``assemble_dataset`` from finished SiOxStructureWorkChains, following XANES reruns.

Each SiOxStructureWorkChain makes its own rows (``structure_rows``) as its last step. The dataset
takes them as they are unless something they were read from has been replaced since: a rerun of the
structure's XANES (``siox rerun-failed``) or a realigned spectrum (``siox realign``). Only those
structures' rows are made again, from the newest XANES run of each (the union of the first run's
successes and the rerun sites) and the newest version of each spectrum.
"""

from __future__ import annotations

from collections.abc import Mapping

from aiida import orm
from aiida.common.links import LinkType

from aiida_siox.calculations.bulk_arrays import read_arrays
from aiida_siox.calculations.dataset import structure_rows, table_columns
from aiida_siox.graph import RERUN_BY, SUPERSEDED_BY
from aiida_siox.workflows.alignment import newest_version
from aiida_siox.workflows.rerun_failed import latest_run


def structure_xanes(node: orm.WorkflowNode) -> orm.WorkflowNode | None:
    """The newest SiteXanesWorkChain of a SiOxStructureWorkChain (None if XANES never ran)."""
    calls = node.base.links.get_outgoing(link_type=LinkType.CALL_WORK, link_label_filter='xanes').all_nodes()
    return latest_run(calls[0]) if calls else None


def row_inputs(
    *,
    structure: orm.StructureData,
    x: orm.Float,
    seed: orm.Int,
    sites: orm.List,
    rdfs: orm.ArrayData,
    spectra: Mapping[str, orm.XyData],
    charges: orm.ArrayData | None = None,
    initial_structure: orm.StructureData | None = None,
) -> dict[str, orm.Data]:
    """Inputs of :func:`~aiida_siox.calculations.dataset.structure_rows`; ``spectra`` keyed ``site_<i>``."""
    inputs: dict[str, orm.Data] = {'structure': structure, 'x': x, 'seed': seed, 'sites': sites, 'rdfs': rdfs}
    if charges is not None:
        inputs['charges'] = charges
    if initial_structure is not None:  # a user's cell: its rows carry the file's name and hash
        inputs['initial_structure'] = initial_structure
    for site_key, spectrum in spectra.items():
        inputs[f'spectrum_{site_key.removeprefix("site_")}'] = spectrum
    return inputs


def structure_row_inputs(node: orm.WorkflowNode) -> dict[str, orm.Data]:
    """Inputs of ``structure_rows`` for a finished SiOxStructureWorkChain, after any rerun or realignment."""
    xanes = structure_xanes(node)
    spectra = xanes.outputs.aligned_spectra if xanes is not None and 'aligned_spectra' in xanes.outputs else {}
    return row_inputs(
        structure=node.outputs.structure if 'structure' in node.outputs else node.outputs.md.structure,
        x=node.inputs.x if 'x' in node.inputs else node.outputs.x,  # a user's cell: counted from it
        seed=node.inputs.seed,
        sites=node.outputs.sites,
        rdfs=node.outputs.rdfs,
        spectra={key: newest_version(spectrum) for key, spectrum in spectra.items()},  # after `siox realign`
        charges=node.outputs.charges if 'charges' in node.outputs else None,
        initial_structure=node.inputs.structure if 'structure' in node.inputs else None,
    )


def rerun_structures(pks: list[int]) -> set[int]:
    """Those of the SiOxStructureWorkChains ``pks`` whose XANES was rerun after it ended (``siox rerun-failed``): one query."""
    qb = orm.QueryBuilder().append(orm.WorkflowNode, filters={'id': {'in': pks}}, project='id', tag='structure')
    qb.append(orm.WorkflowNode, with_incoming='structure', edge_filters={'label': 'xanes'}, filters={'extras': {'has_key': RERUN_BY}})
    return set(qb.all(flat=True))


def tables_with_superseded_spectra(tables: list[orm.ArrayData]) -> set[str]:
    """UUIDs of those ``structure_rows`` tables with a spectrum realigned since (``siox realign``): one query."""
    if not tables:
        return set()
    contents = read_arrays(tables, ('values', 'uuids'))
    uuids = {table.uuid: table_columns(arrays)['spectrum_uuid'] for table, arrays in zip(tables, contents, strict=True)}
    spectra = [str(uuid) for column in uuids.values() for uuid in column]
    filters = {'uuid': {'in': spectra}, 'extras': {'has_key': SUPERSEDED_BY}}
    superseded = set(orm.QueryBuilder().append(orm.XyData, filters=filters, project='uuid').all(flat=True)) if spectra else set()
    return {table for table, column in uuids.items() if superseded.intersection(column.tolist())}


def current_rows(structure_nodes: list[orm.WorkflowNode]) -> dict[int, orm.ArrayData]:
    """By pk, the ``rows`` output of each SiOxStructureWorkChain that has one still current: its XANES
    was not rerun and none of its spectra realigned since. A few queries in all, not per structure."""
    pks = [node.pk for node in structure_nodes]
    qb = orm.QueryBuilder().append(orm.WorkflowNode, filters={'id': {'in': pks}}, project='id', tag='structure')
    qb.append(orm.ArrayData, with_incoming='structure', edge_filters={'label': 'rows', 'type': LinkType.RETURN.value}, project='*')
    own = dict(qb.all()) if pks else {}
    for pk in rerun_structures(pks) if own else ():
        own.pop(pk, None)
    stale = tables_with_superseded_spectra(list(own.values()))
    return {pk: rows for pk, rows in own.items() if rows.uuid not in stale}


def assembly_inputs(structure_nodes: list[orm.WorkflowNode]) -> dict[str, orm.ArrayData]:
    """The ``s<k>`` inputs of :func:`~aiida_siox.calculations.dataset.assemble_dataset`: each structure's
    own rows where current (:func:`current_rows`), else new rows from its newest spectra."""
    current = current_rows(structure_nodes)
    return {f's{k}': current.get(node.pk) or structure_rows(**structure_row_inputs(node)) for k, node in enumerate(structure_nodes)}
