"""Where a model was trained, and how far a new spectrum or prediction lies from it.

A network answers for any input, also far outside its training set, and says nothing. The model
file records its training domain so that a prediction can carry a warning:

- input distance: ``d(x) = sqrt(mean_k ((x_k - mu_k) / s_k)^2)`` over the grid points ``k`` of the
  spectrum as the network reads it (resampled and normalised), with ``mu`` and ``s`` the mean and
  standard deviation of the training inputs; ``s`` is floored at 5 % of its largest value, so that
  the flat pre-edge, where the training spectra barely differ, does not dominate. The limit is the
  largest ``d`` among the training inputs: beyond it, the spectrum is unlike every spectrum the
  model was trained on. A measured spectrum averages many sites, so it lies closer to ``mu`` than
  single sites do: crossing the limit is a strong sign.
- output range: a predicted mean outside the training targets' range (Si valence: min to max;
  RDF: above the largest g of any training row) is an extrapolation.
"""

from __future__ import annotations

import numpy as np

#: Floor of the per-point spread, as a fraction of its largest value.
SPREAD_FLOOR = 0.05


def training_domain(inputs: np.ndarray, targets: np.ndarray) -> dict:
    """Plain lists and floats (readable with ``torch.load(weights_only=True)``) describing the training set.

    :param inputs: the training rows as the network reads them, shape (rows, points).
    :param targets: the training targets, shape (rows, outputs).
    """
    inputs, targets = np.asarray(inputs, float), np.asarray(targets, float)
    mean, spread = inputs.mean(axis=0), inputs.std(axis=0)
    spread = np.maximum(spread, SPREAD_FLOOR * spread.max() if spread.max() > 0 else 1.0)
    domain = {'input_mean': mean.tolist(), 'input_spread': spread.tolist()}
    domain['input_distance_limit'] = float(max(input_distance(row, domain) for row in inputs))
    domain['target_min'] = float(targets.min())
    domain['target_max'] = float(targets.max())
    return domain


def input_distance(x: np.ndarray, domain: dict) -> float:
    """Standardised RMS distance of one input from the training mean (see the module docstring)."""
    mean, spread = np.asarray(domain['input_mean']), np.asarray(domain['input_spread'])
    return float(np.sqrt(np.mean(((np.asarray(x, float).ravel() - mean) / spread) ** 2)))


def domain_warnings(x: np.ndarray, prediction: np.ndarray | None, domain: dict | None, kind: str) -> list[str]:
    """Warnings for one input ``x`` and the model's mean ``prediction`` of ``kind`` ('charge' or 'rdf';
    ``None`` for the coordination classifier, whose input alone is checked)."""
    if not domain:
        return [f'the {kind} model records no training domain (trained before it was written): no check made']
    warnings = []
    distance, limit = input_distance(x, domain), domain['input_distance_limit']
    if distance > limit:
        warnings.append(
            f'{kind}: the spectrum lies outside the training spectra (distance {distance:.1f}, largest in training '
            f'{limit:.1f}); check its energy calibration and normalisation'
        )
    if prediction is None:  # a classifier (kind 'coordination'): only its input is checked
        return warnings
    prediction = np.asarray(prediction, float)
    low, high = domain['target_min'], domain['target_max']
    if kind == 'charge' and not low <= float(prediction.ravel()[0]) <= high:
        warnings.append(f'charge: {float(prediction.ravel()[0]):+.2f} e lies outside the training range {low:+.2f} to {high:+.2f} e')
    if kind == 'rdf' and prediction.max() > high:
        warnings.append(f'rdf: a peak of g = {prediction.max():.2f} exceeds the largest g in training ({high:.2f})')
    return warnings
