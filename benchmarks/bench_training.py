"""Training speed: our stacked, on-device trainer against a plain DataLoader loop, in the same run.

    .venv/bin/python benchmarks/bench_training.py [--epochs 3] [--members 5] [--device auto]

A synthetic dataset of the paper's size and shape (5,290 sites, 256-point spectra and RDFs; 80 %
= 4,232 training rows; values from aiida_siox.ml.synthetic: this measures speed, not accuracy).
For each network (charge 256-3x256-1, RDF 256-3x512-256), batch 128, Adam, MSE:

- reference: ``nn.Sequential`` + ``TensorDataset`` + ``DataLoader(shuffle=True)``, one model;
- ours, 1 member: :class:`StackedTrainer` (index gathers on device tensors, no DataLoader);
- ours, M members: an ensemble (or M folds) trained together, against M reference runs.

Prints epochs per second, the time to the paper's epoch counts (charge 271, RDF 583) and the
ratios to the reference measured in this run (machines here are noisy: compare ratios).
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from aiida_siox.ml.inputs import normalisation_scale, normalise
from aiida_siox.ml.models import pick_device, plain_model, stacked_model
from aiida_siox.ml.synthetic import synthetic_dataset
from aiida_siox.ml.trainer import StackedTrainer, TrainSettings

PAPER_EPOCHS = {'charge': 271, 'rdf': 583}


def _sync(device: torch.device) -> None:
    if device.type == 'cuda':
        torch.cuda.synchronize()


def dataloader_epochs(kind: str, x: torch.Tensor, y: torch.Tensor, epochs: int, device: torch.device) -> float:
    """Seconds per epoch of the textbook loop (one warm-up epoch not counted)."""
    torch.manual_seed(0)
    model = plain_model(kind, x.shape[1], y.shape[1]).to(device)
    optimiser = torch.optim.Adam(model.parameters(), lr=1e-3)
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x, y), batch_size=128, shuffle=True)
    loss_fn = torch.nn.MSELoss()
    timings = []
    for _ in range(epochs + 1):
        _sync(device)
        start = time.perf_counter()
        for xb, yb in loader:
            xb, yb = xb.to(device), yb.to(device)
            optimiser.zero_grad()
            loss_fn(model(xb), yb).backward()
            optimiser.step()
        _sync(device)
        timings.append(time.perf_counter() - start)
    return float(np.mean(timings[1:]))


def stacked_epochs(kind: str, x: torch.Tensor, y: torch.Tensor, members: int, epochs: int, device: torch.device) -> float:
    """Seconds per epoch of our trainer with ``members`` members (validation pass included)."""
    torch.manual_seed(0)
    x, y = x.to(device), y.to(device)
    rows = np.arange(len(x))
    model = stacked_model(kind, members, x.shape[1], y.shape[1]).to(device)
    settings = TrainSettings(epochs=epochs + 1, batch_size=128, patience=10**6)
    trainer = StackedTrainer(model, x, y, [rows] * members, [rows[:400]] * members, settings, log=lambda _: None)
    timings = []
    for _ in range(epochs + 1):
        _sync(device)
        start = time.perf_counter()
        trainer.train_epoch()
        _sync(device)
        timings.append(time.perf_counter() - start)
    return float(np.mean(timings[1:]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--epochs', type=int, default=3, help='Timed epochs per measurement (after one warm-up).')
    parser.add_argument('--members', type=int, default=5, help='Ensemble members (or folds) trained together.')
    parser.add_argument('--device', default='auto')
    args = parser.parse_args()
    device = pick_device(args.device)
    torch.set_num_threads(torch.get_num_threads())
    data = synthetic_dataset(5290)
    train = np.random.default_rng(0).permutation(5290)[:4232]
    spectra = normalise(data['spectra'], 'global', normalisation_scale(data['spectra'][train], 'global'))
    x = torch.from_numpy(spectra[train])
    targets = {
        'charge': torch.from_numpy(data['charge'][train].astype(np.float32)).reshape(-1, 1),
        'rdf': torch.from_numpy(data['rdf'][train].astype(np.float32)),
    }
    print(f'device {device}, torch {torch.__version__}, {torch.get_num_threads()} threads; 4232 training rows, batch 128')
    for kind, y in targets.items():
        reference = dataloader_epochs(kind, x, y, args.epochs, device)
        single = stacked_epochs(kind, x, y, 1, args.epochs, device)
        stacked = stacked_epochs(kind, x, y, args.members, args.epochs, device)
        paper = PAPER_EPOCHS[kind]
        print(f'\n{kind} network ({paper} epochs in the paper)')
        print(f'  DataLoader loop, 1 model      {1 / reference:7.2f} epochs/s   {paper * reference:7.1f} s to {paper} epochs')
        print(f'  stacked trainer, 1 model      {1 / single:7.2f} epochs/s   {paper * single:7.1f} s   speed-up x{reference / single:.2f}')
        print(
            f'  stacked trainer, {args.members} members    {1 / stacked:7.2f} epochs/s   {paper * stacked:7.1f} s   '
            f'vs {args.members} DataLoader runs ({args.members * paper * reference:.1f} s): x{args.members * reference / stacked:.2f}'
        )


if __name__ == '__main__':
    main()
