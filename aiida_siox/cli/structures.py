"""The table behind ``siox structures``: one row per melt-quench, from the provenance graph."""

from __future__ import annotations

from aiida import orm

from aiida_siox.graph import MELT_QUENCH

COLUMNS = ('pk', 'x', 'seed', 'formula', 'density', 'min_dist', 'void_r', 'fourfold', 'Si0+', 'Si1+', 'Si2+', 'Si3+', 'Si4+', 'status')


def _composition_and_seed(node: orm.ProcessNode) -> tuple[float | None, int | None]:
    """(x, seed) of the starting cell, read off the calcfunction that built it."""
    creator = node.inputs.structure.creator
    if creator is not None and 'x' in creator.inputs and 'seed' in creator.inputs:
        return creator.inputs.x.value, creator.inputs.seed.value
    return None, node.inputs.parameters.get('seed')


def _status(node: orm.ProcessNode) -> str:
    if not node.is_terminated:
        return node.process_state.value if node.process_state else 'created'
    if node.is_finished_ok:
        return 'valid'
    if 'validation' in node.outputs and not node.outputs.validation['valid']:
        return 'INVALID: ' + '; '.join(node.outputs.validation['reasons'])
    return f'failed [{node.exit_status}] {node.exit_message or ""}'.strip()


def melt_quench_rows(nodes: list[orm.ProcessNode]) -> list[dict]:
    """One row per MeltQuenchWorkChain (or SiOxStructureWorkChain's ``melt_quench`` child)."""
    rows = []
    for node in nodes:
        x, seed = _composition_and_seed(node)
        row = dict.fromkeys(COLUMNS, '')
        symbols = node.inputs.structure.get_ase().get_chemical_symbols()
        formula = f'Si{symbols.count("Si")}' + (f'O{symbols.count("O")}' if 'O' in symbols else '')
        row.update(pk=node.pk, x=x, seed=seed, formula=formula, status=_status(node))
        if 'validation' in node.outputs:
            v = node.outputs.validation.get_dict()
            row.update(
                density=round(v['density_g_cm3'], 3),
                min_dist=round(v['min_distance_A'], 2),
                void_r=round(v['largest_void_radius_A'], 2),
                fourfold=round(v['fraction_fourfold_si'], 2),
            )
            n_si = sum(v['oxidation_classes'].values())
            row.update({label: round(count / n_si, 2) for label, count in v['oxidation_classes'].items()})
        rows.append(row)
    return sorted(rows, key=lambda r: (r['x'] if r['x'] is not None else -1, r['seed'] or 0, r['pk']))


def melt_quench_nodes(identifier: str) -> list[orm.ProcessNode]:
    """MeltQuenchWorkChains of a group label, or under a workchain (pk/UUID), e.g. a SiOxDatasetWorkChain."""
    from aiida.common.exceptions import MultipleObjectsError, NotExistent

    try:
        group = orm.load_group(label=identifier)
    except (NotExistent, MultipleObjectsError):
        group = None
    if group is not None:
        candidates = list(group.nodes)
    else:
        node = orm.load_node(identifier)
        candidates = [node, *node.called_descendants] if isinstance(node, orm.WorkflowNode) else [node]
    return [n for n in candidates if isinstance(n, orm.WorkflowNode) and n.process_type == MELT_QUENCH]
