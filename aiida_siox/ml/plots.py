"""PNG figures of a learning study (matplotlib; skipped with a message where it is missing)."""

from __future__ import annotations

import numpy as np

from .evaluation import WINDOWS


def write_plots(metrics: dict, predictions: dict, data: dict, log=print) -> list[str]:
    """The paper's figures for one study: parity, RDF examples and sorted RMSE, windows, cell means."""
    try:
        import matplotlib

        matplotlib.use('Agg')
        import matplotlib.pyplot as plt
    except ImportError:
        log('matplotlib missing: no plots')
        return []
    written = []
    is_test = predictions['is_test']
    charge, n_o = np.asarray(data['charge']), np.asarray(data['n_o'])

    fig, ax = plt.subplots(figsize=(4.8, 4.5))
    pred, std = predictions['charge_mean'], predictions['charge_std']
    ax.scatter(charge[~is_test], pred[~is_test], c='lightgray', s=10, label='train')
    points = ax.scatter(charge[is_test], pred[is_test], c=n_o[is_test], cmap='viridis', vmin=0, vmax=4, s=18, label='test')
    ax.errorbar(charge[is_test], pred[is_test], yerr=std[is_test], fmt='none', ecolor='gray', lw=0.6, alpha=0.6)
    low, high = min(charge.min(), pred.min()) - 0.2, max(charge.max(), pred.max()) + 0.2
    ax.plot([low, high], [low, high], 'k--', lw=0.8)
    test = metrics['charge']['test']
    r2 = 'n/a' if test['r2'] is None else f'{test["r2"]:.3f}'
    ax.set(xlim=(low, high), ylim=(low, high), xlabel='Bader charge (e)', ylabel='predicted (e)')
    ax.set_title(f'Si valence: test RMSE {test["rmse"]:.3f} e, R$^2$ {r2}', fontsize=9)
    fig.colorbar(points, ax=ax, label='O neighbours (Si$^{n+}$)')
    ax.legend(loc='upper left', fontsize=8)
    written.append(_save(fig, plt, 'charge_parity.png'))

    rdf, rdf_pred, r = np.asarray(data['rdf']), predictions['rdf_mean'], np.asarray(data['r'])
    test_rows = np.flatnonzero(is_test)
    errors = predictions['rdf_site_rmse'][test_rows]
    order = test_rows[np.argsort(errors)]
    picks = [order[0], order[len(order) // 2], order[-1]]
    fig, axes = plt.subplots(1, 4, figsize=(15, 3.2))
    for ax, row, label in zip(axes[:3], picks, ('best', 'median', 'worst'), strict=True):
        band = predictions['rdf_std'][row]
        ax.plot(r, rdf[row], color='lightcoral', label='reference')
        ax.plot(r, rdf_pred[row], color='darkred', label='predicted')
        ax.fill_between(r, rdf_pred[row] - band, rdf_pred[row] + band, color='darkred', alpha=0.2, lw=0)
        ax.set(xlabel='R (A)', ylabel='g(R)', title=f'{label} test site (RMSE {predictions["rdf_site_rmse"][row]:.3f})')
        ax.legend(fontsize=8)
    axes[3].plot(np.arange(1, len(errors) + 1), np.sort(errors), color='darkred')
    axes[3].set(xlabel='test site (sorted)', ylabel='RDF RMSE', title='per-site RDF error')
    written.append(_save(fig, plt, 'rdf_examples.png'))

    if 'windows' in metrics:
        fig, axes = plt.subplots(1, 2, figsize=(10, 3.2))
        names = list(WINDOWS)
        for ax, target, unit in zip(axes, ('charge', 'rdf'), ('e', 'g(R)'), strict=True):
            values = [metrics['windows'][target][name]['rmse'] for name in names]
            ax.bar(names, values, color=['steelblue'] * 8 + ['darkorange'] * 2)
            ax.axhline(metrics[target]['test']['rmse'], color='k', ls='--', lw=0.8, label='full 1830-1880 eV')
            ax.set(ylabel=f'test RMSE ({unit})', title=f'{target}: sub-windows a-h (6.25 eV) and halves (25 eV)')
            ax.tick_params(axis='x', labelsize=7)
            ax.legend(fontsize=8)
        written.append(_save(fig, plt, 'windows.png'))

    averaged = metrics['averaged']
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.6))
    axes[0].errorbar(averaged['mean_charge'], averaged['predicted_mean_charge'], yerr=averaged['predicted_std'], fmt='o', ms=4)
    low, high = min(averaged['mean_charge']) - 0.2, max(averaged['mean_charge']) + 0.2
    axes[0].plot([low, high], [low, high], 'k--', lw=0.8)
    axes[0].set(xlabel='cell mean Bader charge (e)', ylabel='predicted from mean spectrum (e)', title='cell-averaged spectra')
    axes[1].plot(averaged['x'], averaged['rdf_rmse'], 'o', color='darkred')
    axes[1].set(xlabel='x in SiOx', ylabel='mean-RDF RMSE', title='cell-averaged RDF error')
    written.append(_save(fig, plt, 'averaged.png'))
    return written


def _save(fig, plt, name: str) -> str:
    fig.tight_layout()
    fig.savefig(name, dpi=110)
    plt.close(fig)
    return name
