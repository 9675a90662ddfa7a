"""``build_amorphous_seed``: the root of every provenance chain (composition + seed -> cell)."""

from __future__ import annotations

from aiida import orm
from aiida.engine import calcfunction

from aiida_siox.graph import COMPOSITION, SEED
from aiida_siox.structures import build_siox_cell


@calcfunction
def build_amorphous_seed(x: orm.Float, seed: orm.Int, supercell: orm.Int) -> orm.StructureData:
    """Random SiOx starting cell for composition ``x`` from ``seed`` in a ``supercell``^3 cubic SiO2 cell."""
    cell = build_siox_cell(x.value, seed.value, supercell=supercell.value)
    structure = orm.StructureData(cell=cell.cell.tolist())
    for symbol, position in zip(cell.symbols, cell.positions, strict=True):
        structure.append_atom(position=position.tolist(), symbols=symbol)
    structure.base.extras.set_many({COMPOSITION: x.value, SEED: seed.value})
    return structure
