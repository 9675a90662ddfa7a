"""``results.md`` of the reference study, from the files ``study.py finish`` writes beside it.

Reads ``metrics.json`` (one entry per training), ``dataset.npz``, ``predictions.npz`` (the shipped
training's) and ``cells.json`` (per cell: density, coordination, sites and their cost), and writes
``results.md`` with the paper's numbers beside ours, and its figures under ``figures/``. No AiiDA:
the learning numbers are copies of those stored in the graph (the UUIDs are in the files); the costs
are read off the process nodes' timestamps by ``study.py finish`` (``cells.json``), and the chunk wall
times off an extra set when each chunk ended.

    .venv/bin/python reference_study/results.py [STUDY_DIR]
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

STUDY = Path(__file__).resolve().parent
#: The paper's numbers (reference/siox-xanes-ml-paper.txt), None where it gives none.
PAPER = {
    'charge_rmse': 0.110,
    'charge_r2': 0.991,
    'baseline_rmse': 0.311,
    'rdf_best': 0.1,
    'rdf_worst': 0.5,
    'averaged_charge_rmse': 0.105,
    'averaged_charge_r2': 0.989,
    'averaged_rdf_worst': 0.23,
    'windows': {'b': (0.196, 0.971), 'c': (0.222, 0.963), 'f': (0.572, 0.750), 'low_half': (0.157, 0.981), 'high_half': (0.268, 0.945)},
    'density': {0.0: 2.25, 2.0: 2.30},
}
SHIPPED, BY_CELL = 'final', 'training_cell'


def number(value: float | None, digits: int = 3) -> str:
    return '-' if value is None else f'{value:.{digits}f}'


def load(study: Path) -> dict:
    with np.load(study / 'dataset.npz') as archive:
        dataset = {name: archive[name] for name in archive.files}
    with np.load(study / 'predictions.npz') as archive:
        predictions = {name: archive[name] for name in archive.files}
    return {
        'metrics': json.loads((study / 'metrics.json').read_text()),
        'cells': json.loads((study / 'cells.json').read_text()),
        'dataset': dataset,
        'predictions': predictions,
    }


def headline_table(metrics: dict) -> list[str]:
    """The paper's figures beside the shipped training's (split by site), its paper mode, and the split by cell."""
    site, cell = metrics[SHIPPED], metrics.get(BY_CELL, {})
    paper_mode = site.get('paper', {})
    paper_mode = {} if 'skipped' in paper_mode else paper_mode

    def charge(section: dict, key: str) -> float | None:
        return section.get('charge', {}).get('test', {}).get(key)

    def ratio(section: dict) -> str:
        base, ours = section.get('baseline', {}).get('test', {}).get('rmse'), charge(section, 'rmse')
        return f'{base / ours:.1f}x' if base and ours else '-'

    def rdf(section: dict, key: str) -> float | None:
        return section.get('rdf', {}).get('per_site_rmse_test', {}).get(key)

    averaged = site.get('averaged', {})
    rows = [
        ('Si valence test RMSE (e)', PAPER['charge_rmse'], charge(site, 'rmse'), charge(paper_mode, 'rmse'), charge(cell, 'rmse')),
        ('Si valence test R2', PAPER['charge_r2'], charge(site, 'r2'), charge(paper_mode, 'r2'), charge(cell, 'r2')),
        (
            'linear baseline test RMSE (e)',
            PAPER['baseline_rmse'],
            site['baseline']['test']['rmse'],
            None,
            cell.get('baseline', {}).get('test', {}).get('rmse'),
        ),
        ('RDF per-site test RMSE, best', PAPER['rdf_best'], rdf(site, 'best'), rdf(paper_mode, 'best'), rdf(cell, 'best')),
        ('RDF per-site test RMSE, median', None, rdf(site, 'median'), rdf(paper_mode, 'median'), rdf(cell, 'median')),
        ('RDF per-site test RMSE, worst', PAPER['rdf_worst'], rdf(site, 'worst'), rdf(paper_mode, 'worst'), rdf(cell, 'worst')),
        ('cell-averaged valence RMSE (e)', PAPER['averaged_charge_rmse'], averaged.get('charge', {}).get('rmse'), None, None),
        ('cell-averaged valence R2', PAPER['averaged_charge_r2'], averaged.get('charge', {}).get('r2'), None, None),
        ('cell-averaged RDF, worst RMSE', PAPER['averaged_rdf_worst'], averaged.get('rdf_worst', {}).get('rmse'), None, None),
    ]
    lines = [
        '| | paper | ours: ensemble, split by site | ours: paper mode | ours: ensemble, split by cell |',
        '| --- | --- | --- | --- | --- |',
    ]
    lines += [f'| {name} | {number(p)} | {number(a)} | {number(b)} | {number(c)} |' for name, p, a, b, c in rows]
    lines.append(f'| MLP / baseline RMSE | {PAPER["baseline_rmse"] / PAPER["charge_rmse"]:.1f}x | {ratio(site)} | - | {ratio(cell)} |')
    return lines


def windows_table(metrics: dict) -> list[str]:
    windows = metrics[SHIPPED].get('windows', {})
    lines = ['| window | range (eV) | paper RMSE / R2 | ours RMSE / R2 (valence) | ours RDF RMSE |', '| --- | --- | --- | --- | --- |']
    for name, entry in windows.get('charge', {}).items():
        start, end = entry['range_ev']
        paper = PAPER['windows'].get(name)
        paper_text = f'{paper[0]:.3f} / {paper[1]:.3f}' if paper else '-'
        rdf = windows.get('rdf', {}).get(name, {}).get('rmse')
        lines.append(
            f'| {name} | {start:.2f}-{end:.2f} | {paper_text} | {number(entry["rmse"])} / {number(entry.get("r2"))} | {number(rdf)} |'
        )
    return lines


def coordination_tables(metrics: dict) -> list[str]:
    site = metrics[SHIPPED]
    lines = ['Valence error by coordination class (test rows):', '', '| class | n | RMSE (e) |', '| --- | --- | --- |']
    for name, entry in site['charge'].get('by_coordination_test', {}).items():
        lines.append(f'| {name} | {entry.get("n")} | {number(entry.get("rmse"))} |')
    classifier = site.get('coordination')
    if classifier:
        test = classifier['test']
        lines += [
            '',
            'Beyond the paper: the coordination class (n_O = 0-4) predicted from the spectrum as probabilities '
            '(the classifier of the shipped training, test rows):',
            '',
            '| accuracy | balanced accuracy | always the commonest class | mean log-loss |',
            '| --- | --- | --- | --- |',
            '| ' + ' | '.join(number(test[key]) for key in ('accuracy', 'balanced_accuracy', 'majority_accuracy', 'log_loss')) + ' |',
            '',
            '| true \\ predicted | ' + ' | '.join(classifier['classes']) + ' |',
            '| --- |' + ' --- |' * len(classifier['classes']),
        ]
        lines += [
            f'| {name} | ' + ' | '.join(map(str, row)) + ' |' for name, row in zip(classifier['classes'], test['confusion'], strict=True)
        ]
    return lines


def learning_curve(metrics: dict) -> list[tuple[int, float, float]]:
    """(training rows, valence test RMSE, RDF test RMSE) of every learning-curve point (one set of settings)."""
    points = [entry for name, entry in metrics.items() if name.startswith('learning_curve_')]
    return sorted((entry['n_train'], entry['charge_rmse_test'], entry['rdf_rmse_test']) for entry in points)


def structure_table(cells: list[dict]) -> list[str]:
    lines = [
        '| x | cells valid | atoms | density g/cm3 mean (min-max) | paper | largest void (A) | 4-fold Si | Si0+/1+/2+/3+/4+ |',
        '| --- | --- | --- | --- | --- | --- | --- | --- |',
    ]
    for x in sorted({cell['x'] for cell in cells}):
        group = [cell for cell in cells if cell['x'] == x and cell['density_g_cm3'] is not None]
        if not group:
            continue
        rho = np.array([cell['density_g_cm3'] for cell in group])
        classes = np.array([[cell['oxidation_classes'][f'Si{k}+'] for k in range(5)] for cell in group], float)
        fractions = classes.sum(axis=0) / classes.sum()
        lines.append(
            f'| {x:.2f} | {sum(bool(c["valid"]) for c in group)}/{len(group)} | {group[0]["n_atoms"]} '
            f'| {rho.mean():.2f} ({rho.min():.2f}-{rho.max():.2f}) | {number(PAPER["density"].get(x), 2)} '
            f'| {max(c["largest_void_radius_A"] for c in group):.2f} | {np.mean([c["fraction_fourfold_si"] for c in group]):.2f} '
            f'| {" / ".join(f"{f:.2f}" for f in fractions)} |'
        )
    return lines


def cost_table(summary: dict) -> tuple[list[str], dict]:
    """Per composition: sites, mean seconds per site, MD and Bader per cell; and the totals."""
    cells = summary['cells']
    lines = [
        '| x | sites done | failed | s per site (mean) | MD s per cell | Bader s per cell | chunk wall (min) |',
        '| --- | --- | --- | --- | --- | --- | --- |',
    ]
    for x in sorted({cell['x'] for cell in cells}):
        group = [cell for cell in cells if cell['x'] == x]
        seconds = [s for cell in group for s in cell['site_seconds']]
        chunk = group[0]['chunk']
        wall = summary['chunk_wall_seconds'].get(chunk)
        md = [cell['md_seconds'] for cell in group if cell['md_seconds']]
        bader = [cell['bader_seconds'] for cell in group if cell['bader_seconds']]
        lines.append(
            f'| {x:.2f} | {sum(c["sites_done"] for c in group)} | {sum(len(c["sites_failed"]) for c in group)} '
            f'| {number(np.mean(seconds) if seconds else None, 1)} | {number(np.mean(md) if md else None, 0)} '
            f'| {number(np.mean(bader) if bader else None, 0)} | {number(wall / 60 if wall else None, 1)} |'
        )
    wall = sum(v for v in summary['chunk_wall_seconds'].values() if v)
    training = sum(summary.get('training_seconds', {}).values())
    sites = [s for cell in cells for s in cell['site_seconds']]
    cores = summary.get('cores') or 2
    totals = {
        'wall_hours': wall / 3600,
        'training_hours': training / 3600,
        'cores': cores,
        'core_hours': cores * (wall + training) / 3600,
        'site_seconds': float(np.mean(sites)) if sites else None,
        'cached_jobs': sum(cell.get('cached_jobs', 0) for cell in cells),
    }
    return lines, totals


#: The paper's design: 45 cells of the 4x4x4 supercell (8x the atoms of our 2x2x2 cells), 5,310 Si sites.
PAPER_SITES, PAPER_ATOMS_RATIO = 5310, 8
#: Cost of a site from our 25 Ry to the paper's 50 Ry, measured on this machine (session 10): 3-4x.
CUTOFF_FACTOR = (3.0, 4.0)


def paper_protocol_estimate(totals: dict) -> str:
    """What protocol `paper` would cost, scaled from our measured per-site time (a range, with its assumptions)."""
    if not totals['site_seconds']:
        return ''
    core_seconds = totals['site_seconds'] * totals['cores']
    low = core_seconds * PAPER_ATOMS_RATIO**2 * CUTOFF_FACTOR[0] / 3600
    high = core_seconds * PAPER_ATOMS_RATIO**3 * CUTOFF_FACTOR[1] / 3600
    return (
        f'Protocol `paper` on a cluster, scaled from these numbers: cells with {PAPER_ATOMS_RATIO}x the atoms '
        f'(plane-wave DFT costs between N^2 and N^3 at these sizes) at 50 Ry ({CUTOFF_FACTOR[0]:.0f}-{CUTOFF_FACTOR[1]:.0f}x '
        f"per site, measured) make a site {low:.0f}-{high:.0f} core-hours, so the paper's {PAPER_SITES:,} sites "
        f"{low * PAPER_SITES / 1e3:.0f}k-{high * PAPER_SITES / 1e3:.0f}k core-hours (XSPECTRA's 2x2x2 k-points not "
        'counted: its share of a site is small at Gamma; nor sites that came from the cache, which look cheaper). '
        'An estimate, not a measurement.'
    )


def write_figures(data: dict, figures: Path) -> list[str]:
    """Parity coloured by n_O, mean spectra per composition, edge position against valence, learning curve."""
    import matplotlib

    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    from aiida_siox.ml.edge import onset_energy

    figures.mkdir(exist_ok=True)
    dataset, predictions = data['dataset'], data['predictions']
    charge, n_o, x, energy, spectra = dataset['charge'], dataset['n_o'], dataset['x'], dataset['energy'], dataset['spectra']
    names = []

    fig, ax = plt.subplots(figsize=(4.2, 4))
    test = predictions['is_test'].astype(bool)
    points = ax.scatter(charge[test], predictions['charge_mean'][test], c=np.clip(n_o[test], 0, 4), cmap='viridis', vmin=0, vmax=4, s=14)
    ax.plot([charge.min(), charge.max()], [charge.min(), charge.max()], 'k--', lw=0.8)
    ax.set(xlabel='Bader valence (e)', ylabel='predicted valence (e)', title='test sites, coloured by n_O')
    fig.colorbar(points, label='O neighbours')
    names.append(_save(fig, plt, figures / 'parity_by_n_o.png'))

    fig, ax = plt.subplots(figsize=(5, 3.6))
    for value in sorted(set(x)):
        ax.plot(energy, spectra[x == value].mean(axis=0), label=f'x = {value:.2f}', color=plt.cm.coolwarm(value / 2))
    ax.set(xlabel='energy (eV)', ylabel='mean intensity', title='mean spectrum per composition')
    ax.legend(fontsize=7)
    names.append(_save(fig, plt, figures / 'mean_spectra.png'))

    onsets = np.array([onset_energy(energy, spectrum) for spectrum in spectra])
    fig, ax = plt.subplots(figsize=(4.2, 3.6))
    ax.scatter(charge, onsets, c=np.clip(n_o, 0, 4), cmap='viridis', vmin=0, vmax=4, s=10)
    ax.set(xlabel='Bader valence (e)', ylabel='edge onset (eV)', title='edge position against valence')
    names.append(_save(fig, plt, figures / 'edge_vs_valence.png'))

    curve = learning_curve(data['metrics'])
    fig, ax = plt.subplots(figsize=(4.2, 3.4))
    ax.plot([p[0] for p in curve], [p[1] for p in curve], 'o-', label='valence (e)')
    ax.plot([p[0] for p in curve], [p[2] for p in curve], 's-', label='RDF')
    ax.set(xlabel='training rows', ylabel='test RMSE', xscale='log', title='learning curve')
    ax.legend()
    names.append(_save(fig, plt, figures / 'learning_curve.png'))
    return names


def _save(fig, plt, path: Path) -> str:
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path.name


def write_results(study: Path = STUDY) -> Path:
    data = load(study)
    metrics, summary = data['metrics'], data['cells']
    figures = write_figures(data, study / 'figures')
    costs, totals = cost_table(summary)
    site = metrics[SHIPPED]
    lines = [
        '# Reference study: results',
        '',
        f'{site["n_rows"]} Si sites in {site["n_cells"]} cells (protocol `reference`, see README.md); '
        f'test {site["n_test"]} sites ({site["split"]} split), {site["n_train"]} for training. '
        f'Shipped training: `{site["uuid"]}`, its networks stored in {site["config"].get("model_precision", "float32")} '
        '(every prediction and test score here is of those weights). '
        'Every row of `dataset.npz` carries the UUIDs of its structure, spectrum and charges.',
        '',
        '## Headline: the paper beside us',
        '',
        *headline_table(metrics),
        '',
        '## Sub-windows (valence)',
        '',
        *windows_table(metrics),
        '',
        '## By coordination',
        '',
        *coordination_tables(metrics),
        '',
        '## Learning curve',
        '',
        '| training rows | valence test RMSE (e) | RDF test RMSE |',
        '| --- | --- | --- |',
        *[f'| {n} | {number(c)} | {number(r)} |' for n, c, r in learning_curve(metrics)],
        '',
        '## Structures per composition',
        '',
        *structure_table(summary['cells']),
        '',
        '## What it cost',
        '',
        *costs,
        '',
        f'In all: {totals["wall_hours"]:.1f} h of chunk wall time and {totals["training_hours"]:.2f} h of training on '
        f'{totals["cores"]} cores ({totals["core_hours"]:.1f} core-hours); {number(totals["site_seconds"], 1)} s per site on average'
        + (f' ({totals["cached_jobs"]} jobs came from the cache: their sites look cheaper).' if totals['cached_jobs'] else '.'),
        '',
        paper_protocol_estimate(totals),
        '',
        '## Figures',
        '',
        *[f'![{name}](figures/{name})' for name in figures],
        '',
    ]
    path = study / 'results.md'
    path.write_text('\n'.join(lines))
    return path


if __name__ == '__main__':
    print(write_results(Path(sys.argv[1]) if len(sys.argv) > 1 else STUDY))
