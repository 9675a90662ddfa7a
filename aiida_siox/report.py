"""A short human-readable report of a finished :class:`SiOxDatasetWorkChain`: numbers + PNG plots."""

from __future__ import annotations

import json
import pathlib

import numpy as np

from aiida_siox.ml.grid import QUARTZ_MAIN_PEAK_EV


def plot_spectra(dataset, path: pathlib.Path) -> None:
    """Aligned site spectra coloured by composition."""
    import matplotlib

    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    energy, spectra, x = dataset.get_array('energy'), dataset.get_array('spectra'), dataset.get_array('x')
    fig, ax = plt.subplots(figsize=(6, 4))
    cmap = plt.get_cmap('coolwarm')
    for spectrum, xi in zip(spectra, x, strict=True):
        ax.plot(energy, spectrum, color=cmap(xi / 2.0), lw=1.0)
    for xi in sorted(set(x)):
        ax.plot([], [], color=cmap(xi / 2.0), label=f'SiO$_{{{xi:g}}}$')
    ax.axvline(QUARTZ_MAIN_PEAK_EV, color='k', ls=':', lw=0.8)
    ax.set(xlabel='energy (eV)', ylabel='absorption (arb. units)', title='Si K-edge XANES per site (aligned)')
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def plot_mean_spectra(onsets: dict, energy: np.ndarray, path: pathlib.Path) -> None:
    """Mean aligned spectrum per composition, each onset marked."""
    import matplotlib

    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    cmap = plt.get_cmap('coolwarm')
    for xi, entry in onsets.items():
        ax.plot(energy, entry['mean_spectrum'], color=cmap(xi / 2.0), label=f'SiO$_{{{xi:g}}}$ ({entry["n_sites"]} sites)')
        ax.axvline(entry['onset_ev'], color=cmap(xi / 2.0), ls='--', lw=0.8)
    ax.set(xlabel='energy (eV)', ylabel='absorption (arb. units)', title='Mean spectrum per composition (dashed: onset)')
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def edge_shift_lines(dataset, output: pathlib.Path) -> tuple[list[str], dict]:
    """The report's section on the edge position by composition, and its numbers."""
    from aiida_siox.analysis.structure_averages import onsets_by_composition

    energy = dataset.get_array('energy')
    onsets = onsets_by_composition(dataset.get_array('x'), energy, dataset.get_array('spectra'))
    lowest = min(onsets)
    lines = [
        '## Edge position by composition',
        '',
        '| x | sites | onset of the mean spectrum (eV) | shift from x = ' + f'{lowest:g} (eV) |',
        '| --- | --- | --- | --- |',
    ]
    for xi, entry in onsets.items():
        lines.append(f'| {xi:g} | {entry["n_sites"]} | {entry["onset_ev"]:.2f} | {entry["onset_ev"] - onsets[lowest]["onset_ev"]:+.2f} |')
    numbers = {f'{xi:g}': entry['onset_ev'] for xi, entry in onsets.items()}
    if 0.0 in onsets and 2.0 in onsets:
        shift = onsets[2.0]['onset_ev'] - onsets[0.0]['onset_ev']
        numbers['shift_x0_to_x2'] = shift
        lines += ['', f'Si(0) -> Si(4+) edge shift (x = 0 -> x = 2): **{shift:.2f} eV** (experiment: c-Si ~1839-1840 eV, SiO2 ~1846 eV).']
    plot_mean_spectra(onsets, energy, output / 'mean_spectra.png')
    lines += ['', '![mean spectra](mean_spectra.png)', '']
    return lines, numbers


def rdf_broadening_line(dataset, rows: list[dict]) -> tuple[str, dict]:
    """How much the Gaussian broadening changes the RDF targets: RMSE of raw histogram vs broadened, per row."""
    from aiida import orm

    from aiida_siox.analysis.rdf import site_rdfs

    raw = []
    by_structure: dict[str, list[int]] = {}
    for row in rows:
        by_structure.setdefault(row['structure'], []).append(row['site'])
    curves = {}
    for uuid, sites in by_structure.items():
        atoms = orm.load_node(uuid).get_ase()
        totals = site_rdfs(atoms.positions, atoms.cell[:], atoms.get_chemical_symbols(), sites, sigma=0.0)['total']
        curves.update({(uuid, site): curve for site, curve in zip(sites, totals, strict=True)})
    raw = np.array([curves[(row['structure'], row['site'])] for row in rows])
    broadened = dataset.get_array('rdf')
    rmse = float(np.sqrt(((raw - broadened) ** 2).mean()))
    sigma = orm.load_node(rows[0]['rdfs']).base.attributes.get('sigma_angstrom', None)
    numbers = {
        'sigma_angstrom': sigma,
        'rmse_raw_vs_broadened': rmse,
        'max_g_raw': float(raw.max()),
        'max_g_broadened': float(broadened.max()),
    }
    line = (
        f'- RDF targets: Gaussian broadening sigma = {sigma} A; raw 0.0195 A histogram vs broadened RMSE {rmse:.2f} '
        f'(largest g {raw.max():.1f} raw, {broadened.max():.1f} broadened)'
    )
    return line, numbers


def training_cost_lines(metrics: dict) -> list[str]:
    """The training job's fixed cost (start, imports, data load) apart from its time per epoch."""
    fixed = metrics.get('fixed_cost')
    if not fixed:
        return []  # a job from before the fixed cost was recorded
    start = 'n/a' if fixed['start_seconds'] is None else f'{fixed["start_seconds"]:.1f} s'
    epochs = ', '.join(
        f'{target} {metrics[target]["epochs_run"]} epochs x {1e3 * metrics[target]["seconds_per_epoch"]:.0f} ms'
        for target in ('charge', 'rdf')
        if 'seconds_per_epoch' in metrics.get(target, {})
    )
    return [
        f'- job fixed cost: interpreter start {start}, imports {fixed["imports_seconds"]:.1f} s, '
        f'data load {fixed["data_load_seconds"]:.2f} s; ensembles: {epochs}'
    ]


def paper_mode_lines(metrics: dict) -> list[str]:
    """The paper-mode results (one network per target, 5-fold CV) beside the ensemble's, when they were computed."""
    paper = metrics.get('paper')
    if not paper:
        return []
    if 'skipped' in paper:
        return [f'- paper mode: skipped ({paper["skipped"]})']
    lines = []
    for target in ('charge', 'rdf'):
        section = paper[target]
        r2 = section['test'].get('r2')
        lines.append(
            f'- paper mode ({target}): one network, lr {section["learning_rate"]:g}, {section["epochs"]} epochs from '
            f'{metrics["config"]["paper_cv_folds"]}-fold CV: test RMSE {section["test"]["rmse"]:.3f}'
            + (f', R2 {r2:.3f}' if r2 is not None else '')
            + f' (ensemble {metrics[target]["test"]["rmse"]:.3f}; same test sites: {paper.get("same_rows_as_ensemble")})'
        )
    return lines


def validation_of(structure) -> dict | None:
    """Outputs of the ``validate_quenched_structure`` run on ``structure``, if any."""
    from aiida import orm

    for link in structure.base.links.get_outgoing(node_class=orm.CalcFunctionNode).all():
        if link.node.process_label == 'validate_quenched_structure':
            return {'validation': link.node.outputs.validation, 'coordination_histogram': link.node.outputs.coordination_histogram}
    return None


def wall_time_lines(node) -> tuple[list[str], list[dict]]:
    """The report's last section: wall time per stage (first start to last end of its jobs and workchains)."""
    from aiida_siox.progress import format_seconds, pipeline_stages

    stages = pipeline_stages(node)
    lines = ['## Wall time per stage', '', '| stage | items done | failed | wall time |', '| --- | --- | --- | --- |']
    numbers = []
    for stage in stages:
        lines.append(f'| {stage.name} | {stage.done}/{stage.total} | {stage.failed} | {format_seconds(stage.wall_seconds)} |')
        numbers.append({'stage': stage.name, 'done': stage.done, 'failed': stage.failed, 'wall_seconds': stage.wall_seconds})
    total = (node.mtime - node.ctime).total_seconds()
    lines += ['', f'Pipeline (submission to end): {format_seconds(total)}; stages overlap where they run side by side.', '']
    return lines, numbers


def write_report(node, output: pathlib.Path) -> pathlib.Path:
    """Write ``report.md``, ``summary.json`` and PNGs for the workchain ``node`` into ``output``."""
    from aiida_siox.calculations.dataset import dataset_rows

    output.mkdir(parents=True, exist_ok=True)
    dataset, manifest = node.outputs.dataset, node.outputs.manifest.get_dict()
    calibration = node.outputs.calibration.get_dict()
    lines = [
        f'# aiida-siox report: SiOxDatasetWorkChain <{node.pk}>',
        '',
        f'- process: `{node.uuid}`, exit status {node.exit_status}',
        f'- calibration: C = {calibration["constant_ev"]:.3f} eV (alpha-quartz main peak -> {calibration["target_ev"]:.1f} eV; '
        f'{calibration.get("alignment", "no")} alignment form, {calibration.get("cell", {}).get("n_atoms", "?")}-atom quartz cell)',
        f'- dataset node `{dataset.uuid}`: {manifest["n_rows"]} sites, {len(manifest["missing"])} missing',
        '',
        '## Structures',
        '',
        '| label | formula | density (g/cm3) | min. distance (A) | largest void (A) | four-fold Si | structure node |',
        '| --- | --- | --- | --- | --- | --- | --- |',
    ]
    histograms = []
    for label, structure in sorted(node.outputs.structures.items()):
        summary = structure.creator.outputs.summary.get_dict()
        checks = validation_of(structure)
        void = f'{checks["validation"]["largest_void_radius_A"]:.2f}' if checks else '-'
        fourfold = f'{checks["validation"]["fraction_fourfold_si"]:.2f}' if checks else '-'
        lines.append(
            f'| {label} | {summary["formula"]} | {summary["density_g_cm3"]:.3f} | {summary["min_distance_A"]:.3f} | {void} | {fourfold} '
            f'| `{structure.uuid}` |'
        )
        if checks:
            (output / f'coordination_{label}.png').write_bytes(checks['coordination_histogram'].get_content(mode='rb'))
            histograms.append(f'![coordination classes, {label}](coordination_{label}.png)')
    lines += ['', *histograms]
    lines += [
        '',
        '## Sites',
        '',
        '| x | seed | site | O neighbours | Si neighbours | Bader charge (e) | spectrum node |',
        '| --- | --- | --- | --- | --- | --- | --- |',
    ]
    rows = dataset_rows(dataset)
    for i, row in enumerate(rows):
        lines.append(
            f'| {row["x"]:g} | {row["seed"]} | {row["site"]} | {dataset.get_array("n_o")[i]} | {dataset.get_array("n_si")[i]} '
            f'| {dataset.get_array("charge")[i]:+.3f} | `{row["spectrum"]}` |'
        )
    for item in manifest['missing']:
        lines.append(f'- missing: structure `{item["structure"]}` site {item["site"]}: {item["reason"]}')
    plot_spectra(dataset, output / 'spectra.png')
    lines += ['', '![spectra](spectra.png)', '']
    edge_lines, onsets = edge_shift_lines(dataset, output)
    rdf_line, rdf_numbers = rdf_broadening_line(dataset, rows)
    lines += [*edge_lines, '## RDF targets', '', rdf_line, '']
    summary = {
        'process': node.uuid,
        'calibration': calibration,
        'n_sites': manifest['n_rows'],
        'charges': dataset.get_array('charge').tolist(),
        'onsets_ev': onsets,
        'rdf_targets': rdf_numbers,
    }
    if 'training' in node.outputs:
        metrics = node.outputs.training.metrics.get_dict()
        summary['metrics'] = metrics
        lines += [
            '## Training (toy data: the numbers only show that the chain runs)',
            '',
            f'- device {metrics["device"]}, {metrics["n_train"]} train / {metrics["n_test"]} test sites, '
            f'{metrics["training_seconds"]:.1f} s',
            *training_cost_lines(metrics),
            f'- charge RMSE train {metrics["charge_rmse_train"]:.3f} e, test {metrics["charge_rmse_test"]:.3f} e '
            f'(R2 test {metrics["charge_r2_test"] if metrics["charge_r2_test"] is None else round(metrics["charge_r2_test"], 3)})',
            f'- RDF RMSE train {metrics["rdf_rmse_train"]:.3f}, test {metrics["rdf_rmse_test"]:.3f}',
            f'- linear baseline (white line, integrated white line, edge): charge test RMSE {metrics["baseline"]["test"]["rmse"]:.3f} e',
            f'- cell-averaged spectra: mean-valence RMSE {metrics["averaged"]["charge"]["rmse"]:.3f} e '
            f'over {metrics["averaged"]["n_cells"]} cells',
            f'- models: `{node.outputs.training.charge_model.uuid}` (charge), `{node.outputs.training.rdf_model.uuid}` (RDF)',
            *paper_mode_lines(metrics),
            '',
        ]
        for name, plot in node.outputs.training.plots.items():
            (output / plot.filename).write_bytes(plot.get_content(mode='rb'))
            lines.append(f'![{name}]({plot.filename})')
    stage_lines, summary['stages'] = wall_time_lines(node)
    lines += stage_lines
    (output / 'summary.json').write_text(json.dumps(summary, indent=1, default=float))
    report = output / 'report.md'
    report.write_text('\n'.join(lines) + '\n')
    np.savez(output / 'dataset.npz', **{name: dataset.get_array(name) for name in dataset.get_arraynames()})
    return report
