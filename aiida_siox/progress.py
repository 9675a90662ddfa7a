"""Where a pipeline stands, stage by stage: done/total, running, failed, wall time, and what is left.

Read from the graph with one query per level of the call tree (a few queries for the whole
pipeline), so that ``siox status --watch`` and ``siox demo`` can refresh it every few seconds.
Stages of a SiOxDatasetWorkChain: the alpha-quartz calibration, the melt-quenches, the XANES sites,
the Bader stages, the dataset assembly and the training. The estimate of what is left assumes the
items still to run take as long as the finished ones of their stage, one after another per stage
(the pipeline's concurrency at its defaults on a small machine); it is ``None`` until a stage has
a finished item to learn from.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from aiida import orm

from aiida_siox.graph import ASSEMBLY, BADER, DATASET, MELT_QUENCH, QUARTZ_CALIBRATION, SITE_SPECTRUM, STRUCTURE, TRAINING
from aiida_siox.workflows.partial_success import PARTIAL_SUCCESS

#: (stage name, process type of one item of it) in pipeline order.
STAGES = (
    ('calibration', SITE_SPECTRUM),
    ('melt-quench', MELT_QUENCH),
    ('XANES sites', SITE_SPECTRUM),
    ('Bader', BADER),
    ('dataset', ASSEMBLY),
    ('training', TRAINING),
)


@dataclass
class Process:
    """One process under the pipeline, as read from the graph."""

    pk: int
    process_type: str
    state: str  # 'done', 'running' or 'failed'
    start: datetime
    end: datetime | None  # None while it runs
    in_calibration: bool


@dataclass
class Stage:
    """Counts and times of one stage."""

    name: str
    total: int | None
    done: int = 0
    running: int = 0
    failed: int = 0
    start: datetime | None = None
    end: datetime | None = None
    durations: list[float] = field(default_factory=list)

    @property
    def finished(self) -> bool:
        return self.total is not None and self.done + self.failed >= self.total and not self.running

    @property
    def wall_seconds(self) -> float | None:
        """From the first item's start to the last one's end (to now while items run)."""
        if self.start is None:
            return None
        return ((self.end if self.finished and self.end else _now(self.start)) - self.start).total_seconds()

    def remaining_seconds(self) -> float | None:
        """Items left times the mean duration of the finished ones (0 when none is left)."""
        if self.total is None:
            return None
        left = max(0, self.total - self.done - self.failed)
        if left == 0:
            return 0.0
        if not self.durations:
            return None
        return left * sum(self.durations) / len(self.durations)


def _now(reference: datetime) -> datetime:
    return datetime.now(tz=reference.tzinfo)


def _state(process_state: str | None, exit_status: int | None) -> str:
    if process_state == 'finished':
        return 'done' if exit_status in (0, PARTIAL_SUCCESS) else 'failed'  # partial success: its outputs are usable
    if process_state in ('excepted', 'killed'):
        return 'failed'
    return 'running'


def descendant_processes(top: orm.ProcessNode) -> list[Process]:
    """Every process called (at any depth) by ``top``, with whether it runs for the quartz calibration."""
    found: list[Process] = []
    frontier = {top.pk: top.process_type == QUARTZ_CALIBRATION}
    while frontier:
        query = orm.QueryBuilder().append(orm.ProcessNode, filters={'id': {'in': list(frontier)}}, tag='parent', project='id')
        query.append(
            orm.ProcessNode,
            with_incoming='parent',
            edge_filters={'type': {'in': ['call_work', 'call_calc']}},
            project=['id', 'process_type', 'attributes.process_state', 'attributes.exit_status', 'ctime', 'mtime'],
        )
        next_frontier = {}
        for parent, pk, process_type, process_state, exit_status, ctime, mtime in query.all():
            in_calibration = frontier[parent] or process_type == QUARTZ_CALIBRATION
            state = _state(process_state, exit_status)
            found.append(Process(pk, process_type or '', state, ctime, None if state == 'running' else mtime, in_calibration))
            next_frontier[pk] = in_calibration
        frontier = next_frontier
    return found


def structure_sites(pks: list[int]) -> dict[int, list[int]]:
    """The ``sites`` output of each structure workchain that has it (one query for all)."""
    if not pks:
        return {}
    query = orm.QueryBuilder().append(orm.ProcessNode, filters={'id': {'in': pks}}, tag='structure', project='id')
    query.append(orm.List, with_incoming='structure', edge_filters={'label': 'sites'}, project='attributes.list')
    return dict(query.all())


def stage_totals(top: orm.ProcessNode, processes: list[Process]) -> dict[str, int | None]:
    """How many items each stage will have, as far as the inputs and the finished melt-quenches tell."""
    if top.process_type == DATASET:
        compositions = top.inputs.compositions.get_list() if 'compositions' in top.inputs else []
        n_structures = len(compositions) * len(top.inputs.seeds.get_list() if compositions else []) + (
            len(top.inputs.cells) if 'cells' in top.inputs else 0
        )
        calibration = 0 if 'calibration' in top.inputs else 1
        training = 1 if 'training' in top.inputs and 'job' in top.inputs.training and 'code' in top.inputs.training.job else 0
        structures = [p for p in processes if p.process_type == STRUCTURE]
        per_structure = top.inputs.structure.sites_per_structure.value
        assembly = 1
    elif top.process_type == STRUCTURE:
        n_structures, calibration, training, assembly = 1, 0, 0, 0
        structures = [top]
        per_structure = top.inputs.sites_per_structure.value
    else:
        raise ValueError(f'<{top.pk}> is a {top.process_label}: give a SiOxDatasetWorkChain or SiOxStructureWorkChain')
    known = [len(sites) for sites in structure_sites([node.pk for node in structures]).values()]
    unknown = n_structures - len(known)
    sites = sum(known) + unknown * per_structure if (per_structure > 0 or unknown == 0) else None
    return {
        'calibration': calibration,
        'melt-quench': n_structures,
        'XANES sites': sites,
        'Bader': n_structures,
        'dataset': assembly,
        'training': training,
    }


def pipeline_stages(top: orm.ProcessNode) -> list[Stage]:
    """The stages of a dataset (or structure) workchain with their counts and times."""
    processes = descendant_processes(top)
    totals = stage_totals(top, processes)
    stages = []
    for name, process_type in STAGES:
        if totals[name] == 0:
            continue
        stage = Stage(name, totals[name])
        for process in processes:
            if process.process_type != process_type or process.in_calibration != (name == 'calibration'):
                continue
            setattr(stage, process.state, getattr(stage, process.state) + 1)
            stage.start = min(filter(None, (stage.start, process.start)))
            if process.end is not None:
                stage.end = max(filter(None, (stage.end, process.end)))
                if process.state == 'done':
                    stage.durations.append((process.end - process.start).total_seconds())
        stages.append(stage)
    return stages


def remaining_seconds(stages: list[Stage]) -> float | None:
    """Estimate of the time left: the sum over stages, None while a stage with items left has no finished item."""
    estimates = [stage.remaining_seconds() for stage in stages]
    return None if any(value is None for value in estimates) else sum(estimates)


def format_seconds(seconds: float | None) -> str:
    if seconds is None:
        return '?'
    minutes, secs = divmod(round(seconds), 60)
    return f'{minutes} min {secs:02d} s' if minutes else f'{secs} s'


def stage_table(stages: list[Stage], title: str = ''):
    """A rich Table of the stages: done/total, running, failed, wall time, estimate of what is left."""
    from rich.table import Table

    table = Table(title=title or None, title_justify='left')
    for column, justify in (('stage', 'left'), ('done', 'right'), ('running', 'right'), ('failed', 'right'), ('wall', 'right')):
        table.add_column(column, justify=justify)
    table.add_column('left (est.)', justify='right')
    for stage in stages:
        total = '?' if stage.total is None else str(stage.total)
        failed = f'[red]{stage.failed}[/red]' if stage.failed else '0'
        left = '' if stage.finished else format_seconds(stage.remaining_seconds())
        table.add_row(stage.name, f'{stage.done}/{total}', str(stage.running), failed, format_seconds(stage.wall_seconds), left)
    return table


def summary_line(stages: list[Stage]) -> str:
    """One line for logs that are not a terminal: ``melt-quench 2/3 (1 running), XANES sites 1/6, ...``."""
    parts = []
    for stage in stages:
        total = '?' if stage.total is None else stage.total
        extra = ', '.join(f'{n} {what}' for n, what in ((stage.running, 'running'), (stage.failed, 'failed')) if n)
        parts.append(f'{stage.name} {stage.done}/{total}' + (f' ({extra})' if extra else ''))
    return '; '.join(parts)
