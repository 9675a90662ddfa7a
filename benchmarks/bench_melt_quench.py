"""Melt-quench at the paper's fidelity: densities, coordination, and the orchestration overhead.

    .venv/bin/python benchmarks/bench_melt_quench.py --compositions 2,0 --protocol paper --supercell 4
    .venv/bin/python benchmarks/bench_melt_quench.py --compositions 1 --protocol fast --supercell 3 --by-hand

For each composition it runs MeltQuenchWorkChain in this process (real LAMMPS through the engine,
on the profile's `lmp@localhost`) and prints the final density against the paper's (2.25 g/cm3 at
x = 0, 2.30 at x = 2), the Si coordination classes, the workchain's wall time and LAMMPS's own
"Total wall time" for the same job(s); their ratio is the orchestration overhead. With --by-hand the
identical input (same script, data file and potential) is also run with plain `mpirun lmp` in a
temporary directory, in the same process, for a third number. Results also go to a JSON file.
"""

from __future__ import annotations

import argparse
import json
import pathlib
import subprocess
import tempfile
import time

from aiida_siox.protocols import PROTOCOLS

PAPER_DENSITY = {0.0: 2.25, 2.0: 2.30}


def run_by_hand(node, mpiprocs: int) -> float:
    """Wall time (s) of the first LAMMPS job's exact inputs run with plain mpirun, outside AiiDA."""
    job = next(n for n in node.called if n.process_label == 'LammpsRawCalculation')
    with tempfile.TemporaryDirectory() as workdir:
        path = pathlib.Path(workdir)
        (path / 'input.in').write_text(job.inputs.script.get_content())
        (path / 'structure.data').write_text(job.inputs.files.structure.get_content())
        (path / 'SiO.tersoff').write_text(job.inputs.files.potential.get_content())
        start = time.perf_counter()
        command = ['mpirun', '--allow-run-as-root', '-np', str(mpiprocs), 'lmp', '-in', 'input.in', '-screen', 'none']
        subprocess.run(command, cwd=path, check=True)
        return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--compositions', default='2,0')
    parser.add_argument('--seed', type=int, default=1)
    parser.add_argument('--supercell', type=int, default=4)
    parser.add_argument('--protocol', default='paper', choices=PROTOCOLS)
    parser.add_argument('--mpiprocs', type=int, default=2)
    parser.add_argument('--profile', default=None)
    parser.add_argument('--by-hand', action='store_true', help='Also run the same input with plain mpirun.')
    parser.add_argument('--output', type=pathlib.Path, default=pathlib.Path('bench_melt_quench.json'))
    args = parser.parse_args()

    from aiida import load_profile, orm
    from aiida.engine import run_get_node

    from aiida_siox.calculations.structure_builder import build_amorphous_seed, start_density_inputs
    from aiida_siox.workflows.melt_quench import MeltQuenchWorkChain
    from aiida_siox.workflows.structure_pipeline import SiOxStructureWorkChain

    load_profile(args.profile)
    code = orm.load_code('lmp@localhost')
    options = {'resources': {'num_machines': 1, 'num_mpiprocs_per_machine': args.mpiprocs}, 'max_wallclock_seconds': 24 * 3600}
    # the protocol's start volume (`reference`: the composition's reference density, held through an NVT melt)
    start_density = start_density_inputs(SiOxStructureWorkChain.get_protocol_inputs(args.protocol)['start_density'])
    results = []
    for x in (float(v) for v in args.compositions.split(',')):
        structure = build_amorphous_seed(orm.Float(x), orm.Int(args.seed), orm.Int(args.supercell), **start_density)
        builder = MeltQuenchWorkChain.get_builder_from_protocol(code, structure, args.seed, protocol=args.protocol, options=options)
        print(f'x = {x:g}: {structure.get_formula()} ({len(structure.sites)} atoms), protocol {args.protocol} ...', flush=True)
        start = time.perf_counter()
        outputs, node = run_get_node(builder)
        wall = time.perf_counter() - start
        if 'validation' not in outputs:
            print(f'  MeltQuenchWorkChain<{node.pk}> failed: {node.exit_status} {node.exit_message}')
            continue
        validation = outputs['validation'].get_dict()
        lammps_wall = outputs['summary']['lammps_wall_time_s']
        row = {
            'x': x,
            'pk': node.pk,
            'n_atoms': validation['n_atoms'],
            'exit_status': node.exit_status,
            'density_g_cm3': validation['density_g_cm3'],
            'paper_density_g_cm3': PAPER_DENSITY.get(x),
            'fraction_fourfold_si': validation['fraction_fourfold_si'],
            'coordination_classes': validation['coordination_classes'],
            'largest_void_radius_A': validation['largest_void_radius_A'],
            'workchain_wall_s': wall,
            'lammps_own_wall_s': lammps_wall,
            'overhead_ratio': wall / lammps_wall if lammps_wall else None,
        }
        if args.by_hand:
            row['by_hand_wall_s'] = run_by_hand(node, args.mpiprocs)
            row['workchain_over_by_hand'] = wall / row['by_hand_wall_s']
        results.append(row)
        paper = f' (paper {row["paper_density_g_cm3"]})' if row['paper_density_g_cm3'] else ''
        print(f'  density {row["density_g_cm3"]:.3f} g/cm3{paper}; four-fold Si {row["fraction_fourfold_si"]:.2f}')
        print(f'  coordination classes: {row["coordination_classes"]}')
        print(f'  workchain {wall:.1f} s, LAMMPS own {lammps_wall:.1f} s, ratio {row["overhead_ratio"]:.3f}', flush=True)
        if args.by_hand:
            print(f'  by hand {row["by_hand_wall_s"]:.1f} s, workchain / by hand {row["workchain_over_by_hand"]:.3f}', flush=True)
    args.output.write_text(json.dumps(results, indent=1))
    print(f'results in {args.output}')


if __name__ == '__main__':
    main()
