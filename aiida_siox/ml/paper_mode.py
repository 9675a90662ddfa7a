"""Paper mode: the learning protocol of the paper, run beside our ensemble on the same rows.

A random split by site; per target a k-fold cross-validation over a grid of learning rates with
early stopping on the held-out fold, in one stacked run; then one network retrained on all training
rows for the mean best epoch of the chosen rate, tested once. :class:`PaperMode` is a part of
:class:`~aiida_siox.ml.study.Study`: it uses the study's stages, trainers, scores and model files.
"""

from __future__ import annotations

import math

import numpy as np

from .splits import kfold
from .study_config import TARGETS
from .trainer import TrainSettings, predict


def _finite(value: float) -> float | None:
    """A float, or None (JSON null) for a diverged (infinite or NaN) score."""
    value = float(value)
    return value if math.isfinite(value) else None


class PaperMode:
    """The paper's cross-validated single network per target (methods of :class:`Study`)."""

    def paper_cross_validation(self, target: str) -> dict:
        """k folds (by site) over the paper's training rows x the learning-rate grid, in one stacked run.

        Member ``i * k + f`` is learning rate ``i`` on fold ``f``: it learns from the other folds and
        stops early on fold ``f`` (at most ``paper_<target>_max_epochs``). Chosen: the rate with the
        lowest mean fold RMSE (the first of equals); epochs: the mean of its folds' best epochs,
        rounded half up.
        """
        k = int(self.config['paper_cv_folds'])
        rates = [float(rate) for rate in self.config['paper_learning_rates']]
        max_epochs = int(self.config[f'paper_{target}_max_epochs'])
        rows = self.paper_train_rows
        folds = kfold(len(rows), k, int(self.config['seed']))
        fits = [rows[fit] for fit, _ in folds] * len(rates)
        validations = [rows[val] for _, val in folds] * len(rates)
        settings = TrainSettings(
            epochs=max_epochs,
            batch_size=int(self.config['batch_size']),
            patience=int(self.config['patience']),
            seed=int(self.config['seed']) + 101,
            member_learning_rates=tuple(rate for rate in rates for _ in range(k)),
        )
        result = self._stage(
            f'paper_cv_{target}',
            self._trainer(f'paper cv {target}', target, fits, validations, settings, inputs=self.paper_inputs),
        )
        fold_rmse = np.sqrt(np.asarray(result['best_loss'], float)).reshape(len(rates), k)
        best_epochs = np.asarray(result['best_epoch'], int).reshape(len(rates), k)
        mean_rmse = fold_rmse.mean(axis=1)
        chosen = int(np.argmin(np.where(np.isfinite(mean_rmse), mean_rmse, np.inf)))
        epochs = max(1, math.floor(best_epochs[chosen].mean() + 0.5))
        candidates = [
            {
                'learning_rate': rate,
                'rmse_mean': _finite(mean_rmse[i]),
                'rmse_std': _finite(fold_rmse[i].std()),
                'fold_rmse': [_finite(value) for value in fold_rmse[i]],
                'best_epochs': best_epochs[i].tolist(),
            }
            for i, rate in enumerate(rates)
        ]
        return {
            'folds': k,
            'by': 'site',
            'max_epochs': max_epochs,
            'patience': int(self.config['patience']),
            'candidates': candidates,
            'learning_rate': rates[chosen],
            'epochs': epochs,
            'seconds': result['seconds'],
        }

    def paper_final(self, target: str, learning_rate: float, epochs: int) -> tuple[dict, np.ndarray]:
        """One network on all of the paper's training rows for exactly ``epochs`` epochs (no validation
        rows, no early stopping: the last epoch's weights); (stage result, (N, out) prediction)."""
        settings = TrainSettings(
            epochs=epochs,
            learning_rate=learning_rate,
            batch_size=int(self.config['batch_size']),
            patience=int(self.config['patience']),
            seed=int(self.config['seed']) + 202,
            early_stopping=False,
        )
        rows = self.paper_train_rows
        result = self._stage(
            f'paper_final_{target}',
            self._trainer(f'paper {target}', target, [rows], [rows[:0]], settings, inputs=self.paper_inputs),
        )
        return result, predict(self.model_from(result), self.paper_inputs)[0]

    def paper(self, metrics: dict) -> tuple[dict, dict, dict]:
        """The paper's way, per target, beside the ensemble of ``metrics``: (section, predictions, model files)."""
        train, test = self.paper_train_rows, self.paper_test_rows
        same_rows = bool(np.array_equal(test, self.test_rows))
        section: dict = {
            'split': 'site',
            'test_fraction': float(self.config['test_fraction']),
            'seed': int(self.config['seed']),
            'n_train': len(train),
            'n_test': len(test),
            'same_rows_as_ensemble': same_rows,
        }
        k = int(self.config['paper_cv_folds'])
        if len(train) < k:
            reason = f'{k}-fold cross-validation needs at least {k} training rows, got {len(train)}'
            self.log(f'paper mode skipped: {reason}')
            return {**section, 'skipped': reason}, {}, {}
        predictions = {'paper_is_test': np.isin(np.arange(len(self.charge)), test)}
        models = {}
        for target in TARGETS:
            cv = self.paper_cross_validation(target)
            self.log(f'paper {target}: learning rate {cv["learning_rate"]:g}, {cv["epochs"]} epochs (from {k}-fold CV)')
            result, prediction = self.paper_final(target, cv['learning_rate'], cv['epochs'])
            if target == 'charge':
                prediction = prediction[:, 0]
            entry = {
                'cross_validation': cv,
                'learning_rate': cv['learning_rate'],
                'epochs': cv['epochs'],
                'epochs_run': result['epochs_run'],
                'seconds': cv['seconds'] + result['seconds'],
            }
            scores, site_rmse = self.scores(target, prediction, train, test)
            entry.update(scores)
            section[target] = entry
            if target == 'charge':
                predictions['paper_charge'] = prediction
            else:
                predictions['paper_rdf_site_rmse'] = site_rmse
            models[f'paper_{target}'] = self.model_file(target, result, entry, variant='paper')
        section['beside_ensemble'] = {
            'same_test_rows': same_rows,
            **{
                key: {'paper': section[target]['test'][score], 'ensemble': metrics[target]['test'][score]}
                for key, target, score in (
                    ('charge_rmse_test', 'charge', 'rmse'),
                    ('charge_r2_test', 'charge', 'r2'),
                    ('rdf_rmse_test', 'rdf', 'rmse'),
                )
            },
        }
        return section, predictions, models
