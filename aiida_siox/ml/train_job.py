"""Training entry script of the training job: dataset.npz + config.json -> models, metrics, plots.

Runs on any computer with Python, numpy and torch (matplotlib optional, for the PNGs); AiiDA is
not needed there. The job copies this file and ``models.py`` next to each other.

Usage: python train_job.py dataset.npz config.json
"""

from __future__ import annotations

import json
import sys
import time

import numpy as np
import torch

try:
    from aiida_siox.ml.models import charge_model, pick_device, rdf_model
except ImportError:  # on a compute node without the package: models.py is copied alongside
    from models import charge_model, pick_device, rdf_model

DEFAULTS = {
    'seed': 0,
    'test_fraction': 0.2,
    'validation_fraction': 0.1,
    'learning_rate': 1e-3,
    'batch_size': 128,
    'charge_epochs': 271,
    'rdf_epochs': 583,
    'patience': 50,
}


def split_indices(n: int, test_fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Random site split (the paper's 80/20); at least one test and one training row."""
    order = np.random.default_rng(seed).permutation(n)
    n_test = min(max(1, round(test_fraction * n)), n - 1)
    return np.sort(order[n_test:]), np.sort(order[:n_test])


def normalise(spectra: np.ndarray) -> tuple[np.ndarray, float]:
    """Scale spectra by one global constant (the training maximum) so inputs are O(1)."""
    scale = float(np.abs(spectra).max()) or 1.0
    return spectra / scale, scale


def train_model(model, x, y, config, epochs, device, log_prefix):
    """Adam + MSE with minibatches on device tensors; early stopping on a validation split."""
    torch.manual_seed(config['seed'])
    generator = torch.Generator().manual_seed(config['seed'])
    n = len(x)
    n_val = round(config['validation_fraction'] * n) if n >= 10 else 0
    perm = torch.randperm(n, generator=generator)
    val_idx, fit_idx = perm[:n_val], perm[n_val:]
    x_fit, y_fit = x[fit_idx].to(device), y[fit_idx].to(device)
    x_val, y_val = x[val_idx].to(device), y[val_idx].to(device)
    model = model.to(device)
    optimiser = torch.optim.Adam(model.parameters(), lr=config['learning_rate'])
    loss_fn = torch.nn.MSELoss()
    history, best, best_state, since_best = [], float('inf'), None, 0
    for epoch in range(epochs):
        model.train()
        order = torch.randperm(len(x_fit), generator=generator).to(device)
        total = 0.0
        for start in range(0, len(x_fit), config['batch_size']):
            idx = order[start : start + config['batch_size']]
            optimiser.zero_grad()
            loss = loss_fn(model(x_fit[idx]), y_fit[idx])
            loss.backward()
            optimiser.step()
            total += float(loss) * len(idx)
        train_loss = total / len(x_fit)
        if n_val:
            model.eval()
            with torch.no_grad():
                val_loss = float(loss_fn(model(x_val), y_val))
        else:
            val_loss = train_loss
        history.append((train_loss, val_loss))
        if val_loss < best:
            best, since_best = val_loss, 0
            best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
        else:
            since_best += 1
        if (epoch + 1) % max(1, epochs // 10) == 0:
            print(f'{log_prefix} epoch {epoch + 1}/{epochs} train {train_loss:.4g} val {val_loss:.4g}', flush=True)
        if since_best >= config['patience']:
            print(f'{log_prefix} early stop at epoch {epoch + 1}', flush=True)
            break
    model.load_state_dict(best_state)
    return model, np.array(history)


def rmse_r2(y_true: np.ndarray, y_pred: np.ndarray) -> tuple[float, float | None]:
    """RMSE and R2; R2 is None (JSON null) when undefined, e.g. for a single test site."""
    rmse = float(np.sqrt(np.mean((y_true - y_pred) ** 2)))
    denom = float(np.sum((y_true - y_true.mean()) ** 2))
    r2 = 1.0 - float(np.sum((y_true - y_pred) ** 2)) / denom if denom > 1e-12 else None
    return rmse, r2


def plot(charge_true, charge_pred, n_o, is_test, r, rdf_true, rdf_pred) -> None:
    try:
        import matplotlib

        matplotlib.use('Agg')
        import matplotlib.pyplot as plt
    except ImportError:
        print('matplotlib missing: no plots', flush=True)
        return
    fig, ax = plt.subplots(figsize=(4.5, 4.5))
    ax.scatter(charge_true[~is_test], charge_pred[~is_test], c='lightgray', s=12, label='train')
    scatter = ax.scatter(charge_true[is_test], charge_pred[is_test], c=n_o[is_test], cmap='viridis', vmin=0, vmax=4, s=20, label='test')
    lims = [min(charge_true.min(), charge_pred.min()) - 0.2, max(charge_true.max(), charge_pred.max()) + 0.2]
    ax.plot(lims, lims, 'k--', lw=0.8)
    ax.set(xlim=lims, ylim=lims, xlabel='Bader charge (e)', ylabel='predicted charge (e)', title='Si valence parity')
    fig.colorbar(scatter, ax=ax, label='O neighbours (Si$^{n+}$)')
    ax.legend(loc='upper left')
    fig.tight_layout()
    fig.savefig('charge_parity.png', dpi=120)
    plt.close(fig)
    test = np.flatnonzero(is_test)
    errors = np.sqrt(np.mean((rdf_true[test] - rdf_pred[test]) ** 2, axis=1))
    picks = test[np.argsort(errors)][[0, len(test) // 2, -1]] if len(test) else []
    fig, axes = plt.subplots(1, max(1, len(picks)), figsize=(4 * max(1, len(picks)), 3.2), squeeze=False)
    for ax, i, label in zip(axes[0], picks, ('best', 'median', 'worst'), strict=False):
        ax.plot(r, rdf_true[i], color='lightcoral', label='reference')
        ax.plot(r, rdf_pred[i], color='darkred', label='predicted')
        ax.set(xlabel='R (A)', ylabel='g(R)', title=f'{label} test site')
        ax.legend()
    fig.tight_layout()
    fig.savefig('rdf_examples.png', dpi=120)
    plt.close(fig)


def main(dataset_path: str, config_path: str) -> int:
    config = {**DEFAULTS, **json.load(open(config_path))}
    data = np.load(dataset_path)
    device = pick_device()
    print(f'training on {device} with {len(data["charge"])} sites; config {config}', flush=True)
    torch.manual_seed(config['seed'])
    spectra, scale = normalise(data['spectra'].astype(np.float32))
    train_idx, test_idx = split_indices(len(spectra), config['test_fraction'], config['seed'])
    x = torch.from_numpy(spectra)
    y_charge = torch.from_numpy(data['charge'].astype(np.float32)).reshape(-1, 1)
    y_rdf = torch.from_numpy(data['rdf'].astype(np.float32))
    start = time.perf_counter()
    cmodel, chistory = train_model(
        charge_model(x.shape[1]), x[train_idx], y_charge[train_idx], config, config['charge_epochs'], device, 'charge'
    )
    rmodel, rhistory = train_model(
        rdf_model(x.shape[1], y_rdf.shape[1]), x[train_idx], y_rdf[train_idx], config, config['rdf_epochs'], device, 'rdf'
    )
    elapsed = time.perf_counter() - start
    with torch.no_grad():
        charge_pred = cmodel.eval()(x.to(device)).cpu().numpy().ravel()
        rdf_pred = rmodel.eval()(x.to(device)).cpu().numpy()
    charge_true, rdf_true = data['charge'], data['rdf']
    is_test = np.zeros(len(x), bool)
    is_test[test_idx] = True
    metrics = {
        'device': str(device),
        'n_train': len(train_idx),
        'n_test': len(test_idx),
        'training_seconds': elapsed,
        'input_scale': scale,
    }
    for name, idx in (('train', train_idx), ('test', test_idx)):
        metrics[f'charge_rmse_{name}'], metrics[f'charge_r2_{name}'] = rmse_r2(charge_true[idx], charge_pred[idx])
        metrics[f'rdf_rmse_{name}'] = float(np.sqrt(np.mean((rdf_true[idx] - rdf_pred[idx]) ** 2)))
    metrics['charge_epochs_run'] = len(chistory)
    metrics['rdf_epochs_run'] = len(rhistory)
    json.dump(metrics, open('metrics.json', 'w'), indent=1)
    torch.save({'state_dict': cmodel.cpu().state_dict(), 'input_scale': scale, 'kind': 'charge'}, 'charge_model.pt')
    torch.save({'state_dict': rmodel.cpu().state_dict(), 'input_scale': scale, 'kind': 'rdf'}, 'rdf_model.pt')
    np.savez('predictions.npz', charge=charge_pred, rdf=rdf_pred, is_test=is_test, charge_history=chistory, rdf_history=rhistory)
    plot(charge_true, charge_pred, data['n_o'], is_test, data['r'], rdf_true, rdf_pred)
    print(json.dumps(metrics), flush=True)
    return 0


if __name__ == '__main__':
    if len(sys.argv) != 3:
        print(__doc__.splitlines()[-1], file=sys.stderr)
        sys.exit(2)
    sys.exit(main(sys.argv[1], sys.argv[2]))
