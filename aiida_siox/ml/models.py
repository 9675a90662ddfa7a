"""The paper's two networks, as stacks of independent members trained in one pass.

Charge: 256 -> 3 x 256 (leaky ReLU) -> 1. RDF: 256 -> 3 x 512 (ReLU) -> 256.

A :class:`StackedMLP` holds M networks of the same shape with weights of shape (M, in, out) and
evaluates them with one batched matrix product per layer. Ensemble members, cross-validation folds
and sub-window models are all "members": each sees its own minibatches and its own loss, and Adam
is elementwise, so training the stack is the same as training the M networks one after the other,
only M times fewer kernel launches (measured in ``benchmarks/bench_training.py``).
"""

from __future__ import annotations

import itertools
import math

import torch
from torch import nn

#: name -> (hidden width, hidden layers, activation); output size comes from the target.
ARCHITECTURES = {
    'charge': (256, 3, 'leaky_relu'),
    'rdf': (512, 3, 'relu'),
}
ACTIVATIONS = {'relu': nn.functional.relu, 'leaky_relu': nn.functional.leaky_relu}


class StackedMLP(nn.Module):
    """``n_members`` multilayer perceptrons of one shape, evaluated together.

    ``forward`` takes (M, B, n_in) (each member its own batch) or (B, n_in) (the same batch for
    every member) and returns (M, B, n_out).
    """

    def __init__(self, n_members: int, n_in: int, hidden: int, n_layers: int, n_out: int, activation: str) -> None:
        super().__init__()
        if activation not in ACTIVATIONS:
            raise ValueError(f'unknown activation {activation!r}; known: {", ".join(ACTIVATIONS)}')
        self.shape = {
            'n_members': n_members,
            'n_in': n_in,
            'hidden': hidden,
            'n_layers': n_layers,
            'n_out': n_out,
            'activation': activation,
        }
        widths = [n_in] + [hidden] * n_layers + [n_out]
        self.weights = nn.ParameterList()
        self.biases = nn.ParameterList()
        for fan_in, fan_out in itertools.pairwise(widths):
            # nn.Linear's default initialisation, drawn per member
            bound = 1.0 / math.sqrt(fan_in)
            self.weights.append(nn.Parameter(torch.empty(n_members, fan_in, fan_out).uniform_(-bound, bound)))
            self.biases.append(nn.Parameter(torch.empty(n_members, 1, fan_out).uniform_(-bound, bound)))
        self._activation = ACTIVATIONS[activation]

    @property
    def n_members(self) -> int:
        return self.shape['n_members']

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() == 2:
            x = x.unsqueeze(0).expand(self.n_members, -1, -1)
        last = len(self.weights) - 1
        for i, (weight, bias) in enumerate(zip(self.weights, self.biases, strict=True)):
            x = torch.baddbmm(bias, x, weight)
            if i < last:
                x = self._activation(x)
        return x

    def member(self, index: int) -> nn.Sequential:
        """Member ``index`` as a plain ``nn.Sequential`` of ``nn.Linear`` layers (same weights)."""
        activation = nn.LeakyReLU if self.shape['activation'] == 'leaky_relu' else nn.ReLU
        layers: list[nn.Module] = []
        last = len(self.weights) - 1
        for i, (weight, bias) in enumerate(zip(self.weights, self.biases, strict=True)):
            linear = nn.Linear(weight.shape[1], weight.shape[2])
            with torch.no_grad():
                linear.weight.copy_(weight[index].T)
                linear.bias.copy_(bias[index, 0])
            layers.append(linear)
            if i < last:
                layers.append(activation())
        return nn.Sequential(*layers)


def stacked_model(kind: str, n_members: int, n_in: int, n_out: int) -> StackedMLP:
    """A stack of ``n_members`` of the paper's ``charge`` or ``rdf`` network."""
    if kind not in ARCHITECTURES:
        raise ValueError(f'unknown model kind {kind!r}; known: {", ".join(ARCHITECTURES)}')
    hidden, n_layers, activation = ARCHITECTURES[kind]
    return StackedMLP(n_members, n_in, hidden, n_layers, n_out, activation)


def plain_model(kind: str, n_in: int, n_out: int) -> nn.Sequential:
    """One network of ``kind`` as ``nn.Sequential`` (the reference the benchmark compares with)."""
    return stacked_model(kind, 1, n_in, n_out).member(0)


def pick_device(requested: str = 'auto') -> torch.device:
    """CUDA when available (or requested), else CPU."""
    if requested == 'auto':
        return torch.device('cuda' if torch.cuda.is_available() else 'cpu')
    if requested.startswith('cuda') and not torch.cuda.is_available():
        raise RuntimeError(f'device {requested!r} requested but CUDA is not available on this machine')
    return torch.device(requested)
