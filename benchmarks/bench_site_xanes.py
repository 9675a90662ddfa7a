"""Per-site XANES wall time through the engine against the same pw.x + xspectra.x inputs run by hand.

    .venv/bin/python benchmarks/bench_site_xanes.py [--profile siox]

Without a usable profile it makes one as `siox setup` does (embedded profile, localhost computer,
codes and pseudopotential families), so it runs on a clean clone after README's set-up.

Cells: the 9-atom alpha-quartz cell and the `fast` protocol's own amorphous cell (x = 1, seed 1,
its random start melt-quenched with the fast MD schedule), the `fast` protocol's settings, the first
Si site, on the profile's localhost codes and pseudopotential families (run `siox setup` first).

For each cell: one SiteXanesWorkChain with a fixed calibration runs the ground-state SCF and one
site (core-hole SCF, then one xspectra job for x, y, z) in this process; the site's wall time is its
SiteSpectrumWorkChain's ctime -> mtime. Then the core-hole SCF and the three xspectra runs are
repeated by hand with plain `mpirun` on copies of the exact input files the engine wrote
(aiida.in, pseudo/, aiida_x/y/z.in, the core wavefunction), in a temporary directory, one after
another as the workchain runs them, with the same MPI ranks. The ratio engine / by hand is the orchestration
overhead. Both runs happen in the same process, back to back, so machine noise affects both alike.
Last line: `site xanes engine/bare: quartz9 A.AA, amorphous B.BB (N atoms)`.
"""

from __future__ import annotations

import argparse
import json
import pathlib
import shutil
import subprocess
import tempfile
import time

from aiida_siox.workflows.site_xanes import SiteXanesWorkChain


def run_by_hand(core_hole_calc, xspectra_calc, mpiprocs: int) -> float:
    """Wall time (s) of the site's pw.x run and three xspectra.x runs, by hand from the engine's own input files."""
    mpirun = ['mpirun', '--allow-run-as-root', '-np', str(mpiprocs)]
    with tempfile.TemporaryDirectory() as workdir:
        path = pathlib.Path(workdir)
        source = pathlib.Path(core_hole_calc.outputs.remote_folder.get_remote_path())
        shutil.copy(source / 'aiida.in', path / 'aiida.in')
        shutil.copytree(source / 'pseudo', path / 'pseudo')
        remote = pathlib.Path(xspectra_calc.outputs.remote_folder.get_remote_path())
        start = time.perf_counter()
        with open(path / 'pw.out', 'w') as out:
            subprocess.run([*mpirun, 'pw.x', '-in', 'aiida.in'], cwd=path, stdout=out, check=True)
        shutil.copy(remote / 'stdout', path / 'stdout')  # the core wavefunction (filecore)
        for polarisation in xspectra_calc.inputs.polarisations.get_list():
            shutil.copy(remote / f'aiida_{polarisation}.in', path / f'xspectra_{polarisation}.in')
            with open(path / f'xspectra_{polarisation}.out', 'w') as out:
                subprocess.run([*mpirun, 'xspectra.x', '-in', f'xspectra_{polarisation}.in'], cwd=path, stdout=out, check=True)
        return time.perf_counter() - start


def amorphous_cell(codes: dict, protocol: str = 'fast', x: float = 1.0, seed: int = 1):
    """The protocol's own amorphous SiOx cell: its random start, melt-quenched with its MD schedule."""
    from aiida import orm
    from aiida.engine import run_get_node

    from aiida_siox.calculations.structure_builder import build_amorphous_seed
    from aiida_siox.workflows.melt_quench import MeltQuenchWorkChain
    from aiida_siox.workflows.structure_pipeline import SiOxStructureWorkChain

    supercell = SiOxStructureWorkChain.get_protocol_inputs(protocol)['supercell']
    start = build_amorphous_seed(orm.Float(x), orm.Int(seed), orm.Int(supercell))
    builder = MeltQuenchWorkChain.get_builder_from_protocol(codes['lmp'], start, seed, protocol=protocol)
    results, node = run_get_node(builder)
    if not node.is_finished_ok:
        raise SystemExit(f'MeltQuenchWorkChain<{node.pk}> failed: {node.exit_status} {node.exit_message}')
    return results['structure']


def measure_site(structure, inputs: dict, mpiprocs: int) -> dict:
    """One Si site through SiteXanesWorkChain, then the same pw.x and xspectra.x runs by hand; wall times and ratio."""
    from aiida import orm
    from aiida.engine import run_get_node

    symbols = structure.get_ase().get_chemical_symbols()
    site_index = symbols.index('Si')
    _, node = run_get_node(SiteXanesWorkChain, structure=structure, sites=orm.List([site_index]), **inputs)
    if not node.is_finished_ok:
        raise SystemExit(f'SiteXanesWorkChain<{node.pk}> failed: {node.exit_status} {node.exit_message}')
    site = next(n for n in node.called if n.process_label == 'SiteSpectrumWorkChain')
    engine = (site.mtime - site.ctime).total_seconds()
    core_hole = next(n for n in site.called_descendants if n.process_label == 'PwCalculation')
    xspectra = next(n for n in site.called_descendants if n.process_label == 'XspectraPolarisationsCalculation')
    by_hand = run_by_hand(core_hole, xspectra, mpiprocs)
    return {'n_atoms': len(symbols), 'pk': node.pk, 'site_engine_s': engine, 'site_by_hand_s': by_hand, 'ratio': engine / by_hand}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--profile', default=None)
    parser.add_argument('--output', type=pathlib.Path, default=pathlib.Path('bench_site_xanes.json'))
    args = parser.parse_args()

    from aiida import orm

    from aiida_siox.calculations.structure_edit import alpha_quartz
    from aiida_siox.setup.environment import DEFAULT_CONFIG_DIR, setup_all

    # reuses what exists; otherwise makes the embedded profile, computer, codes and pseudopotential families
    codes = setup_all(DEFAULT_CONFIG_DIR, args.profile, production=False, pseudos=True, echo=print, warm_bader=False)['codes']
    calibration = orm.Dict({'constant_ev': 1900.0, 'target_ev': 1846.0, 'alignment': 'fch'})
    inputs = dict(SiteXanesWorkChain.get_builder_from_protocol(codes, protocol='fast', calibration=calibration))
    mpiprocs = inputs['scf']['pw']['metadata']['options']['resources']['num_mpiprocs_per_machine']
    results = {}
    for name, structure in (('quartz9', alpha_quartz()), ('amorphous', amorphous_cell(codes))):
        print(f'{name}: {len(structure.sites)} atoms ...', flush=True)
        row = measure_site(structure, inputs, mpiprocs)
        results[name] = row
        print(f'  site through the engine {row["site_engine_s"]:.1f} s, by hand {row["site_by_hand_s"]:.1f} s', flush=True)
    args.output.write_text(json.dumps(results, indent=1))
    print(f'results in {args.output}; {mpiprocs} MPI ranks per job, jobs one after another on both sides')
    quartz, amorphous = results['quartz9'], results['amorphous']
    print(f'site xanes engine/bare: quartz9 {quartz["ratio"]:.2f}, amorphous {amorphous["ratio"]:.2f} ({amorphous["n_atoms"]} atoms)')


if __name__ == '__main__':
    main()
