"""Calcfunctions that derive structures: the absorber-marked cell and the alpha-quartz reference."""

from __future__ import annotations

from aiida import orm
from aiida.engine import calcfunction

#: Kind name of the absorbing Si (carries the 1s core-hole pseudopotential).
ABSORBER_KIND = 'SiX'


def absorber_species_index(kind_names: list[str]) -> int:
    """1-based index of the absorber among kind names as pw.x lists them (sorted): xspectra's ``xiabs``."""
    return sorted(set(kind_names)).index(ABSORBER_KIND) + 1


@calcfunction
def mark_absorber(structure: orm.StructureData, site: orm.Int) -> orm.StructureData:
    """Copy of ``structure`` whose Si at ``site`` is the kind :data:`ABSORBER_KIND`."""
    index = site.value
    if not 0 <= index < len(structure.sites) or structure.get_kind(structure.sites[index].kind_name).symbol != 'Si':
        raise ValueError(f'site {index} is not a Si atom of the structure')
    marked = orm.StructureData(cell=structure.cell, pbc=structure.pbc)
    for i, atom in enumerate(structure.sites):
        symbol = structure.get_kind(atom.kind_name).symbol
        marked.append_atom(position=atom.position, symbols=symbol, name=ABSORBER_KIND if i == index else symbol)
    return marked


@calcfunction
def alpha_quartz(repeat: orm.List | None = None) -> orm.StructureData:
    """Alpha-quartz (P3_221, a = 4.913 A, c = 5.405 A; Si 3a, O 6c), repeated ``repeat`` times: the calibration reference."""
    from aiida_siox.structures.quartz import alpha_quartz_atoms

    return orm.StructureData(ase=alpha_quartz_atoms(tuple(repeat.get_list()) if repeat is not None else (1, 1, 1)))


def pick_sites(symbols: list[str], count: int | None) -> list[int]:
    """``count`` Si sites spread evenly over the Si atoms (all of them when ``count`` is None)."""
    import numpy as np

    silicon = [i for i, s in enumerate(symbols) if s == 'Si']
    if count is None or count >= len(silicon):
        return silicon
    return [silicon[int(i)] for i in np.linspace(0, len(silicon) - 1, count).round().astype(int)]


@calcfunction
def select_sites(structure: orm.StructureData, count: orm.Int) -> orm.List:
    """Si sites chosen for XANES: ``count`` spread evenly over the Si atoms (all if count <= 0)."""
    value = count.value if count.value > 0 else None
    return orm.List(pick_sites(structure.get_ase().get_chemical_symbols(), value))
