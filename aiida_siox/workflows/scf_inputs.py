"""Inputs of one PwBaseWorkChain run for a given structure, from a shared ``scf`` namespace."""

from __future__ import annotations

from aiida import orm

from aiida_siox.workflows.pseudopotentials import pseudos_for_structure


def pw_base_inputs(
    scf: dict,
    structure: orm.StructureData,
    call_link_label: str,
    parameters: orm.Dict | None = None,
    extra_pseudos: dict | None = None,
) -> dict:
    """``scf`` (exposed PwBaseWorkChain inputs without a structure) completed for ``structure``.

    Pseudopotentials are reduced to the kinds present (a pure-Si cell has no O) after adding
    ``extra_pseudos`` (the absorber's core-hole pseudopotential); ``parameters`` replaces pw.x's.
    """
    pseudos = pseudos_for_structure(structure, {**scf['pw']['pseudos'], **(extra_pseudos or {})})
    pw = {**scf['pw'], 'structure': structure, 'pseudos': pseudos}
    if parameters is not None:
        pw['parameters'] = parameters
    return {**scf, 'pw': pw, 'metadata': {'call_link_label': call_link_label}}
