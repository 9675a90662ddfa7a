"""Re-running only the failed sites of :class:`SiteXanesWorkChain` runs.

A rerun is a new SiteXanesWorkChain with the old one's inputs, its finished sites handed over in
the ``previous`` namespaces (passed through as the same nodes, never recomputed) and its
ground-state SCF reused. Its outputs are therefore the union of old successes and new results. The
two are linked both ways by extras (``siox_rerun_of`` / ``siox_rerun_by``) so that later stages and
``siox status`` follow a structure's XANES to its newest run.
"""

from __future__ import annotations

from aiida import orm
from aiida.common.exceptions import NotExistent
from aiida.common.links import LinkType
from aiida.engine import ProcessBuilder

from aiida_siox.graph import RERUN_BY, RERUN_OF, SITE_XANES


def latest_run(node: orm.WorkflowNode) -> orm.WorkflowNode:
    """The newest rerun of a SiteXanesWorkChain (itself if it was never rerun)."""
    while RERUN_BY in node.base.extras:
        node = orm.load_node(node.base.extras.get(RERUN_BY))
    return node


def requested_sites(node: orm.WorkflowNode) -> list[int]:
    """The Si sites a SiteXanesWorkChain was asked for (all Si atoms when ``sites`` was not given)."""
    if 'sites' in node.inputs:
        return list(node.inputs.sites.get_list())
    return [i for i, s in enumerate(node.inputs.structure.get_ase().get_chemical_symbols()) if s == 'Si']


def finished_sites(node: orm.WorkflowNode) -> list[int]:
    """Sites with a spectrum among the outputs (computed in this run or reused from an earlier one)."""
    if 'raw_spectra' not in node.outputs:
        return []
    return sorted(int(key.removeprefix('site_')) for key in node.outputs.raw_spectra)


def missing_sites(node: orm.WorkflowNode) -> list[int]:
    return sorted(set(requested_sites(node)) - set(finished_sites(node)))


def site_xanes_runs(node: orm.ProcessNode) -> list[orm.WorkflowNode]:
    """The newest run of every SiteXanesWorkChain at or under ``node`` (a dataset, structure or XANES workchain)."""
    if node.process_type == SITE_XANES:
        candidates = [node]
    else:
        candidates = [n for n in node.called_descendants if n.process_type == SITE_XANES]
    latest = {}
    for candidate in candidates:
        newest = latest_run(candidate)
        latest[newest.uuid] = newest
    return sorted(latest.values(), key=lambda n: n.pk)


def runs_to_rerun(node: orm.ProcessNode) -> tuple[list[orm.WorkflowNode], list[str]]:
    """(runs with missing sites that can be rerun now, reasons why others were passed over)."""
    rerun, skipped = [], []
    for run in site_xanes_runs(node):
        if not run.is_terminated:
            skipped.append(f'SiteXanesWorkChain<{run.pk}> is still {run.process_state.value}: wait for it to finish')
        elif missing_sites(run):
            rerun.append(run)
    return rerun, skipped


def restart_inputs(node: orm.WorkflowNode) -> dict:
    """``node``'s inputs (links and metadata, as ``get_builder_restart`` reads them) in today's input shape.

    Runs made before a site became one job (issue 16) had an ``xspectra.metadata`` namespace (the
    xspectra jobs' own options, now the site job's ``scf.pw.metadata.options``) and no
    ``energy_zero_code`` (their xe0 step was a calcfunction; it now runs inside the site job, with the
    computer's siox-python code).
    """
    from aiida_siox.setup.environment import CODE_FILES

    inputs = node.base.links.get_incoming(link_type=(LinkType.INPUT_CALC, LinkType.INPUT_WORK)).nested()
    node.recursive_merge(inputs, node.get_metadata_inputs() or {})
    old_options = inputs.get('xspectra', {}).pop('metadata', {}).get('options', {})
    if old_options:
        pw_metadata = inputs.setdefault('scf', {}).setdefault('pw', {}).setdefault('metadata', {})
        pw_metadata['options'] = {**old_options, **pw_metadata.get('options', {})}  # the SCF's own options win
    namelist = inputs['xspectra']['parameters'].get_dict().get('INPUT_XSPECTRA', {})
    mid_gap = inputs['xe0_mid_gap'].value if 'xe0_mid_gap' in inputs else True
    if mid_gap and 'xe0' not in namelist and 'energy_zero_code' not in inputs:
        computer = inputs['scf']['pw']['code'].computer
        try:
            inputs['energy_zero_code'] = orm.load_code(f'{CODE_FILES["python"]}@{computer.label}')
        except NotExistent as exception:
            raise ValueError(
                f'SiteXanesWorkChain<{node.pk}> ran before xe0 was set inside the site job, which needs the '
                f'{CODE_FILES["python"]} code on computer {computer.label!r}: run `siox setup` first'
            ) from exception
    return inputs


def rerun_builder(node: orm.WorkflowNode, overrides: dict | None = None) -> ProcessBuilder:
    """Builder of a SiteXanesWorkChain that computes only ``node``'s missing sites.

    :param overrides: ``{"scf_parameters": {...}, "options": {...}}`` applied to every missing site
        (e.g. ``{"ELECTRONS": {"mixing_beta": 0.2}}``, ``{"max_wallclock_seconds": 7200}``). They
        replace any earlier override of those sites: an override that made a site fail is not kept.
    """
    if node.process_type != SITE_XANES:
        raise ValueError(f'<{node.pk}> is a {node.process_label}, not a SiteXanesWorkChain')
    if not node.is_terminated:
        raise ValueError(f'SiteXanesWorkChain<{node.pk}> has not terminated yet')
    missing = missing_sites(node)
    if not missing:
        raise ValueError(f'SiteXanesWorkChain<{node.pk}> has no failed or missing sites')
    builder = node.process_class.get_builder()
    builder._update(restart_inputs(node))
    builder.sites = orm.List(requested_sites(node))
    if 'ground_state' in node.outputs:
        builder.ground_state = node.outputs.ground_state
    builder.previous = {
        key: dict(node.outputs[key]) for key in ('raw_spectra', 'aligned_spectra', 'delta_scf', 'alignments') if key in node.outputs
    }
    earlier = node.inputs.site_overrides.get_dict() if 'site_overrides' in node.inputs else {}
    kept = {site: value for site, value in earlier.items() if int(site) not in missing}
    new = {str(site): overrides for site in missing} if overrides else {}
    if kept or new:
        builder.site_overrides = orm.Dict({**kept, **new})
    elif 'site_overrides' in builder:
        del builder['site_overrides']
    builder.metadata.label = node.label
    builder.metadata.description = f'rerun of sites {missing} of SiteXanesWorkChain<{node.pk}>'
    return builder


def link_rerun(old: orm.WorkflowNode, new: orm.WorkflowNode) -> None:
    """Record the rerun on both nodes (extras: provenance links cannot point from an old node to a new one)."""
    old.base.extras.set(RERUN_BY, new.uuid)
    new.base.extras.set(RERUN_OF, old.uuid)


def rerun_overrides(mixing_beta: float | None = None, walltime: int | None = None) -> dict:
    """``site_overrides`` of the rerun sites from the usual remedies: a lower pw.x mixing beta, a longer wall time."""
    overrides: dict = {}
    if mixing_beta is not None:
        overrides['scf_parameters'] = {'ELECTRONS': {'mixing_beta': mixing_beta}}
    if walltime is not None:
        overrides['options'] = {'max_wallclock_seconds': walltime}
    return overrides


def submit_reruns(
    runs: list[orm.WorkflowNode],
    overrides: dict | None = None,
    max_concurrent_sites: int | None = None,
    echo=print,
) -> list[orm.WorkflowNode]:
    """Submit one rerun per run in ``runs`` (each computes only its missing sites) and link it; return the new nodes."""
    from aiida.engine import submit

    submitted = []
    for run in runs:
        missing = missing_sites(run)
        builder = rerun_builder(run, overrides)
        if max_concurrent_sites is not None:
            builder.max_concurrent_sites = orm.Int(max_concurrent_sites)
        new = submit(builder)
        link_rerun(run, new)
        submitted.append(new)
        echo(f'SiteXanesWorkChain<{new.pk}> reruns sites {missing} of <{run.pk}>')
    return submitted
