"""Per-site XANES wall time through the engine against the same pw.x + xspectra.x inputs run by hand.

    .venv/bin/python benchmarks/bench_site_xanes.py                 # alpha-quartz 1x1x1, 2x1x1, 2x2x1
    .venv/bin/python benchmarks/bench_site_xanes.py --repeats 1,1,1 2,1,1 --profile siox

Cells: alpha-quartz supercells (9, 18, 36 atoms: well-behaved cells of the sizes the issue names,
12/24/48, rounded to quartz's 9-atom unit), the `fast` protocol's settings, site 0, on the
profile's localhost codes and pseudopotential families (run `siox setup` first).

For each cell: one SiteXanesWorkChain with a fixed calibration runs the ground-state SCF and one
site (core-hole SCF + xspectra x, y, z) in this process; the site's wall time is its
SiteSpectrumWorkChain's ctime -> mtime. Then the core-hole SCF and the three xspectra runs are
repeated by hand with plain `mpirun` on copies of the exact input files the engine wrote
(aiida.in, pseudo/, the core wavefunction), in a temporary directory, one after another as the
workchain runs them. The ratio engine / by hand is the orchestration overhead (target <= 1.05).
Both runs happen in the same process, back to back, so machine noise affects both alike.
"""

from __future__ import annotations

import argparse
import json
import pathlib
import shutil
import subprocess
import tempfile
import time


def run_by_hand(core_hole_calc, xspectra_calcs, mpiprocs: int) -> float:
    """Wall time (s) of the site's four jobs re-run by hand from the engine's own input files."""
    mpirun = ['mpirun', '--allow-run-as-root', '-np', str(mpiprocs)]
    with tempfile.TemporaryDirectory() as workdir:
        path = pathlib.Path(workdir)
        source = pathlib.Path(core_hole_calc.outputs.remote_folder.get_remote_path())
        shutil.copy(source / 'aiida.in', path / 'aiida.in')
        shutil.copytree(source / 'pseudo', path / 'pseudo')
        start = time.perf_counter()
        with open(path / 'pw.out', 'w') as out:
            subprocess.run([*mpirun, 'pw.x', '-in', 'aiida.in'], cwd=path, stdout=out, check=True)
        for calc in xspectra_calcs:
            remote = pathlib.Path(calc.outputs.remote_folder.get_remote_path())
            shutil.copy(remote / 'aiida.in', path / 'xspectra.in')
            shutil.copy(remote / 'stdout', path / 'stdout')  # the core wavefunction (filecore)
            with open(path / 'xspectra.out', 'w') as out:
                subprocess.run([*mpirun, 'xspectra.x', '-in', 'xspectra.in'], cwd=path, stdout=out, check=True)
        return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--repeats', nargs='+', default=['1,1,1', '2,1,1', '2,2,1'], help='Supercells of alpha-quartz.')
    parser.add_argument('--profile', default=None)
    parser.add_argument('--output', type=pathlib.Path, default=pathlib.Path('bench_site_xanes.json'))
    args = parser.parse_args()

    from aiida import load_profile, orm
    from aiida.engine import run_get_node

    from aiida_siox.calculations.structure_edit import alpha_quartz
    from aiida_siox.setup.environment import load_pipeline_codes
    from aiida_siox.workflows.site_xanes import SiteXanesWorkChain

    load_profile(args.profile)
    codes = load_pipeline_codes()
    calibration = orm.Dict({'constant_ev': 1900.0, 'target_ev': 1846.0, 'alignment': 'fch'})
    inputs = dict(SiteXanesWorkChain.get_builder_from_protocol(codes, protocol='fast', calibration=calibration))
    mpiprocs = inputs['scf']['pw']['metadata']['options']['resources']['num_mpiprocs_per_machine']
    quartz = alpha_quartz().get_ase()
    results = []
    for repeat in args.repeats:
        reps = [int(v) for v in repeat.split(',')]
        structure = orm.StructureData(ase=quartz.repeat(reps))
        n_atoms = len(structure.sites)
        print(f'alpha-quartz x {reps}: {n_atoms} atoms ...', flush=True)
        _, node = run_get_node(SiteXanesWorkChain, structure=structure, sites=orm.List([0]), **inputs)
        if not node.is_finished_ok:
            print(f'  SiteXanesWorkChain<{node.pk}> failed: {node.exit_status} {node.exit_message}')
            continue
        site = next(n for n in node.called if n.process_label == 'SiteSpectrumWorkChain')
        engine = (site.mtime - site.ctime).total_seconds()
        core_hole = next(n for n in site.called_descendants if n.process_label == 'PwCalculation')
        xspectra = sorted((n for n in site.called_descendants if n.process_label == 'XspectraCalculation'), key=lambda n: n.ctime)
        by_hand = run_by_hand(core_hole, xspectra, mpiprocs)
        row = {
            'n_atoms': n_atoms,
            'repeat': reps,
            'pk': node.pk,
            'site_engine_s': engine,
            'site_by_hand_s': by_hand,
            'ratio': engine / by_hand,
        }
        results.append(row)
        print(f'  site through the engine {engine:.1f} s, by hand {by_hand:.1f} s, ratio {row["ratio"]:.3f}', flush=True)
    args.output.write_text(json.dumps(results, indent=1))
    print(f'results in {args.output}')


if __name__ == '__main__':
    main()
