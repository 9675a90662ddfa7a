"""Training of a :class:`~.models.StackedMLP`: Adam + MSE, minibatches, early stopping per member.

The whole dataset lives on the device as one tensor; a minibatch is an index gather, not a
DataLoader. Every member has its own fit rows, validation rows, minibatch order and early-stopping
state, so one trainer runs cross-validation folds, ensemble members or sub-window models at once.
The trainer's full state (weights, Adam moments, best weights, random generator, epoch) goes into
a checkpoint, and a resumed run continues exactly where the interrupted one stopped.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass

import numpy as np
import torch

from .inputs import augment
from .models import StackedMLP


@dataclass
class TrainSettings:
    """Optimiser, minibatch and early-stopping settings (the paper's by default)."""

    epochs: int
    learning_rate: float = 1e-3
    batch_size: int = 128
    patience: int = 50
    seed: int = 0
    augment_shift_ev: float = 0.0
    augment_broadening_ev: float = 0.0
    augment_noise: float = 0.0
    log_every: int = 0
    #: False: no early stopping, exactly ``epochs`` epochs, and the "best" model is the last epoch's.
    early_stopping: bool = True
    #: One learning rate per member (overrides ``learning_rate``): e.g. a learning-rate grid x folds in one run.
    member_learning_rates: tuple[float, ...] | None = None

    @property
    def augments(self) -> bool:
        return self.augment_shift_ev > 0 or self.augment_broadening_ev > 0 or self.augment_noise > 0


@dataclass
class JobBudget:
    """How much of a study one job may do before it checkpoints and stops: a wall-clock ``deadline``
    (``time.time()``), a number of training ``epochs`` (the same checkpoints on any machine), both or
    neither (``None``: no limit). Trainers count the epochs they run into ``epochs_run``."""

    deadline: float | None = None
    epochs: int | None = None
    epochs_run: int = 0

    def spent(self) -> bool:
        if self.deadline is not None and time.time() >= self.deadline:
            return True
        return self.epochs is not None and self.epochs_run >= self.epochs


def _padded(index_sets: list[np.ndarray], device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    """(M, L) index matrix and boolean mask of index sets of unequal length."""
    length = max(1, max(len(s) for s in index_sets))
    index = torch.zeros(len(index_sets), length, dtype=torch.long)
    mask = torch.zeros(len(index_sets), length, dtype=torch.bool)
    for m, rows in enumerate(index_sets):
        index[m, : len(rows)] = torch.as_tensor(np.asarray(rows, np.int64))
        mask[m, : len(rows)] = True
    return index.to(device), mask.to(device)


class StackedTrainer:
    """Trains the members of ``model`` on their own rows of ``x`` -> ``y``.

    :param fit_sets: per member, the rows it learns from.
    :param validation_sets: per member, the rows its early stopping watches (empty: its training loss).
        With ``settings.early_stopping`` off nothing is watched: every member runs ``epochs`` epochs
        and :meth:`best_model` is the last epoch's.
    :param input_masks: optional (M, n_in) 0/1 mask per member: a sub-window model sees only its
        window (zeroed inputs give zero gradient to their weights: the same as a smaller input layer).
    """

    def __init__(
        self,
        model: StackedMLP,
        x: torch.Tensor,
        y: torch.Tensor,
        fit_sets: list[np.ndarray],
        validation_sets: list[np.ndarray],
        settings: TrainSettings,
        input_masks: torch.Tensor | None = None,
        log: Callable[[str], None] = print,
        label: str = '',
    ) -> None:
        if len(fit_sets) != model.n_members or len(validation_sets) != model.n_members:
            raise ValueError(f'{model.n_members} members need as many fit and validation sets')
        if any(len(rows) == 0 for rows in fit_sets):
            raise ValueError('every member needs at least one training row')
        self.model, self.x, self.y, self.settings = model, x, y, settings
        self.device = x.device
        self.fit_sets = [np.asarray(rows, np.int64) for rows in fit_sets]
        self.validation_index, self.validation_mask = _padded(validation_sets, self.device)
        self.has_validation = torch.tensor([len(rows) > 0 for rows in validation_sets], device=self.device)
        self.input_masks = None if input_masks is None else input_masks.to(self.device, x.dtype).unsqueeze(1)
        self.log, self.label = log, label
        self.member_learning_rates = None
        if settings.member_learning_rates is not None:
            if len(settings.member_learning_rates) != model.n_members:
                raise ValueError(f'{model.n_members} members need as many learning rates, got {len(settings.member_learning_rates)}')
            self.member_learning_rates = torch.tensor(settings.member_learning_rates, dtype=x.dtype, device=self.device)
        # per-member rates: Adam's step with lr 1 is each member's update direction, scaled per member in _step
        learning_rate = 1.0 if self.member_learning_rates is not None else settings.learning_rate
        self.optimiser = torch.optim.Adam(model.parameters(), lr=learning_rate)
        # one generator per member for its minibatch order: a member trains the same beside others as alone
        self.order_generators = [torch.Generator().manual_seed(settings.seed + 7919 * m) for m in range(model.n_members)]
        self.generator = torch.Generator().manual_seed(settings.seed)  # augmentation
        n = model.n_members
        self.epoch = 0
        self.best_loss = torch.full((n,), math.inf, device=self.device)
        self.best_epoch = torch.zeros(n, dtype=torch.long, device=self.device)
        self.since_best = torch.zeros(n, dtype=torch.long, device=self.device)
        self.best_parameters = [p.detach().clone() for p in model.parameters()]
        self.history: list[tuple[list[float], list[float]]] = []
        self.seconds = 0.0

    @property
    def stopped(self) -> torch.Tensor:
        """Members whose validation loss has not improved for ``patience`` epochs (none without early stopping)."""
        if not self.settings.early_stopping:
            return torch.zeros_like(self.since_best, dtype=torch.bool)
        return self.since_best >= self.settings.patience

    @property
    def finished(self) -> bool:
        return self.epoch >= self.settings.epochs or bool(self.stopped.all())

    def _inputs(self, index: torch.Tensor) -> torch.Tensor:
        batch = self.x[index]
        if self.settings.augments:
            s = self.settings
            batch = augment(batch, self.generator, s.augment_shift_ev, s.augment_broadening_ev, s.augment_noise)
        return self._masked(batch)

    def _epoch_order(self) -> torch.Tensor:
        """(M, steps * batch) row order: each member's own permutation, wrapped to the longest set."""
        batch = self.settings.batch_size
        steps = math.ceil(max(len(rows) for rows in self.fit_sets) / batch)
        order = []
        for rows, generator in zip(self.fit_sets, self.order_generators, strict=True):
            repeats = math.ceil(steps * batch / len(rows))
            picks = torch.cat([torch.randperm(len(rows), generator=generator) for _ in range(repeats)])
            order.append(torch.as_tensor(rows)[picks[: steps * batch]])
        return torch.stack(order).to(self.device)

    def validation_loss(self) -> torch.Tensor:
        """Per-member MSE on its validation rows (NaN for a member without any)."""
        with torch.no_grad():
            prediction = self.model(self._masked(self.x[self.validation_index]))
            error = ((prediction - self.y[self.validation_index]) ** 2).mean(-1)
            mask = self.validation_mask.to(error.dtype)
            return (error * mask).sum(-1) / mask.sum(-1).clamp(min=1)

    def _masked(self, batch: torch.Tensor) -> torch.Tensor:
        return batch if self.input_masks is None else batch * self.input_masks

    def train_epoch(self) -> None:
        self.model.train()
        order = self._epoch_order()
        batch = self.settings.batch_size
        totals = torch.zeros(self.model.n_members, device=self.device)
        steps = order.shape[1] // batch
        for step in range(steps):
            index = order[:, step * batch : (step + 1) * batch]
            loss = ((self.model(self._inputs(index)) - self.y[index]) ** 2).mean(dim=(1, 2))
            self.optimiser.zero_grad(set_to_none=True)
            loss.sum().backward()  # members are independent: d(sum)/d(member m) = d(loss_m)/d(member m)
            self._step()
            totals += loss.detach()
        train_loss = totals / steps
        self.model.eval()
        watched = torch.where(self.has_validation, self.validation_loss(), train_loss)
        if self.settings.early_stopping:
            improved = (watched < self.best_loss) & ~self.stopped
        else:  # every epoch is the "best" one: the kept weights are the last epoch's
            improved = torch.ones_like(self.has_validation)
        with torch.no_grad():
            for best, parameter in zip(self.best_parameters, self.model.parameters(), strict=True):
                best[improved] = parameter.detach()[improved]
        self.best_loss = torch.where(improved, watched, self.best_loss)
        self.best_epoch = torch.where(improved, torch.full_like(self.best_epoch, self.epoch + 1), self.best_epoch)
        self.since_best = torch.where(improved, torch.zeros_like(self.since_best), self.since_best + 1)
        self.epoch += 1
        self.history.append((train_loss.cpu().tolist(), watched.cpu().tolist()))

    def _step(self) -> None:
        """One Adam step; with per-member learning rates, each member's update scaled by its own rate.

        Adam's moments do not depend on the learning rate and its update is ``lr`` times a direction,
        so stepping with lr 1 and scaling each member's change by its rate is Adam at that rate.
        """
        if self.member_learning_rates is None:
            self.optimiser.step()
            return
        parameters = list(self.model.parameters())
        before = [p.detach().clone() for p in parameters]
        self.optimiser.step()
        with torch.no_grad():
            for old, parameter in zip(before, parameters, strict=True):
                rate = self.member_learning_rates.view(-1, *([1] * (parameter.dim() - 1)))
                parameter.copy_(old + rate * (parameter - old))

    def run(self, budget: JobBudget | None = None) -> bool:
        """Train until every member stopped or ``epochs`` ran; False if the job's ``budget`` was spent first."""
        every = self.settings.log_every or max(1, self.settings.epochs // 10)
        while not self.finished:
            if budget is not None and budget.spent():
                return False
            start = time.perf_counter()
            self.train_epoch()
            self.seconds += time.perf_counter() - start
            if budget is not None:
                budget.epochs_run += 1
            if self.epoch % every == 0 or self.finished:
                train, watched = self.history[-1]
                self.log(
                    f'{self.label} epoch {self.epoch}/{self.settings.epochs}: train {np.mean(train):.4g} '
                    f'validation {np.mean(watched):.4g} ({int(self.stopped.sum())}/{self.model.n_members} stopped)'
                )
        return True

    def best_model(self) -> StackedMLP:
        """The model with each member's weights of its best validation epoch (the last, without early stopping)."""
        with torch.no_grad():
            for best, parameter in zip(self.best_parameters, self.model.parameters(), strict=True):
                parameter.copy_(best)
        return self.model.eval()

    def state_dict(self) -> dict:
        return {
            'model': self.model.state_dict(),
            'optimiser': self.optimiser.state_dict(),
            'generator': self.generator.get_state(),
            'order_generators': [g.get_state() for g in self.order_generators],
            'epoch': self.epoch,
            'best_loss': self.best_loss.cpu(),
            'best_epoch': self.best_epoch.cpu(),
            'since_best': self.since_best.cpu(),
            'best_parameters': [p.cpu() for p in self.best_parameters],
            'history': self.history,
            'seconds': self.seconds,
            'settings': asdict(self.settings),
        }

    def load_state_dict(self, state: dict) -> None:
        self.model.load_state_dict(state['model'])
        self.optimiser.load_state_dict(state['optimiser'])
        self.generator.set_state(state['generator'])
        for generator, saved in zip(self.order_generators, state['order_generators'], strict=True):
            generator.set_state(saved)
        self.epoch = state['epoch']
        self.best_loss = state['best_loss'].to(self.device)
        self.best_epoch = state['best_epoch'].to(self.device)
        self.since_best = state['since_best'].to(self.device)
        self.best_parameters = [p.to(self.device) for p in state['best_parameters']]
        self.history = [tuple(entry) for entry in state['history']]
        self.seconds = state['seconds']


def predict(model: StackedMLP, x: torch.Tensor, input_masks: torch.Tensor | None = None, chunk: int = 4096) -> np.ndarray:
    """(M, N, n_out) predictions of every member on every row of ``x``, in chunks."""
    model.eval()
    outputs = []
    with torch.no_grad():
        for start in range(0, len(x), chunk):
            batch = x[start : start + chunk].unsqueeze(0).expand(model.n_members, -1, -1)
            if input_masks is not None:
                batch = batch * input_masks.to(x.device, x.dtype).unsqueeze(1)
            outputs.append(model(batch).cpu())
    return torch.cat(outputs, dim=1).numpy()
