"""How many jobs run at once: from the computer's job slots.

A protocol may say ``auto`` for ``max_concurrent_structures`` (dataset) and ``max_concurrent_sites``
(site XANES). The computer's job slots are then shared between them:

- a machine without a queue (``core.direct``, e.g. ``localhost``): ``cores / ranks`` jobs side by side,
  its cores being ``default_mpiprocs_per_machine`` (``siox setup`` sets it to the CPUs this process may
  use). On a laptop of 2 cores with 2-rank jobs: one at a time (measured on 2 cores: running jobs side
  by side only oversubscribes them); on 16 cores, 8 jobs as 2 structures x 4 sites; on 128, 16 x 4.
- a computer with a queue (SLURM): the ``job_slots`` of its cluster configuration (property
  ``siox_job_slots``, default 8), the jobs the pipeline keeps in the queue at once.

The two windows nest (a structure's sites run inside it), so ``auto`` splits the slots between them:
a few sites per structure, several structures at once (which also keeps the MD and Bader stages of
one structure beside the XANES of others). Where one window is a number, the other gets the slots
left: ``slots // number``.
"""

from __future__ import annotations

import numbers
import os

AUTO = 'auto'
#: Sites per structure when the slots are split between the two windows.
SITES_PER_STRUCTURE = 4
#: Computer property: the jobs in flight a queue computer takes (``siox setup cluster``, key ``job_slots``).
JOB_SLOTS_PROPERTY = 'siox_job_slots'
#: Job slots of a queue computer that does not say.
DEFAULT_QUEUE_SLOTS = 8


def machine_cores() -> int:
    """CPUs this process may run on (its affinity: a container's or a batch job's share, not the host's)."""
    return len(os.sched_getaffinity(0)) if hasattr(os, 'sched_getaffinity') else os.cpu_count() or 1


def concurrent_jobs(cores: int, ranks_per_job: int) -> int:
    """Jobs of ``ranks_per_job`` MPI ranks that fit ``cores`` side by side (at least one)."""
    return max(1, int(cores) // max(1, int(ranks_per_job)))


def nested_windows(jobs: int) -> tuple[int, int]:
    """(structures, sites per structure) in flight so that about ``jobs`` site jobs run at once."""
    structures = max(1, jobs // SITES_PER_STRUCTURE)
    return structures, max(1, jobs // structures)


def ranks_per_job(options: dict) -> int:
    """MPI ranks of a job with these options (machines x ranks per machine)."""
    resources = options.get('resources', {})
    return int(resources.get('num_machines', 1)) * int(resources.get('num_mpiprocs_per_machine', 1))


def job_slots(computer, options: dict) -> int:
    """Jobs with these options that the pipeline runs at once on ``computer`` (an ``orm.Computer``)."""
    explicit = computer.get_property(JOB_SLOTS_PROPERTY, None)
    if explicit:
        return int(explicit)
    if computer.scheduler_type != 'core.direct':
        return DEFAULT_QUEUE_SLOTS
    return concurrent_jobs(computer.get_default_mpiprocs_per_machine() or 1, ranks_per_job(options))


def resolve_window(value: int | str, auto: int) -> int:
    """A protocol's window: its number, or ``auto`` for ``auto``."""
    if value == AUTO:
        return auto
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise ValueError(f'a concurrency must be a positive integer or {AUTO!r}, got {value!r}')
    return int(value)


def dataset_windows(structures: int | str, sites: int | str, slots: int) -> tuple[int, int]:
    """The dataset's (structures, sites per structure) windows from the protocol's values and the slots."""
    if structures == AUTO and sites == AUTO:
        return nested_windows(slots)
    if structures == AUTO:
        sites = resolve_window(sites, 1)
        return max(1, slots // sites), sites
    structures = resolve_window(structures, 1)
    return structures, resolve_window(sites, max(1, slots // structures))
