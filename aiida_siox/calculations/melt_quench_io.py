"""Calcfunctions that write the melt-quench LAMMPS inputs and read its results back."""

from __future__ import annotations

import io

from aiida import orm
from aiida.engine import calcfunction

from aiida_siox.analysis import lammps_io
from aiida_siox.analysis.structure_checks import density, minimum_distance


@calcfunction
def prepare_melt_quench(structure: orm.StructureData, parameters: orm.Dict) -> dict[str, orm.SinglefileData]:
    """LAMMPS script and data file for ``structure`` with the schedule (and seed) in ``parameters``."""
    params = lammps_io.MeltQuenchParameters(**parameters.get_dict())
    ase = structure.get_ase()
    data = lammps_io.write_lammps_data(ase.get_chemical_symbols(), ase.positions, ase.cell[:])
    script = lammps_io.melt_quench_script(params)
    return {
        'script': orm.SinglefileData(io.BytesIO(script.encode()), filename='input.in'),
        'data': orm.SinglefileData(io.BytesIO(data.encode()), filename='structure.data'),
    }


@calcfunction
def prepare_melt_quench_resume(retrieved: orm.FolderData, parameters: orm.Dict, restart_name: orm.Str) -> dict[str, orm.SinglefileData]:
    """The restart file of an interrupted job and the script that resumes the schedule from it."""
    params = lammps_io.MeltQuenchParameters(**parameters.get_dict())
    content = retrieved.base.repository.get_object_content(restart_name.value, mode='rb')
    script = lammps_io.melt_quench_script(params, restart_file='resume.restart')
    return {
        'script': orm.SinglefileData(io.BytesIO(script.encode()), filename='input.in'),
        'restart': orm.SinglefileData(io.BytesIO(content), filename='resume.restart'),
    }


@calcfunction
def parse_melt_quench(initial_structure: orm.StructureData, **jobs: orm.Data) -> dict[str, orm.Data]:
    """Quenched structure, thermodynamic trace and a summary from the job(s) of one melt-quench.

    ``jobs`` holds ``job_<k>`` (retrieved folders, in the order they ran; the last one has
    ``final.data``) and ``results_<k>`` (aiida-lammps' parsed results, for LAMMPS's own wall time).
    The traces of resumed jobs are stitched into one.
    """
    folders = [jobs[key] for key in sorted(jobs) if key.startswith('job_')]
    symbols, positions, cell = lammps_io.read_lammps_data(folders[-1].base.repository.get_object_content('final.data'))
    if symbols != initial_structure.get_ase().get_chemical_symbols():
        raise ValueError('atom order of the quenched structure differs from the input structure')
    structure = orm.StructureData(cell=cell.tolist())
    for symbol, position in zip(symbols, positions, strict=True):
        structure.append_atom(position=position.tolist(), symbols=symbol)
    structure.base.extras.set_many(initial_structure.base.extras.all)

    segments = [
        lammps_io.read_thermo(folder.base.repository.get_object_content('thermo.dat'))
        for folder in folders
        if 'thermo.dat' in folder.base.repository.list_object_names()
    ]
    trace = lammps_io.stitch_thermo([segment for segment in segments if len(segment['step'])])
    thermo = orm.ArrayData()
    for name, values in trace.items():
        thermo.set_array(name, values)

    ase = structure.get_ase()
    wall_times = [
        jobs[key].get('compute_variables', {}).get('total_wall_time_seconds') for key in sorted(jobs) if key.startswith('results_')
    ]
    summary = {
        'density_g_cm3': density(ase.get_chemical_symbols(), ase.cell.array),
        'min_distance_A': minimum_distance(ase.positions, ase.cell.array),
        'n_atoms': len(ase),
        'formula': ase.get_chemical_formula(),
        'final_temperature_K': float(trace['temperature_K'][-1]),
        'n_jobs': len(folders),
        'first_step_per_job': [int(segment['step'][0]) for segment in segments if len(segment['step'])],
        'lammps_wall_time_s': float(sum(t for t in wall_times if t is not None)),
    }
    return {'structure': structure, 'thermo': thermo, 'summary': orm.Dict(summary)}
