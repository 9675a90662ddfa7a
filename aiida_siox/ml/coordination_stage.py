"""Beyond the paper: the Si coordination class (n_O = 0-4) of each site, predicted from its spectrum.

:class:`CoordinationStage` is a part of :class:`~aiida_siox.ml.study.Study` (as paper mode is): a
classifier trained on the study's own split, kept in its checkpoint, and written as a model file
beside the valence models. The network and its scores: :mod:`aiida_siox.ml.coordination`.
"""

from __future__ import annotations

import numpy as np

from . import coordination
from .errors import StudyInterrupted
from .models import StackedMLP
from .study_config import member_splits


class CoordinationStage:
    """The coordination classifier of a study (methods of :class:`~aiida_siox.ml.study.Study`)."""

    def coordination(self) -> tuple[dict, np.ndarray, dict]:
        """Beyond the paper: P(n_O = 0..4) per site from the spectrum; (metrics, (N, 5) probabilities, model file)."""
        if 'coordination' not in self.state.completed:
            fits, validations = member_splits(self.train_rows, 1, float(self.config['validation_fraction']), int(self.config['seed']))
            # A short stage: it starts only before the job's limit and then runs to its end, so a resumed
            # study always gets past it (stopped half-way it would start over, again and again).
            if self.budget.spent():
                raise StudyInterrupted('job limit (time or epochs) reached before the coordination classifier')
            model, result = self._train_classifier(fits[0], validations[0])
            result['model_state'] = self.kept_weights(model)
            result['model_shape'] = model.shape
            self.state.completed['coordination'] = result
        result = self.state.completed['coordination']
        return self._coordination_section(result)

    def _train_classifier(self, fit_rows: np.ndarray, validation_rows: np.ndarray) -> tuple[StackedMLP, dict]:
        return coordination.train_classifier(
            self.inputs,
            self.n_o,
            fit_rows,
            validation_rows,
            epochs=int(self.config['coordination_epochs']),
            patience=int(self.config['patience']),
            learning_rate=float(self.config['learning_rate']),
            batch_size=int(self.config['batch_size']),
            seed=int(self.config['seed']) + 29,
        )

    def _coordination_section(self, result: dict) -> tuple[dict, np.ndarray, dict]:
        probabilities = coordination.class_probabilities(self.model_from(result), self.inputs)
        section = {
            'classes': [f'Si{k}+' for k in range(coordination.N_CLASSES)],
            'epochs_run': result['epochs_run'],
            'best_epoch': result['best_epoch'],
            'seconds': result['seconds'],
            'train': coordination.classification_scores(self.n_o[self.train_rows], probabilities[self.train_rows]),
            'test': coordination.classification_scores(self.n_o[self.test_rows], probabilities[self.test_rows]),
        }
        content = self.model_file('coordination', result, {'test': {'rmse': None}})
        content['classes'] = section['classes']
        content['test_accuracy'] = section['test']['accuracy']
        return section, probabilities, content
