"""Pieces shared by the workchains' ``get_builder_from_protocol``: job options, k-meshes, pw.x inputs."""

from __future__ import annotations

import pathlib
from importlib import resources
from typing import ClassVar

from aiida import orm
from aiida_quantumespresso.workflows.protocols.utils import ProtocolMixin

#: Default job options for the MPI codes on the local machine (2 MPI ranks); clusters override them.
LOCAL_OPTIONS = {'resources': {'num_machines': 1, 'num_mpiprocs_per_machine': 2}, 'withmpi': True, 'max_wallclock_seconds': 3600}
#: Default job options of the serial jobs (Bader, training).
SERIAL_OPTIONS = {'resources': {'num_machines': 1, 'num_mpiprocs_per_machine': 1}, 'withmpi': False, 'max_wallclock_seconds': 3600}


def protocol_file(name: str) -> pathlib.Path:
    """Path of the YAML protocol file ``name`` shipped in this package."""
    return pathlib.Path(str(resources.files('aiida_siox.protocols') / name))


class SioxProtocolMixin(ProtocolMixin):
    """aiida-quantumespresso's ``ProtocolMixin`` reading the YAML file ``_protocol_file`` shipped in this package."""

    _protocol_file: ClassVar[str]

    @classmethod
    def get_protocol_filepath(cls) -> pathlib.Path:
        return protocol_file(cls._protocol_file)


def mpi_options(options: dict | None = None) -> dict:
    """Job options of an MPI code: ``options`` over :data:`LOCAL_OPTIONS`."""
    return {**LOCAL_OPTIONS, **(options or {})}


def serial_options(options: dict | None = None, mpi: dict | None = None) -> dict:
    """Job options of a serial job: ``options`` over :data:`SERIAL_OPTIONS`, with the MPI codes' wall time."""
    wall = mpi_options(mpi)['max_wallclock_seconds']
    return {**SERIAL_OPTIONS, 'max_wallclock_seconds': wall, **(options or {})}


def kpoints_mesh(mesh: list[int]) -> orm.KpointsData:
    """A Monkhorst-Pack mesh as KpointsData."""
    kpoints = orm.KpointsData()
    kpoints.set_kpoints_mesh(mesh)
    return kpoints


def pw_scf_inputs(code: orm.AbstractCode, family_label: str, scf: dict, options: dict) -> dict:
    """Inputs of one (CancelTolerant)PwBaseWorkChain namespace without a structure, from a protocol's ``scf`` block.

    The family's Si and O pseudopotentials are both given; each run keeps the kinds its cell has.
    """
    family = orm.load_group(family_label)
    parameters = {
        'CONTROL': {'calculation': 'scf'},
        'SYSTEM': {
            'ecutwfc': scf['ecutwfc'],
            'ecutrho': scf['ecutrho'],
            'occupations': 'smearing',
            'smearing': scf['smearing'],
            'degauss': scf['degauss'],
        },
        'ELECTRONS': {'conv_thr': scf['conv_thr'], 'mixing_beta': scf['mixing_beta']},
    }
    return {
        'pw': {
            'code': code,
            'parameters': orm.Dict(parameters),
            'pseudos': {element: family.get_pseudo(element) for element in ('Si', 'O')},
            'metadata': {'options': options},
        },
        'kpoints': kpoints_mesh(scf['kpoints_mesh']),
    }


def require_codes(codes: dict, needed: set[str], what: str) -> None:
    """Raise a clear error when ``codes`` lacks one of ``needed``."""
    missing = needed - set(codes)
    if missing:
        raise ValueError(f'{what} needs codes {sorted(missing)}: run `siox setup` or pass them explicitly')
