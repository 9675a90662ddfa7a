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
    gamma_tricks: bool = False,
) -> dict:
    """``scf`` (exposed PwBaseWorkChain inputs without a structure) completed for ``structure``.

    Pseudopotentials are reduced to the kinds present (a pure-Si cell has no O) after adding
    ``extra_pseudos`` (the absorber's core-hole pseudopotential); ``parameters`` replaces pw.x's.

    ``gamma_tricks``: on a Gamma-only mesh (and no ``settings`` of the user's), pw.x's real-wavefunction
    Gamma code (``K_POINTS gamma``): the same total energy and density (1e-8 Ry on a 24-atom cell) in about
    two thirds of the time. Only for SCFs whose wavefunctions no program reads after them: xspectra.x
    on a Gamma-trick save gives half the intensity (+-3 %), so the core-hole SCF never uses it.
    """
    pseudos = pseudos_for_structure(structure, {**scf['pw']['pseudos'], **(extra_pseudos or {})})
    pw = {**scf['pw'], 'structure': structure, 'pseudos': pseudos}
    if parameters is not None:
        pw['parameters'] = parameters
    if gamma_tricks and 'settings' not in pw and is_gamma_point_mesh(scf.get('kpoints')):
        pw['settings'] = orm.Dict({'gamma_only': True})
    return {**scf, 'pw': pw, 'metadata': {'call_link_label': call_link_label}}


def is_gamma_point_mesh(kpoints: orm.KpointsData | None) -> bool:
    """Whether ``kpoints`` is the 1x1x1 mesh without offset (the Gamma point alone)."""
    if kpoints is None:
        return False
    try:
        mesh, offset = kpoints.get_kpoints_mesh()
    except AttributeError:  # an explicit list of k-points, not a mesh
        return False
    return list(mesh) == [1, 1, 1] and not any(offset)
