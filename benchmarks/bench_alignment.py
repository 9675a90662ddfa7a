"""The per-site alignment checked against experiment and against the paper's excited-state form.

    .venv/bin/python benchmarks/bench_alignment.py            # ~15-25 min on 2 cores
    .venv/bin/python benchmarks/bench_alignment.py --profile siox --quartz 2,2,1 --silicon 2,2,2

Cells large enough for the core hole (../shared/science.md, section 3): 64-atom c-Si (2x2x2 cubic
cells) and 36-atom alpha-quartz (2x2x1), at Gamma, with the `fast` protocol's settings otherwise.
Each material runs once in the ``xch`` form (ground state, FCH, neutral excited state XCH,
xspectra x/y/z); its ``fch`` alignment is made from the same nodes (same raw spectrum, no extra
job), so the two forms differ only by the alignment itself. Each form gets its own alpha-quartz
calibration from the quartz run.

X = onset(quartz) - onset(c-Si), default (fch) form, one calibration: experiment ~5-6 eV.
Y = max over the two materials of |onset(fch) - onset(xch)| before the calibration constant, i.e.
how far the FCH + E0 form puts the spectrum from the paper's excited-state form.
The 9-atom quartz cell of the `fast` protocol is calibrated too, to give the finite-size offset of
the small calibration cell (C(9) - C(36)).

Creates the profile, codes and pseudopotentials it needs when absent (as `siox setup` does). The last
line is the contract:
    alignment: c-Si->quartz shift X.XX eV, FCH vs excited-state Y.YY eV
"""

from __future__ import annotations

import argparse
import json
import pathlib
import time


def cell(text: str) -> list[int]:
    return [int(n) for n in text.split(',')]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--profile', default=None, help='Profile (default: the embedded profile of setup_profiles/, made if missing).')
    parser.add_argument('--quartz', type=cell, default=[2, 2, 1], help='alpha-quartz supercell (default 2,2,1: 36 atoms).')
    parser.add_argument('--silicon', type=cell, default=[2, 2, 2], help='c-Si supercell of the 8-atom cubic cell (default 64 atoms).')
    parser.add_argument('--output', type=pathlib.Path, default=pathlib.Path('bench_alignment.json'))
    args = parser.parse_args()

    from aiida import orm
    from aiida.engine import run_get_node
    from ase.build import bulk

    from aiida_siox.analysis.spectrum import main_peak_energy, onset_energy, onset_spikes
    from aiida_siox.calculations.spectra import quartz_calibration, site_alignment
    from aiida_siox.calculations.structure_edit import alpha_quartz
    from aiida_siox.setup.environment import DEFAULT_CONFIG_DIR, load_pipeline_codes, setup_all
    from aiida_siox.workflows.quartz_calibration import QuartzCalibrationWorkChain
    from aiida_siox.workflows.site_xanes import SiteXanesWorkChain

    setup_all(DEFAULT_CONFIG_DIR, args.profile, production=False, pseudos=True, echo=lambda line: None)
    xanes = dict(SiteXanesWorkChain.get_builder_from_protocol(load_pipeline_codes(), protocol='fast'))
    target = orm.Float(1846.0)

    def run_site(structure: orm.StructureData, form: str) -> dict:
        """One site of ``structure``: raw spectrum and its alignment in ``form`` (+ the fch one from the same nodes)."""
        start = time.perf_counter()
        _, node = run_get_node(SiteXanesWorkChain, structure=structure, sites=orm.List([0]), **{**xanes, 'alignment': orm.Str(form)})
        if not node.is_finished_ok:
            raise SystemExit(f'SiteXanesWorkChain<{node.pk}> failed: {node.exit_status} {node.exit_message}')
        raw, alignment = node.outputs.raw_spectra.site_0, node.outputs.alignments.site_0
        site = {'node': node.pk, 'raw': raw, 'seconds': time.perf_counter() - start, form: alignment}
        if form == 'xch':
            xspectra = raw.creator.inputs.spectrum_x.creator
            site['fch'] = site_alignment(node.outputs.delta_scf.site_0, xspectra.inputs.parameters, xspectra.outputs.output_parameters)
        return site

    def onset(site: dict, form: str, constant: float = 0.0) -> float:
        raw = site['raw']
        return onset_energy(raw.get_x()[1] + site[form]['shift_ev'] + constant, raw.get_y()[0][1])

    quartz_cell = alpha_quartz(orm.List(args.quartz))
    silicon_cell = orm.StructureData(ase=bulk('Si', 'diamond', 5.43, cubic=True).repeat(args.silicon))
    print(f'alpha-quartz {args.quartz}: {len(quartz_cell.sites)} atoms; c-Si {args.silicon}: {len(silicon_cell.sites)} atoms', flush=True)
    quartz = run_site(quartz_cell, 'xch')
    print(f'  quartz done in {quartz["seconds"]:.0f} s', flush=True)
    silicon = run_site(silicon_cell, 'xch')
    print(f'  c-Si done in {silicon["seconds"]:.0f} s', flush=True)
    calibrations = {form: quartz_calibration(quartz['raw'], quartz[form], target, quartz_cell) for form in ('fch', 'xch')}

    print('alpha-quartz 1x1x1 (the fast protocol calibration cell) ...', flush=True)
    _, small = run_get_node(QuartzCalibrationWorkChain, xanes=xanes, target_ev=target)
    small_constant = small.outputs.calibration['constant_ev']

    rows = {}
    for form in ('fch', 'xch'):
        constant = calibrations[form]['constant_ev']
        rows[form] = {
            'C_ev': constant,
            'quartz_onset_ev': onset(quartz, form, constant),
            'silicon_onset_ev': onset(silicon, form, constant),
            'quartz_peak_ev': main_peak_energy(quartz['raw'].get_x()[1] + quartz[form]['shift_ev'] + constant, quartz['raw'].get_y()[0][1]),
        }
        rows[form]['shift_ev'] = rows[form]['quartz_onset_ev'] - rows[form]['silicon_onset_ev']
    differences = {name: abs(onset(site, 'fch') - onset(site, 'xch')) for name, site in (('quartz', quartz), ('c-Si', silicon))}
    spikes = {
        name: onset_spikes(site['raw'].get_x()[1], site['raw'].get_y()[0][1]) for name, site in (('quartz', quartz), ('c-Si', silicon))
    }

    print(f'{"form":<5} {"C (eV)":>10} {"quartz onset":>13} {"c-Si onset":>11} {"shift":>7}')
    for form, row in rows.items():
        print(f'{form:<5} {row["C_ev"]:10.3f} {row["quartz_onset_ev"]:13.2f} {row["silicon_onset_ev"]:11.2f} {row["shift_ev"]:7.2f}')
    print(f'|fch - xch| onset before C: quartz {differences["quartz"]:.2f} eV, c-Si {differences["c-Si"]:.2f} eV')
    print(f'calibration constant (fch): {len(quartz_cell.sites)}-atom quartz {rows["fch"]["C_ev"]:.3f} eV, 9-atom {small_constant:.3f} eV')
    print(f'onset spikes: {spikes}')
    result = {
        'cells': {'quartz': args.quartz, 'silicon': args.silicon},
        'forms': rows,
        'fch_vs_xch_ev': differences,
        'calibration_constant_small_cell_ev': small_constant,
        'site_seconds': {'quartz': quartz['seconds'], 'c-Si': silicon['seconds']},
        'spikes': spikes,
    }
    args.output.write_text(json.dumps(result, indent=2))
    print(f'alignment: c-Si->quartz shift {rows["fch"]["shift_ev"]:.2f} eV, FCH vs excited-state {max(differences.values()):.2f} eV')


if __name__ == '__main__':
    main()
