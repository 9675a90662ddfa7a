"""The tables behind ``siox status``: progress per structure and per XANES site.

Built from a handful of QueryBuilder queries (not a walk over ``called_descendants``, which costs
one query per node), so that a dataset with thousands of site workchains answers in seconds.
"""

from __future__ import annotations

from collections import Counter

from aiida import orm

from aiida_siox.graph import DATASET, QUARTZ_CALIBRATION, RERUN_OF, SITE_SPECTRUM, SITE_XANES, STRUCTURE
from aiida_siox.workflows.rerun_failed import latest_run, requested_sites

STATES = ('done', 'running', 'failed', 'waiting')


def _state(process_state: str | None, exit_status: int | None) -> str:
    if process_state in ('finished',):
        return 'done' if exit_status == 0 else 'failed'
    if process_state in ('excepted', 'killed'):
        return 'failed'
    return 'running'


def _descendant_workflows(top: orm.WorkflowNode, process_type: str) -> list[orm.WorkflowNode]:
    """Workflows of ``process_type`` called (at any depth) by ``top``: one query per call level.

    QueryBuilder's ``with_ancestors`` follows data provenance links, not CALL links, so it is no use here.
    """
    if top.process_type == process_type:
        return [top]
    found, frontier = [], [top.pk]
    while frontier:
        query = orm.QueryBuilder().append(orm.WorkflowNode, filters={'id': {'in': frontier}}, tag='parent')
        query.append(orm.WorkflowNode, with_incoming='parent', edge_filters={'type': 'call_work'}, project=['id', 'process_type'])
        rows = query.all()
        frontier = [pk for pk, _ in rows]
        found.extend(pk for pk, kind in rows if kind == process_type)
    return [orm.load_node(pk) for pk in found]


def structure_work_label(node: orm.WorkflowNode) -> str:
    """``x1.00 seed 3`` for a SiOxStructureWorkChain of a composition, ``cell <file or label>`` for a user's cell."""
    if 'x' in node.inputs:
        return f'x{node.inputs.x.value:.2f} seed {node.inputs.seed.value}'
    cell = node.inputs.structure
    return f'cell {cell.base.attributes.get("source_filename", None) or cell.label or cell.pk}'


def _structure_label(xanes: orm.WorkflowNode) -> str:
    """``x1.00 seed 3`` when the XANES run belongs to a SiOxStructureWorkChain, else the structure's formula."""
    original = xanes
    while RERUN_OF in original.base.extras:
        original = orm.load_node(original.base.extras.get(RERUN_OF))
    caller = original.caller
    if caller is not None and caller.process_type == STRUCTURE:
        return structure_work_label(caller)
    if caller is not None and caller.process_type == QUARTZ_CALIBRATION:
        return 'alpha-quartz (calibration)'
    return f'{xanes.inputs.structure.get_formula()} <{xanes.inputs.structure.pk}>'


def site_rows(top: orm.WorkflowNode) -> list[dict]:
    """One row per requested Si site of every (newest) SiteXanesWorkChain under ``top``."""
    runs = {}
    for xanes in _descendant_workflows(top, SITE_XANES):
        newest = latest_run(xanes)
        runs[newest.pk] = newest
    if not runs:
        return []
    # Per-site child workchains of every run, with their states, in one query.
    query = orm.QueryBuilder().append(orm.WorkflowNode, filters={'id': {'in': list(runs)}}, tag='xanes', project='id')
    query.append(
        orm.WorkflowNode,
        with_incoming='xanes',
        edge_filters={'type': 'call_work'},
        edge_project='label',
        filters={'process_type': SITE_SPECTRUM},
        project=['id', 'attributes.process_state', 'attributes.exit_status'],
        tag='site',
    )
    children: dict[tuple[int, int], tuple[int, str]] = {}
    for row in query.dict():
        site = int(row['xanes--site']['label'].removeprefix('site_'))
        child = row['site']
        state = _state(child['attributes.process_state'], child['attributes.exit_status'])
        children[(row['xanes']['id'], site)] = (child['id'], state)
    # Spectra among the outputs (computed or reused from an earlier run), in one query.
    query = orm.QueryBuilder().append(orm.WorkflowNode, filters={'id': {'in': list(runs)}}, tag='xanes', project='id')
    query.append(
        orm.XyData, with_incoming='xanes', edge_filters={'label': {'like': 'raw_spectra__site_%'}}, edge_project='label', tag='raw'
    )
    outputs = {(row['xanes']['id'], int(row['xanes--raw']['label'].removeprefix('raw_spectra__site_'))) for row in query.dict()}

    rows = []
    for pk, run in sorted(runs.items()):
        structure = _structure_label(run)
        terminated = run.is_terminated
        for site in requested_sites(run):
            child_pk, state = children.get((pk, site), (None, None))
            if (pk, site) in outputs:
                state, note = 'done', 'computed' if child_pk else 'reused from an earlier run'
            elif state is None:
                state, note = ('failed', 'never started') if terminated else ('waiting', '')
            else:
                note = ''
            rows.append({'structure': structure, 'site': site, 'state': state, 'xanes': pk, 'site_workchain': child_pk, 'note': note})
    return rows


def structure_status_rows(top: orm.WorkflowNode) -> list[dict]:
    """One row per structure: melt-quench, XANES site counts by state, Bader, and the structure's own state."""
    sites = site_rows(top)
    rows: dict[str, dict] = {}
    for node in _descendant_workflows(top, STRUCTURE):
        label = structure_work_label(node)
        called = {n.base.attributes.get('process_label', ''): n for n in node.called}
        md = called.get('MeltQuenchWorkChain')
        bader = called.get('BaderWorkChain')
        absent = 'skipped' if node.is_terminated else 'waiting'
        rows[label] = {
            'structure': label,
            'pk': node.pk,
            'melt_quench': _state(md.process_state.value, md.exit_status) if md else absent,
            'bader': _state(bader.process_state.value, bader.exit_status) if bader else absent,
            'state': _state(node.process_state.value if node.process_state else None, node.exit_status),
        }
    for site in sites:
        rows.setdefault(site['structure'], {'structure': site['structure'], 'pk': None, 'melt_quench': '', 'bader': '', 'state': ''})
    counts: dict[str, Counter] = {label: Counter() for label in rows}
    for site in sites:
        counts[site['structure']][site['state']] += 1
    for label, row in rows.items():
        row.update({f'sites {state}': counts[label][state] for state in STATES})
    if top.process_type == DATASET:
        submitted = set(rows)
        for x in top.inputs.compositions.get_list() if 'compositions' in top.inputs else []:
            for seed in top.inputs.seeds.get_list():
                label = f'x{float(x):.2f} seed {seed}'
                if label not in submitted:
                    rows[label] = {'structure': label, 'pk': None, 'melt_quench': 'waiting', 'bader': 'waiting', 'state': 'waiting'}
                    rows[label].update({f'sites {state}': 0 for state in STATES})
    return sorted(rows.values(), key=lambda r: r['structure'])
