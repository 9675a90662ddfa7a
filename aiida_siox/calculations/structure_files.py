"""A user's structure file as a StructureData with its provenance: file node -> ``structure_from_file`` -> cell.

Files are read with ASE (extxyz, CIF, POSCAR, LAMMPS data, ... anything ``ase.io.read`` reads; the
format from the name unless given). The structure keeps the file's name and SHA-256 as attributes,
so that dataset rows made from it carry them.
"""

from __future__ import annotations

import hashlib
import io
import pathlib

from aiida import orm
from aiida.engine import calcfunction

from aiida_siox.analysis.user_structures import composition_x, user_structure_problems


class StructureFileError(ValueError):
    """A structure file that cannot be used (unreadable, other elements, overlapping atoms, no cell)."""


def read_structure_file(path: pathlib.Path, format: str | None = None):
    """The ASE Atoms of a file and the warnings of its checks; errors raise one line naming the file."""
    import ase.io

    path = pathlib.Path(path)
    if not path.is_file():
        raise StructureFileError(f'{path}: no such file')
    try:
        atoms = ase.io.read(path, format=format)
    except Exception as exception:  # ASE raises many types for unreadable files
        raise StructureFileError(f'{path.name}: ASE cannot read it ({type(exception).__name__}: {exception})') from None
    errors, warnings = user_structure_problems(atoms.get_chemical_symbols(), atoms.get_positions(), atoms.get_cell().array, list(atoms.pbc))
    if errors:
        raise StructureFileError(f'{path.name}: ' + '; '.join(errors))
    return atoms, warnings


@calcfunction
def structure_from_file(file: orm.SinglefileData, format: orm.Str) -> orm.StructureData:
    """The cell in ``file`` (read with ASE in ``format``), with ``source_filename`` and ``source_sha256``."""
    import ase.io

    content = file.get_content(mode='rb')
    atoms = ase.io.read(io.StringIO(content.decode()), format=format.value)
    structure = orm.StructureData(ase=atoms)
    structure.base.attributes.set('source_filename', file.filename)
    structure.base.attributes.set('source_sha256', hashlib.sha256(content).hexdigest())
    return structure


def structure_node(path: pathlib.Path, format: str | None = None) -> tuple[orm.StructureData, list[str]]:
    """Check a file, then store it and make its StructureData through :func:`structure_from_file`."""
    import ase.io.formats

    path = pathlib.Path(path)
    _, warnings = read_structure_file(path, format)  # every check before anything is stored
    format = format or ase.io.formats.filetype(str(path), read=True)
    file = orm.SinglefileData(path).store()
    return structure_from_file(file, orm.Str(format)), warnings


@calcfunction
def user_structure_x(structure: orm.StructureData) -> orm.Float:
    """x of a user's SiOx cell: O atoms per Si atom."""
    return orm.Float(composition_x(list(structure.get_ase().get_chemical_symbols())))
