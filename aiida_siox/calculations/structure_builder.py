"""``build_amorphous_seed``: the root of every provenance chain (composition + seed -> cell)."""

from __future__ import annotations

from aiida import orm
from aiida.engine import calcfunction

from aiida_siox.analysis.structure_checks import reference_density
from aiida_siox.graph import COMPOSITION, SEED
from aiida_siox.structures import build_siox_cell

#: Start volumes of a random cell: the lattice's own, or scaled to the composition's reference density.
START_DENSITIES = ('lattice', 'reference')


def start_density_inputs(start_density: str) -> dict[str, orm.Str]:
    """The ``start_density`` input of :func:`build_amorphous_seed` for a protocol's value: none for ``lattice``,
    so cells built before the option keep their cache hash."""
    return {} if start_density == 'lattice' else {'start_density': orm.Str(start_density)}


@calcfunction
def build_amorphous_seed(x: orm.Float, seed: orm.Int, supercell: orm.Int, start_density: orm.Str | None = None) -> orm.StructureData:
    """Random SiOx starting cell for composition ``x`` from ``seed`` in a ``supercell``^3 cubic SiO2 cell.

    ``start_density`` ``reference`` scales the cell to :func:`reference_density` of ``x`` (a-Si + a-SiO2
    mixture), the start for an NVT melt that holds that volume; ``lattice`` (or none) keeps the lattice's.
    """
    scaled = start_density is not None and start_density.value == 'reference'
    density = reference_density(x.value) if scaled else None
    cell = build_siox_cell(x.value, seed.value, supercell=supercell.value, density=density)
    structure = orm.StructureData(cell=cell.cell.tolist())
    for symbol, position in zip(cell.symbols, cell.positions, strict=True):
        structure.append_atom(position=position.tolist(), symbols=symbol)
    structure.base.extras.set_many({COMPOSITION: x.value, SEED: seed.value})
    return structure
