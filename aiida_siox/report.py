"""A short human-readable report of a finished :class:`SiOxDatasetWorkChain`: numbers + PNG plots."""

from __future__ import annotations

import json
import pathlib

import numpy as np


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
    ax.axvline(1846.0, color='k', ls=':', lw=0.8)
    ax.set(xlabel='energy (eV)', ylabel='absorption (arb. units)', title='Si K-edge XANES per site (aligned)')
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def validation_of(structure) -> dict | None:
    """Outputs of the ``validate_quenched_structure`` run on ``structure``, if any."""
    from aiida import orm

    for link in structure.base.links.get_outgoing(node_class=orm.CalcFunctionNode).all():
        if link.node.process_label == 'validate_quenched_structure':
            return {'validation': link.node.outputs.validation, 'coordination_histogram': link.node.outputs.coordination_histogram}
    return None


def write_report(node, output: pathlib.Path) -> pathlib.Path:
    """Write ``report.md``, ``summary.json`` and PNGs for the workchain ``node`` into ``output``."""
    output.mkdir(parents=True, exist_ok=True)
    dataset, manifest = node.outputs.dataset, node.outputs.manifest.get_dict()
    calibration = node.outputs.calibration.get_dict()
    lines = [
        f'# aiida-siox report: SiOxDatasetWorkChain <{node.pk}>',
        '',
        f'- process: `{node.uuid}`, exit status {node.exit_status}',
        f'- calibration: C = {calibration["constant_ev"]:.3f} eV (alpha-quartz main peak -> {calibration["target_ev"]:.1f} eV)',
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
    for i, row in enumerate(manifest['rows']):
        lines.append(
            f'| {row["x"]:g} | {row["seed"]} | {row["site"]} | {dataset.get_array("n_o")[i]} | {dataset.get_array("n_si")[i]} '
            f'| {dataset.get_array("charge")[i]:+.3f} | `{row["spectrum"]}` |'
        )
    for item in manifest['missing']:
        lines.append(f'- missing: structure `{item["structure"]}` site {item["site"]}: {item["reason"]}')
    plot_spectra(dataset, output / 'spectra.png')
    lines += ['', '![spectra](spectra.png)', '']
    summary = {
        'process': node.uuid,
        'calibration': calibration,
        'n_sites': manifest['n_rows'],
        'charges': dataset.get_array('charge').tolist(),
    }
    if 'training' in node.outputs:
        metrics = node.outputs.training.metrics.get_dict()
        summary['metrics'] = metrics
        lines += [
            '## Training (toy data: the numbers only show that the chain runs)',
            '',
            f'- device {metrics["device"]}, {metrics["n_train"]} train / {metrics["n_test"]} test sites, '
            f'{metrics["training_seconds"]:.1f} s',
            f'- charge RMSE train {metrics["charge_rmse_train"]:.3f} e, test {metrics["charge_rmse_test"]:.3f} e '
            f'(R2 test {metrics["charge_r2_test"] if metrics["charge_r2_test"] is None else round(metrics["charge_r2_test"], 3)})',
            f'- RDF RMSE train {metrics["rdf_rmse_train"]:.3f}, test {metrics["rdf_rmse_test"]:.3f}',
            f'- linear baseline (white line, integrated white line, edge): charge test RMSE {metrics["baseline"]["test"]["rmse"]:.3f} e',
            f'- cell-averaged spectra: mean-valence RMSE {metrics["averaged"]["charge"]["rmse"]:.3f} e '
            f'over {metrics["averaged"]["n_cells"]} cells',
            f'- models: `{node.outputs.training.charge_model.uuid}` (charge), `{node.outputs.training.rdf_model.uuid}` (RDF)',
            '',
        ]
        for name, plot in node.outputs.training.plots.items():
            (output / plot.filename).write_bytes(plot.get_content(mode='rb'))
            lines.append(f'![{name}]({plot.filename})')
    (output / 'summary.json').write_text(json.dumps(summary, indent=1, default=float))
    report = output / 'report.md'
    report.write_text('\n'.join(lines) + '\n')
    np.savez(output / 'dataset.npz', **{name: dataset.get_array(name) for name in dataset.get_arraynames()})
    return report
