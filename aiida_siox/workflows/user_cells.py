"""Users' own structure files through the whole pipeline: files -> checked cells -> SiOxDatasetWorkChain.

Every file is read and checked (:func:`~aiida_siox.calculations.structure_files.read_structure_file`)
before any is stored; then each is stored as a SinglefileData and turned into a StructureData by the
calcfunction ``structure_from_file``, so that every dataset row made from it leads back to the file
(its name and SHA-256 are also written into the row's manifest entry).
"""

from __future__ import annotations

import pathlib
import re
from collections.abc import Callable

from aiida import orm

from aiida_siox.calculations.structure_files import StructureFileError, read_structure_file, structure_node
from aiida_siox.workflows.dataset import SiOxDatasetWorkChain


def cell_label(path: pathlib.Path, taken: set[str]) -> str:
    """A link-label-safe, unique label from a file name (``my-cell.extxyz`` -> ``my_cell``)."""
    base = re.sub(r'\W+', '_', path.stem).strip('_') or 'cell'
    label, number = base, 2
    while label in taken:
        label, number = f'{base}_{number}', number + 1
    return label


def cells_from_files(
    paths: list[pathlib.Path], format: str | None = None, echo: Callable[[str], None] = print
) -> dict[str, orm.StructureData]:
    """Checked, stored cells by label; all files are checked first, and any error stops before anything is stored.

    :raises StructureFileError: one line per file at fault.
    """
    errors = []
    for path in paths:
        try:
            read_structure_file(path, format)
        except StructureFileError as exception:
            errors.append(str(exception))
    if errors:
        raise StructureFileError('\n'.join(errors))
    cells: dict[str, orm.StructureData] = {}
    for path in paths:
        structure, warnings = structure_node(path, format)
        label = cell_label(pathlib.Path(path), set(cells))
        cells[label] = structure
        echo(f'{path}: {structure.get_formula()} ({len(structure.sites)} atoms) as StructureData<{structure.pk}>, label {label}')
        for warning in warnings:
            echo(f'  WARNING: {warning}')
    return cells


def user_cells_builder(
    codes: dict[str, orm.AbstractCode],
    cells: dict[str, orm.StructureData],
    protocol: str = 'fast',
    overrides: dict | None = None,
    relax: bool = False,
    **kwargs,
):
    """SiOxDatasetWorkChain builder for users' cells (``relax``: melt-quench each first with the protocol's MD).

    :param kwargs: passed on to :meth:`SiOxDatasetWorkChain.get_builder_from_protocol` (train, options, calibration...).
    """
    builder = SiOxDatasetWorkChain.get_builder_from_protocol(codes, protocol=protocol, overrides=overrides, cells=cells, **kwargs)
    builder.structure.relax = orm.Bool(relax)
    return builder
