"""The training settings of a study: their defaults, their checks, and the trainer settings they make.

Unknown keys and impossible values are refused with the key's name, at submission (the training
job's input validator) as well as in the job.
"""

from __future__ import annotations

import math
import numbers

import numpy as np

from .trainer import TrainSettings

DEFAULTS = {
    'seed': 0,
    'split': 'site',  # 'site' (the paper's random split) or 'cell' (whole cells on one side)
    'test_fraction': 0.2,
    'train_fraction': 1.0,  # below 1: train on that share of the training rows, same test rows (a learning curve)
    'validation_fraction': 0.1,
    'learning_rate': 1e-3,
    'batch_size': 128,
    'charge_epochs': 271,
    'rdf_epochs': 583,
    'patience': 50,
    'ensemble_size': 5,
    'cv_folds': 5,  # 0: no cross-validation
    'cv_learning_rates': [1e-3],
    'normalisation': 'global',
    'resolution_ev': 0.0,  # Gaussian sigma (eV) applied to every training spectrum: an instrument's resolution
    'augment_shift_ev': 0.0,
    'augment_broadening_ev': 0.0,
    'augment_noise': 0.0,
    'windows': True,
    'save_models': True,  # false: the job writes metrics and predictions only (no model files)
    'window_models': ['charge', 'rdf'],  # targets whose sub-window networks are saved (an RDF set is ~30 MB)
    # 'float16': each network's weights are rounded to half precision when its stage ends, and every prediction and
    # test score is of the rounded weights: model files half the size (a shipped model in git)
    'model_precision': 'float32',
    'coordination': True,  # also a classifier of the Si coordination class (n_O = 0-4) from the spectrum
    'coordination_epochs': 300,
    'device': 'auto',
    'max_seconds': 0,  # 0: no limit; else checkpoint and stop after that long
    # 0: no limit; else checkpoint and stop after that many training epochs in one job (all stages together): a
    # limit independent of the machine's speed and load, so the same jobs and checkpoints on any machine
    'epochs_per_job': 0,
    # paper mode: also train as the paper did (one network per target, tuned by CV, random site split)
    'paper_mode': False,
    'paper_cv_folds': 5,
    'paper_learning_rates': [3e-4, 1e-3, 3e-3],
    'paper_charge_max_epochs': 1000,  # caps of the CV's early stopping; the retraining runs the CV's epochs
    'paper_rdf_max_epochs': 1500,
}
TARGETS = ('charge', 'rdf')
MODEL_PRECISIONS = ('float32', 'float16')


def check_config(config: dict) -> dict:
    """Defaults filled in; unknown keys and impossible values refused with the key's name."""
    unknown = sorted(set(config) - set(DEFAULTS))
    if unknown:
        raise ValueError(f'unknown training settings: {", ".join(unknown)}; known: {", ".join(DEFAULTS)}')
    config = {**DEFAULTS, **config}
    if config['split'] not in ('site', 'cell'):
        raise ValueError(f"split must be 'site' or 'cell', got {config['split']!r}")
    for key in ('charge_epochs', 'rdf_epochs', 'coordination_epochs', 'batch_size', 'ensemble_size', 'patience'):
        if int(config[key]) < 1:
            raise ValueError(f'{key} must be at least 1, got {config[key]}')
    if int(config['epochs_per_job']) < 0:
        raise ValueError(f'epochs_per_job must be 0 (no limit) or more, got {config["epochs_per_job"]}')
    if config['cv_folds'] == 1 or config['cv_folds'] < 0:
        raise ValueError(f'cv_folds must be 0 (off) or at least 2, got {config["cv_folds"]}')
    if not 0.0 < float(config['train_fraction']) <= 1.0:
        raise ValueError(f'train_fraction must lie in (0, 1], got {config["train_fraction"]}')
    if float(config['resolution_ev']) < 0:
        raise ValueError(f'resolution_ev must be 0 (off) or positive, got {config["resolution_ev"]}')
    if not isinstance(config['window_models'], list | tuple) or not set(config['window_models']) <= set(TARGETS):
        raise ValueError(f'window_models must be a list of {", ".join(TARGETS)}, got {config["window_models"]!r}')
    if config['model_precision'] not in MODEL_PRECISIONS:
        raise ValueError(f'model_precision must be one of {", ".join(MODEL_PRECISIONS)}, got {config["model_precision"]!r}')
    if not isinstance(config['save_models'], bool):
        raise ValueError(f'save_models must be true or false, got {config["save_models"]!r}')
    _check_paper_config(config)
    return config


def _is_integer(value) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _check_paper_config(config: dict) -> None:
    """The paper-mode keys (checked whether or not paper mode is on: a typo fails at submission)."""
    if not isinstance(config['paper_mode'], bool):
        raise ValueError(f'paper_mode must be true or false, got {config["paper_mode"]!r}')
    folds = config['paper_cv_folds']
    if not _is_integer(folds) or folds < 2:
        raise ValueError(f'paper_cv_folds must be an integer of at least 2 (the paper: 5), got {folds!r}')
    rates = config['paper_learning_rates']
    if not isinstance(rates, list | tuple) or not rates:
        raise ValueError(f'paper_learning_rates must be a non-empty list of learning rates, got {rates!r}')
    for rate in rates:
        if not isinstance(rate, numbers.Real) or isinstance(rate, bool) or not math.isfinite(rate) or rate <= 0:
            raise ValueError(f'paper_learning_rates must hold positive numbers, got {rate!r} in {rates!r}')
    for key in ('paper_charge_max_epochs', 'paper_rdf_max_epochs'):
        if not _is_integer(config[key]) or config[key] < 1:
            raise ValueError(f'{key} must be a positive integer, got {config[key]!r}')


def train_settings(config: dict, target: str, seed: int, learning_rate: float | None = None) -> TrainSettings:
    return TrainSettings(
        epochs=int(config[f'{target}_epochs']),
        learning_rate=float(learning_rate or config['learning_rate']),
        batch_size=int(config['batch_size']),
        patience=int(config['patience']),
        seed=seed,
        augment_shift_ev=float(config['augment_shift_ev']),
        augment_broadening_ev=float(config['augment_broadening_ev']),
        augment_noise=float(config['augment_noise']),
    )


def member_splits(rows: np.ndarray, n_members: int, fraction: float, seed: int) -> tuple[list, list]:
    """Per member, its own random validation rows (``fraction`` of ``rows``; none below 10 rows)."""
    fits, validations = [], []
    for member in range(n_members):
        order = np.random.default_rng(seed + 1000 * member).permutation(rows)
        n_val = round(fraction * len(rows)) if len(rows) >= 10 else 0
        validations.append(np.sort(order[:n_val]))
        fits.append(np.sort(order[n_val:]))
    return fits, validations
