"""``validate_quenched_structure``: the checks a quenched cell passes before any DFT is spent on it."""

from __future__ import annotations

import io
import tempfile

from aiida import orm
from aiida.engine import calcfunction

from aiida_siox.analysis.structure_checks import ValidationBounds, plot_coordination_histogram, validate_cell


@calcfunction
def validate_quenched_structure(structure: orm.StructureData, bounds: orm.Dict | None = None) -> dict[str, orm.Data]:
    """Density, minimum distance, voids and Si coordination classes, with a PNG histogram.

    ``validation['valid']`` is False when a bound is violated; ``validation['reasons']`` says which.
    """
    ase = structure.get_ase()
    report = validate_cell(
        ase.get_chemical_symbols(), ase.positions, ase.cell[:], ValidationBounds(**(bounds.get_dict() if bounds else {}))
    )
    with tempfile.NamedTemporaryFile(suffix='.png') as handle:
        plot_coordination_histogram(report, handle.name)
        png = handle.read()
    return {
        'validation': orm.Dict(report),
        'coordination_histogram': orm.SinglefileData(io.BytesIO(png), filename='coordination_histogram.png'),
    }
