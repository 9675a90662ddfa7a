"""The learning study of one dataset: split, cross-validation, ensembles, baseline, sub-windows, cell means.

:meth:`Study.run` is what the training job runs. It works in stages (cross-validation per target
and learning rate, the final ensembles, the sub-window models, and with ``paper_mode`` the paper's
cross-validated single networks); each finished stage is kept in a checkpoint, and when the job's
limit comes (``max_seconds`` of wall time, or ``epochs_per_job`` epochs) the stage in progress is
saved mid-way too. Running a study again with that checkpoint continues where it stopped and gives
the same numbers as an uninterrupted run (on CPU, where torch is deterministic).

Paper mode (:mod:`aiida_siox.ml.paper_mode`) does what the paper did, beside our ensemble; the
coordination classifier is :mod:`aiida_siox.ml.coordination_stage`. The settings and their checks: :mod:`aiida_siox.ml.study_config`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import torch

from . import coordination, evaluation
from .baseline import DESCRIPTORS, LinearBaseline, spectrum_descriptors
from .coordination_stage import CoordinationStage
from .domain import training_domain
from .errors import StudyInterrupted
from .grid import ML_GRID
from .inputs import broaden_spectra, normalisation_scale, normalise
from .models import StackedMLP, pick_device, stacked_model
from .paper_mode import PaperMode
from .splits import cell_groups, kfold, subsample, train_test_split
from .study_config import TARGETS, check_config, member_splits, train_settings
from .trainer import JobBudget, StackedTrainer, TrainSettings, predict

MODEL_FORMAT = 'siox-model-1'


@dataclass
class StudyState:
    """Finished stages and the trainer state of the stage in progress (the checkpoint's content)."""

    completed: dict = field(default_factory=dict)
    current: dict | None = None

    def to_dict(self) -> dict:
        return {'completed': self.completed, 'current': self.current}

    @classmethod
    def from_dict(cls, data: dict) -> StudyState:
        return cls(completed=data['completed'], current=data['current'])


class Study(PaperMode, CoordinationStage):
    """One dataset, one configuration: the stages and their results."""

    def __init__(self, data: dict, config: dict, log: Callable[[str], None] = print, state: StudyState | None = None):
        self.config = check_config(config)
        self.log = log
        self.state = state or StudyState()
        self.device = pick_device(self.config['device'])
        self.spectra = np.asarray(data['spectra'], np.float32)
        self.energy = np.asarray(data.get('energy', ML_GRID), float)
        if float(self.config['resolution_ev']) > 0:  # the computed spectra at the instrument's resolution
            sigma_points = float(self.config['resolution_ev']) / float(self.energy[1] - self.energy[0])
            spectra = torch.from_numpy(self.spectra)
            self.spectra = broaden_spectra(spectra, torch.full((len(spectra),), sigma_points)).numpy()
        self.charge = np.asarray(data['charge'], np.float32)
        self.rdf = np.asarray(data['rdf'], np.float32)
        self.r = np.asarray(data['r'], float)
        self.n_o = np.asarray(data.get('n_o', np.zeros(len(self.charge))), int)
        self.x_composition = np.asarray(data.get('x', np.zeros(len(self.charge))), float)
        self.groups = cell_groups(self.x_composition, np.asarray(data.get('seed', np.zeros(len(self.charge))), int))
        n = len(self.charge)
        if n < 2:
            raise ValueError(f'the dataset has {n} row(s): at least 2 are needed (one to train on, one to test)')
        seed = int(self.config['seed'])
        by_cell = self.groups if self.config['split'] == 'cell' else None
        self.train_rows, self.test_rows = train_test_split(n, self.config['test_fraction'], seed, by_cell)
        # paper mode: always the random split by site (the very rows of the ensemble when split='site')
        self.paper_train_rows, self.paper_test_rows = train_test_split(n, self.config['test_fraction'], seed)
        # a learning-curve point: fewer training rows, the same test rows
        fraction = float(self.config['train_fraction'])
        self.train_rows = subsample(self.train_rows, fraction, seed)
        self.paper_train_rows = subsample(self.paper_train_rows, fraction, seed)
        same_rows = np.array_equal(self.paper_train_rows, self.train_rows) and np.array_equal(self.paper_test_rows, self.test_rows)
        if self.config['split'] == 'site' and not same_rows:
            raise RuntimeError("split by site: the paper-mode rows must be the ensemble's rows")
        mode = self.config['normalisation']
        self.scale = normalisation_scale(self.spectra[self.train_rows], mode)
        self.inputs = torch.from_numpy(normalise(self.spectra, mode, self.scale, self.energy)).to(self.device)
        self.paper_scale, self.paper_inputs = self.scale, self.inputs
        if self.config['paper_mode'] and not same_rows:  # the scale of the paper's own training rows
            self.paper_scale = normalisation_scale(self.spectra[self.paper_train_rows], mode)
            self.paper_inputs = torch.from_numpy(normalise(self.spectra, mode, self.paper_scale, self.energy)).to(self.device)
        self.targets = {
            'charge': torch.from_numpy(self.charge.reshape(-1, 1)).to(self.device),
            'rdf': torch.from_numpy(self.rdf).to(self.device),
        }
        self.budget = JobBudget(
            deadline=time.time() + float(self.config['max_seconds']) if self.config['max_seconds'] else None,
            epochs=int(self.config['epochs_per_job']) or None,
        )
        self.window_models: dict[str, dict] = {}

    # -- stages ---------------------------------------------------------------------------------

    def _stage(self, name: str, trainer_factory: Callable[[], StackedTrainer]) -> dict:
        if name in self.state.completed:
            return self.state.completed[name]
        trainer = trainer_factory()
        if self.state.current and self.state.current['stage'] == name:
            trainer.load_state_dict(self.state.current['trainer'])
            self.log(f'{name}: resumed at epoch {trainer.epoch}')
        if not trainer.run(self.budget):
            self.state.current = {'stage': name, 'trainer': trainer.state_dict()}
            raise StudyInterrupted(f'job limit (time or epochs) reached in stage {name} at epoch {trainer.epoch}')
        model = trainer.best_model()
        result = {
            'model_state': self.kept_weights(model),
            'model_shape': model.shape,
            'best_loss': trainer.best_loss.cpu().tolist(),
            'best_epoch': trainer.best_epoch.cpu().tolist(),
            'epochs_run': trainer.epoch,
            'seconds': trainer.seconds,
            'history': np.array(trainer.history, float),  # (epochs, 2 [train, watched], members)
        }
        self.state.completed[name] = result
        self.state.current = None
        return result

    def _trainer(
        self, name: str, target: str, fits, validations, settings: TrainSettings, masks=None, inputs: torch.Tensor | None = None
    ) -> Callable:
        inputs = self.inputs if inputs is None else inputs

        def make() -> StackedTrainer:
            torch.manual_seed(settings.seed)
            model = stacked_model(target, len(fits), inputs.shape[1], self.targets[target].shape[1]).to(self.device)
            return StackedTrainer(model, inputs, self.targets[target], fits, validations, settings, masks, self.log, name)

        return make

    def kept_weights(self, model: StackedMLP) -> dict[str, torch.Tensor]:
        """The weights a stage keeps, on the CPU: rounded to float16 with ``model_precision`` 'float16' (every
        prediction is then made by :meth:`model_from` with exactly the weights a model file holds)."""
        dtype = getattr(torch, self.config['model_precision'])
        weights = model.state_dict().items()
        kept = {key: value.detach().to('cpu', dtype) if value.is_floating_point() else value.cpu() for key, value in weights}
        for key, value in kept.items():
            if value.is_floating_point() and not torch.isfinite(value).all():
                raise ValueError(
                    f'{key} holds weights that are not finite in {self.config["model_precision"]} (beyond +-65504 in float16): '
                    'train with model_precision float32'
                )
        return kept

    def model_from(self, result: dict):
        model = StackedMLP(**result['model_shape'])
        model.load_state_dict(result['model_state'])
        return model.to(self.device).eval()

    def cross_validation(self, target: str) -> dict:
        """k folds over the training rows (by cell with split='cell'), one stacked run per learning rate."""
        k = int(self.config['cv_folds'])
        if not k:
            return {'skipped': 'cv_folds = 0'}
        groups = self.groups[self.train_rows] if self.config['split'] == 'cell' else None
        try:
            folds = kfold(len(self.train_rows), k, int(self.config['seed']), groups)
        except ValueError as exception:
            return {'skipped': str(exception)}
        fits = [self.train_rows[fit] for fit, _ in folds]
        validations = [self.train_rows[val] for _, val in folds]
        candidates = []
        for i, learning_rate in enumerate(self.config['cv_learning_rates']):
            settings = train_settings(self.config, target, int(self.config['seed']) + 17 * (i + 1), learning_rate)
            result = self._stage(
                f'cv_{target}_lr{i}', self._trainer(f'cv {target} lr={learning_rate:g}', target, fits, validations, settings)
            )
            fold_rmse = np.sqrt(result['best_loss'])
            candidates.append(
                {
                    'learning_rate': float(learning_rate),
                    'rmse_mean': float(fold_rmse.mean()),
                    'rmse_std': float(fold_rmse.std()),
                    'fold_rmse': fold_rmse.tolist(),
                    'best_epochs': result['best_epoch'],
                    'seconds': result['seconds'],
                }
            )
        best = min(candidates, key=lambda c: c['rmse_mean'])
        return {'folds': k, 'by': self.config['split'], 'candidates': candidates, 'learning_rate': best['learning_rate']}

    def ensemble(self, target: str, learning_rate: float) -> tuple[dict, StackedMLP, np.ndarray]:
        """The final ``ensemble_size`` members on all training rows; (result, model, (M, N, out) predictions)."""
        fits, validations = member_splits(
            self.train_rows, int(self.config['ensemble_size']), float(self.config['validation_fraction']), int(self.config['seed'])
        )
        settings = train_settings(self.config, target, int(self.config['seed']), learning_rate)
        result = self._stage(f'final_{target}', self._trainer(f'{target} ensemble', target, fits, validations, settings))
        model = self.model_from(result)
        return result, model, predict(model, self.inputs)

    def windows(self, target: str, learning_rate: float) -> dict:
        """One model per sub-window (inputs outside the window zeroed), all windows trained together."""
        masks = evaluation.window_masks(self.energy)
        fits, validations = member_splits(self.train_rows, 1, float(self.config['validation_fraction']), int(self.config['seed']))
        settings = train_settings(self.config, target, int(self.config['seed']) + 7, learning_rate)
        mask_tensor = torch.from_numpy(np.stack(list(masks.values())))
        result = self._stage(
            f'windows_{target}',
            self._trainer(f'{target} windows', target, fits * len(masks), validations * len(masks), settings, mask_tensor),
        )
        predictions = predict(self.model_from(result), self.inputs, mask_tensor)
        truth = self.targets[target].cpu().numpy()[self.test_rows]
        scores = {}
        for i, (name, (start, end)) in enumerate(evaluation.WINDOWS.items()):
            prediction = predictions[i][self.test_rows]
            entry = {'range_ev': [start, end]}
            if target == 'charge':
                entry.update(evaluation.scores(truth.ravel(), prediction.ravel()))
            else:
                entry['rmse'] = evaluation.rmse(truth, prediction)
            scores[name] = entry
        self.window_models[target] = self.window_model_file(target, result, scores, masks)
        return scores

    def window_model_file(self, target: str, result: dict, scores: dict, masks: dict[str, np.ndarray]) -> dict:
        """The sub-window networks as a model file: member i reads only window i (for spectra that cover part
        of the grid); each window with its test RMSE and its own training domain over its points."""
        rows = self.train_rows
        inputs, targets = self.inputs.cpu().numpy()[rows], self.targets[target].cpu().numpy()[rows]
        content = self.model_file(target, result, {'test': {'rmse': None}}, variant='windows')
        content['domain'] = None  # per window instead:
        content['windows'] = [
            {
                'name': name,
                'range_ev': list(scores[name]['range_ev']),
                'test_rmse': scores[name]['rmse'],
                'mask': mask.tolist(),
                'domain': training_domain(inputs[:, mask > 0], targets),
            }
            for name, mask in masks.items()
        ]
        return content

    def scores(self, target: str, prediction: np.ndarray, train: np.ndarray, test: np.ndarray) -> tuple[dict, np.ndarray | None]:
        """Train and test scores of one prediction per row ((N,) charge, (N, points) RDF).

        Charge: RMSE, R2, n per side and per Si(n+) class of the test rows. RDF: RMSE, n per side and
        the best / median / worst test site. Also the per-site RDF RMSE of every row (None for charge).
        """
        truth = self.targets[target].cpu().numpy()
        section: dict = {}
        if target == 'charge':
            for side, rows in (('train', train), ('test', test)):
                section[side] = evaluation.scores(truth[rows, 0], prediction[rows])
            section['by_coordination_test'] = evaluation.by_coordination(truth[test, 0], prediction[test], self.n_o[test])
            return section, None
        site_rmse = evaluation.per_site_rmse(truth, prediction)
        for side, rows in (('train', train), ('test', test)):
            section[side] = {'rmse': evaluation.rmse(truth[rows], prediction[rows]), 'n': len(rows)}
        ordered = np.sort(site_rmse[test])
        section['per_site_rmse_test'] = {'best': float(ordered[0]), 'median': float(np.median(ordered)), 'worst': float(ordered[-1])}
        return section, site_rmse

    def baseline(self) -> tuple[dict, np.ndarray]:
        features = spectrum_descriptors(self.energy, self.spectra)
        model = LinearBaseline().fit(features[self.train_rows], self.charge[self.train_rows])
        prediction = model.predict(features)
        return {
            'descriptors': list(DESCRIPTORS),
            'coefficients': model.coefficients.tolist(),
            'train': evaluation.scores(self.charge[self.train_rows], prediction[self.train_rows]),
            'test': evaluation.scores(self.charge[self.test_rows], prediction[self.test_rows]),
        }, prediction

    def averaged(self, charge_model, rdf_model) -> dict:
        """Site-trained ensembles applied to each cell's mean spectrum, against the cell's mean targets."""
        cells, (mean_spectra, mean_charge, mean_rdf, mean_x) = evaluation.cell_means(
            self.groups, self.spectra, self.charge, self.rdf, self.x_composition
        )
        inputs = torch.from_numpy(normalise(mean_spectra, self.config['normalisation'], self.scale, self.energy)).to(self.device)
        charge = predict(charge_model, inputs)[..., 0]
        rdf = predict(rdf_model, inputs).mean(axis=0)
        rdf_rmse = evaluation.per_site_rmse(mean_rdf, rdf)
        worst = int(np.argmax(rdf_rmse))
        return {
            'n_cells': len(cells),
            'x': mean_x.tolist(),
            'mean_charge': mean_charge.tolist(),
            'predicted_mean_charge': charge.mean(axis=0).tolist(),
            'predicted_std': charge.std(axis=0).tolist(),
            'charge': evaluation.scores(mean_charge, charge.mean(axis=0)),
            'rdf_rmse': rdf_rmse.tolist(),
            'rdf_worst': {'x': float(mean_x[worst]), 'rmse': float(rdf_rmse[worst])},
        }

    # -- all of it ------------------------------------------------------------------------------

    def run(self) -> tuple[dict, dict, dict]:
        """(metrics, predictions, model files) of the whole study; raises StudyInterrupted at the time limit."""
        start = time.perf_counter()
        n, test = len(self.charge), self.test_rows
        self.log(
            f'{n} sites in {len(np.unique(self.groups))} cells, split by {self.config["split"]}: '
            f'{len(self.train_rows)} train, {len(test)} test; device {self.device}'
        )
        metrics: dict = {
            'device': str(self.device),
            'n_rows': n,
            'n_cells': len(np.unique(self.groups)),
            'n_train': len(self.train_rows),
            'n_test': len(test),
            'split': self.config['split'],
            'config': self.config,
            'cross_validation': {},
        }
        predictions: dict = {'is_test': np.isin(np.arange(n), test), 'cell': self.groups}
        models, members = {}, {}
        for target in TARGETS:
            cv = self.cross_validation(target)
            metrics['cross_validation'][target] = cv
            learning_rate = cv.get('learning_rate', self.config['learning_rate'])
            result, members[target], prediction = self.ensemble(target, learning_rate)
            mean, std = prediction.mean(axis=0), prediction.std(axis=0)
            if target == 'charge':
                mean, std = mean[:, 0], std[:, 0]
            section = {
                'learning_rate': learning_rate,
                'ensemble_size': int(self.config['ensemble_size']),
                'epochs_run': result['epochs_run'],
                'best_epoch': result['best_epoch'],
                'seconds': result['seconds'],
                'seconds_per_epoch': result['seconds'] / max(result['epochs_run'], 1),
            }
            scores, site_rmse = self.scores(target, mean, self.train_rows, test)
            section.update(scores)
            if target == 'charge':
                section['mean_uncertainty_test'] = float(std[test].mean())
            else:
                predictions['rdf_site_rmse'] = site_rmse
            predictions[f'{target}_mean'], predictions[f'{target}_std'] = mean, std
            metrics[target] = section
            models[target] = self.model_file(target, result, section)
        metrics['baseline'], predictions['baseline_charge'] = self.baseline()
        if self.config['coordination']:
            metrics['coordination'], predictions['coordination_probabilities'], models['coordination'] = self.coordination()
        if self.config['windows']:
            metrics['windows'] = {target: self.windows(target, metrics[target]['learning_rate']) for target in TARGETS}
            # every window is scored; only the targets of `window_models` keep their networks
            kept = {target: content for target, content in self.window_models.items() if target in self.config['window_models']}
            models.update({f'windows_{target}': content for target, content in kept.items()})
        metrics['averaged'] = self.averaged(members['charge'], members['rdf'])
        if self.config['paper_mode']:
            metrics['paper'], paper_predictions, paper_models = self.paper(metrics)
            predictions.update(paper_predictions)
            models.update(paper_models)
        metrics['training_seconds'] = time.perf_counter() - start
        # flat keys: the one-line summary every report reads
        metrics['charge_rmse_train'] = metrics['charge']['train']['rmse']
        metrics['charge_rmse_test'] = metrics['charge']['test']['rmse']
        metrics['charge_r2_test'] = metrics['charge']['test']['r2']
        metrics['rdf_rmse_train'] = metrics['rdf']['train']['rmse']
        metrics['rdf_rmse_test'] = metrics['rdf']['test']['rmse']
        if self.config['paper_mode']:
            paper = metrics['paper']
            skipped = 'skipped' in paper
            metrics['paper_charge_rmse_test'] = None if skipped else paper['charge']['test']['rmse']
            metrics['paper_charge_r2_test'] = None if skipped else paper['charge']['test']['r2']
            metrics['paper_rdf_rmse_test'] = None if skipped else paper['rdf']['test']['rmse']
        return metrics, predictions, models

    def _domain_targets(self, target: str) -> np.ndarray:
        if target == 'coordination':
            return coordination.class_labels(self.n_o).reshape(-1, 1).astype(np.float32)
        return self.targets[target].cpu().numpy()

    def model_file(self, target: str, result: dict, section: dict, variant: str = 'ensemble') -> dict:
        """What a model file holds: weights of every member and how to prepare a spectrum for them.

        Plain tensors, numbers and strings only, so ``torch.load(weights_only=True)`` reads it.
        ``variant`` 'paper': the single network of paper mode (normalised by its own training rows).
        """
        paper = variant == 'paper'
        rows = self.paper_train_rows if paper else self.train_rows
        inputs = (self.paper_inputs if paper else self.inputs).cpu().numpy()[rows]
        return {
            'format': MODEL_FORMAT,
            'kind': target,
            'variant': variant,
            'shape': result['model_shape'],
            'state_dict': result['model_state'],
            'normalisation': self.config['normalisation'],
            'scale': self.paper_scale if paper else self.scale,
            'energy_grid': [float(self.energy[0]), float(self.energy[-1]), len(self.energy)],
            'r_grid': self.r.tolist() if target == 'rdf' else [],
            'test_rmse': section['test']['rmse'],
            'resolution_ev': float(self.config['resolution_ev']),
            'domain': training_domain(inputs, self._domain_targets(target)[rows]),
        }
