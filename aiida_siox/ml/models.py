"""The paper's two networks: charge (256 -> 3 x 256 leaky ReLU -> 1), RDF (256 -> 3 x 512 ReLU -> 256)."""

from __future__ import annotations

import torch
from torch import nn


def mlp(n_in: int, hidden: int, n_layers: int, n_out: int, activation: type[nn.Module]) -> nn.Sequential:
    """A plain multilayer perceptron with ``n_layers`` hidden layers of width ``hidden``."""
    layers: list[nn.Module] = []
    width = n_in
    for _ in range(n_layers):
        layers += [nn.Linear(width, hidden), activation()]
        width = hidden
    layers.append(nn.Linear(width, n_out))
    return nn.Sequential(*layers)


def charge_model(n_in: int = 256) -> nn.Sequential:
    """Bader valence from a spectrum: 3 hidden layers of 256, leaky ReLU, scalar output."""
    return mlp(n_in, 256, 3, 1, nn.LeakyReLU)


def rdf_model(n_in: int = 256, n_out: int = 256) -> nn.Sequential:
    """RDF (256 points on 0-5 A) from a spectrum: 3 hidden layers of 512, ReLU."""
    return mlp(n_in, 512, 3, n_out, nn.ReLU)


def pick_device() -> torch.device:
    """CUDA when available, else CPU."""
    return torch.device('cuda' if torch.cuda.is_available() else 'cpu')
