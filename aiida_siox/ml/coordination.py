"""Beyond the paper: the Si coordination class (number of O neighbours, 0-4) from a spectrum, as probabilities.

The same rows and the same inputs as the valence network feed a classifier of the charge network's
shape (256 -> 3 x 256, leaky ReLU) with 5 outputs and a softmax: P(n_O = k | spectrum) for the Si(k+)
classes. Cross-entropy is weighted by inverse class frequency on the fitting rows (x = 0 cells give
a large Si0+ class), early stopping watches the validation rows' cross-entropy.

Scores worth reading beside each other: accuracy, balanced accuracy (the mean recall over the
classes present), the majority-class accuracy (what always guessing the commonest class gets), and
the mean log-loss; plus the confusion matrix (rows: true class, columns: predicted).
"""

from __future__ import annotations

import copy
import time

import numpy as np
import torch
from torch import nn

from .models import StackedMLP, stacked_model

#: The classes: number of O neighbours of a Si (n_O >= 4 is class 4).
N_CLASSES = 5


def class_labels(n_o: np.ndarray) -> np.ndarray:
    """Class of each Si: its number of O neighbours, 4 and above as 4."""
    return np.clip(np.asarray(n_o, int), 0, N_CLASSES - 1)


def train_classifier(
    inputs: torch.Tensor,
    labels: np.ndarray,
    fit_rows: np.ndarray,
    validation_rows: np.ndarray,
    *,
    epochs: int,
    patience: int,
    learning_rate: float = 1e-3,
    batch_size: int = 128,
    seed: int = 0,
) -> tuple[StackedMLP, dict]:
    """A coordination classifier trained on ``fit_rows``, the weights of its best validation epoch.

    The class weights balance the fitting loss; early stopping watches the *unweighted* validation
    cross-entropy, which stays finite when the validation rows hold a class the fitting rows lack.
    Without validation rows (tiny datasets), the last epoch is kept and ``patience`` is not used.
    It has no time limit of its own: a study starts it only before its limit and lets it end (it is short).
    """
    if len(fit_rows) == 0:
        raise ValueError('no rows to fit the coordination classifier on')
    torch.manual_seed(seed)
    generator = torch.Generator().manual_seed(seed)
    device = inputs.device
    model = stacked_model('charge', 1, inputs.shape[1], N_CLASSES).to(device)
    y = torch.as_tensor(class_labels(labels), dtype=torch.long, device=device)
    counts = np.bincount(class_labels(labels)[fit_rows], minlength=N_CLASSES).astype(float)
    weights = np.where(counts > 0, counts.sum() / np.maximum(counts, 1) / max((counts > 0).sum(), 1), 0.0)
    loss_fn = nn.CrossEntropyLoss(weight=torch.as_tensor(weights, dtype=torch.float32, device=device))
    watch_fn = nn.CrossEntropyLoss()
    optimiser = torch.optim.Adam(model.parameters(), lr=learning_rate)
    fit = torch.as_tensor(np.asarray(fit_rows, np.int64), device=device)
    val = torch.as_tensor(np.asarray(validation_rows, np.int64), device=device)
    best_loss, best_epoch, best_state, history = float('inf'), 0, None, []
    start = time.perf_counter()
    epoch = 0
    for epoch in range(1, epochs + 1):
        model.train()
        order = fit[torch.randperm(len(fit), generator=generator).to(device)]
        for batch in order.split(batch_size):
            optimiser.zero_grad()
            loss = loss_fn(model(inputs[batch])[0], y[batch])
            loss.backward()
            optimiser.step()
        model.eval()
        with torch.no_grad():
            train_loss = float(loss_fn(model(inputs[fit])[0], y[fit]))
            val_loss = float(watch_fn(model(inputs[val])[0], y[val])) if len(val) else train_loss
        history.append((train_loss, val_loss))
        if best_state is None or not len(val) or val_loss < best_loss:
            best_loss, best_epoch, best_state = val_loss, epoch, copy.deepcopy(model.state_dict())
        elif epoch - best_epoch >= patience:
            break
    model.load_state_dict(best_state)
    model.eval()
    result = {
        'epochs_run': epoch,
        'best_epoch': best_epoch,
        'best_validation_loss': best_loss,
        'class_weights': weights.tolist(),
        'seconds': time.perf_counter() - start,
        'history': np.array(history, float),
    }
    return model, result


def class_probabilities(model: StackedMLP, inputs: torch.Tensor) -> np.ndarray:
    """(N, 5) probabilities of n_O = 0..4 for each input row."""
    with torch.no_grad():
        return torch.softmax(model(inputs)[0], dim=-1).cpu().numpy()


def classification_scores(n_o: np.ndarray, probabilities: np.ndarray) -> dict:
    """Accuracy, balanced accuracy, majority-class accuracy, mean log-loss and the confusion matrix."""
    truth = class_labels(n_o)
    predicted = probabilities.argmax(axis=1)
    confusion = np.zeros((N_CLASSES, N_CLASSES), int)
    np.add.at(confusion, (truth, predicted), 1)
    present = confusion.sum(axis=1) > 0
    recall = np.diag(confusion)[present] / confusion.sum(axis=1)[present]
    picked = np.clip(probabilities[np.arange(len(truth)), truth], 1e-12, 1.0)
    return {
        'n': len(truth),
        'accuracy': float((predicted == truth).mean()) if len(truth) else None,
        'balanced_accuracy': float(recall.mean()) if len(recall) else None,
        'majority_accuracy': float(np.bincount(truth, minlength=N_CLASSES).max() / len(truth)) if len(truth) else None,
        'log_loss': float(-np.log(picked).mean()) if len(truth) else None,
        'confusion': confusion.tolist(),
    }
