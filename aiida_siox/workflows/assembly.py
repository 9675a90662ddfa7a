"""Inputs of ``assemble_dataset`` from finished SiOxStructureWorkChains, following XANES reruns.

Used by SiOxDatasetWorkChain (first assembly) and by ``siox dataset assemble`` (after
``siox rerun-failed``): a structure's spectra are those of its newest SiteXanesWorkChain, i.e. the
union of the first run's successes and the rerun sites.
"""

from __future__ import annotations

from aiida import orm
from aiida.common.links import LinkType

from aiida_siox.calculations.dataset import structure_rows
from aiida_siox.workflows.alignment import newest_version
from aiida_siox.workflows.rerun_failed import latest_run


def structure_xanes(node: orm.WorkflowNode) -> orm.WorkflowNode | None:
    """The newest SiteXanesWorkChain of a SiOxStructureWorkChain (None if XANES never ran)."""
    calls = node.base.links.get_outgoing(link_type=LinkType.CALL_WORK, link_label_filter='xanes').all_nodes()
    return latest_run(calls[0]) if calls else None


def structure_row_inputs(node: orm.WorkflowNode) -> dict[str, orm.Data]:
    """Inputs of :func:`~aiida_siox.calculations.dataset.structure_rows` for one SiOxStructureWorkChain."""
    inputs: dict[str, orm.Data] = {
        'structure': node.outputs.structure if 'structure' in node.outputs else node.outputs.md.structure,
        'x': node.inputs.x if 'x' in node.inputs else node.outputs.x,  # a user's cell: counted from it
        'seed': node.inputs.seed,
        'sites': node.outputs.sites,
        'rdfs': node.outputs.rdfs,
    }
    if 'charges' in node.outputs:
        inputs['charges'] = node.outputs.charges
    if 'structure' in node.inputs:  # a user's cell: its rows carry the file's name and hash
        inputs['initial_structure'] = node.inputs.structure
    xanes = structure_xanes(node)
    spectra = xanes.outputs.aligned_spectra if xanes is not None and 'aligned_spectra' in xanes.outputs else {}
    for site_key, spectrum in spectra.items():
        inputs[f'spectrum_{site_key.removeprefix("site_")}'] = newest_version(spectrum)  # after `siox realign`
    return inputs


def assembly_inputs(structure_nodes: list[orm.WorkflowNode]) -> dict[str, orm.Data]:
    """Runs :func:`structure_rows` per structure; its outputs as the ``s<k>_rows`` / ``s<k>_manifest``
    inputs of :func:`~aiida_siox.calculations.dataset.assemble_dataset`."""
    kwargs: dict[str, orm.Data] = {}
    for k, node in enumerate(structure_nodes):
        result = structure_rows(**structure_row_inputs(node))
        kwargs[f's{k}_rows'], kwargs[f's{k}_manifest'] = result['rows'], result['manifest']
    return kwargs
