"""Which melt-quench gives small SiOx cells the paper's density and coordination? (issue 18)

Runs LAMMPS directly (no AiiDA: the question is physics, not provenance) on the reference study's
cell size for x = 0, 1, 2 and five seeds, with four remedies, and prints one table per remedy:

- ``npt``: the lattice's own start volume, NPT throughout (the ``fast`` protocol today);
- ``ref-nvt-melt``: start scaled to the reference density of the composition, NVT while molten,
  NPT cool;
- ``ref-nvt``: start scaled to the reference density, NVT melt and cool (volume held), then the
  final box/relax minimisation at 1 atm;
- ``npt-larger``: a 3x3x3 cell (2.5-3.4x the atoms) under NPT throughout.

Usage: ``.venv/bin/python reference_study/density_remedies.py [--hold 100000 --cool 300000]``.
"""

from __future__ import annotations

import argparse
import subprocess
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from aiida_siox.analysis import lammps_io
from aiida_siox.analysis.structure_checks import reference_density, validate_cell
from aiida_siox.structures import build_siox_cell

POTENTIAL = Path('/usr/share/lammps/potentials/SiO.tersoff')
REMEDIES = {
    'npt': {'supercell': 2, 'scaled': False, 'melt_ensemble': 'npt', 'cool_ensemble': 'npt'},
    'ref-nvt-melt': {'supercell': 2, 'scaled': True, 'melt_ensemble': 'nvt', 'cool_ensemble': 'npt'},
    'ref-nvt': {'supercell': 2, 'scaled': True, 'melt_ensemble': 'nvt', 'cool_ensemble': 'nvt'},
    'npt-larger': {'supercell': 3, 'scaled': False, 'melt_ensemble': 'npt', 'cool_ensemble': 'npt'},
}


def quench(x: float, seed: int, remedy: dict, steps: tuple[int, int, int]) -> dict:
    """One melt-quench of (x, seed) with a remedy: the validation report of the quenched cell."""
    density = reference_density(x) if remedy['scaled'] else None
    cell = build_siox_cell(x, seed, supercell=remedy['supercell'], density=density)
    params = lammps_io.MeltQuenchParameters(
        seed=seed,
        heat_steps=steps[0],
        hold_steps=steps[1],
        cool_steps=steps[2],
        melt_ensemble=remedy['melt_ensemble'],
        cool_ensemble=remedy['cool_ensemble'],
        thermo_every=1000,
        restart_every=10**9,
    )
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        (work / 'structure.data').write_text(lammps_io.write_lammps_data(cell.symbols, cell.positions, cell.cell))
        (work / 'SiO.tersoff').write_text(POTENTIAL.read_text())
        (work / 'in.lmp').write_text(lammps_io.melt_quench_script(params))
        subprocess.run(['lmp', '-in', 'in.lmp', '-log', 'log.lammps', '-screen', 'none'], cwd=work, check=True)
        symbols, positions, box = lammps_io.read_lammps_data((work / 'final.data').read_text())
    return validate_cell(symbols, positions, box)


def summary_row(x: float, reports: list[dict]) -> str:
    """Mean (min-max) density, largest void, and the Si classes that tell the structure apart."""
    rho = np.array([r['density_g_cm3'] for r in reports])
    void = np.array([r['largest_void_radius_A'] for r in reports])
    classes = np.array([[r['oxidation_classes'][f'Si{k}+'] for k in range(5)] for r in reports], float)
    fractions = classes.sum(0) / classes.sum()
    fourfold = np.mean([r['fraction_fourfold_si'] for r in reports])
    valid = sum(r['valid'] for r in reports)
    return (
        f'| {x:.2f} | {reports[0]["n_atoms"]} | {rho.mean():.2f} ({rho.min():.2f}-{rho.max():.2f}) | {reference_density(x):.2f} '
        f'| {void.max():.2f} | {fourfold:.2f} | {" / ".join(f"{f:.2f}" for f in fractions)} | {valid}/{len(reports)} |'
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--heat', type=int, default=10000)
    parser.add_argument('--hold', type=int, default=100000)
    parser.add_argument('--cool', type=int, default=300000)
    parser.add_argument('--seeds', type=int, default=5)
    parser.add_argument('--compositions', type=float, nargs='+', default=[0.0, 1.0, 2.0])
    parser.add_argument('--remedies', nargs='+', default=list(REMEDIES), choices=list(REMEDIES))
    args = parser.parse_args()
    steps = (args.heat, args.hold, args.cool)
    print(f'schedule: {steps[0]} heat, {steps[1]} hold, {steps[2]} cool steps of 1 fs; seeds 1-{args.seeds}')
    for name in args.remedies:
        jobs = [(x, seed) for x in args.compositions for seed in range(1, args.seeds + 1)]
        with ThreadPoolExecutor(max_workers=2) as pool:
            reports = list(pool.map(lambda job, name=name: quench(*job, REMEDIES[name], steps), jobs))
        print(f'\n### {name}\n')
        print('| x | atoms | density g/cm3 mean (min-max) | reference | largest void A | 4-fold Si | Si0+/1+/2+/3+/4+ | valid |')
        print('| --- | --- | --- | --- | --- | --- | --- | --- |')
        for x in args.compositions:
            print(summary_row(x, [r for (xx, _), r in zip(jobs, reports, strict=True) if xx == x]), flush=True)


if __name__ == '__main__':
    main()
