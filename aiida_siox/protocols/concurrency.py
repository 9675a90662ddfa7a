"""How many jobs run at once: from the cores of the computer and the MPI ranks of each job.

A protocol may say ``auto`` for ``max_concurrent_structures`` (dataset) and ``max_concurrent_sites``
(site XANES). Then about ``cores / ranks`` jobs run side by side: on a laptop of 2 cores with 2-rank
jobs, one at a time (measured on 2 cores: running jobs side by side only oversubscribes them); on 16
cores, 2 structures x 4 sites; on 128, 16 x 4. The two windows nest (a structure's sites run inside
it), so ``auto`` splits the jobs between them: a few sites per structure, several structures at once
(which also keeps the MD and Bader stages of one structure beside the XANES of others).

The cores of a computer are its ``default_mpiprocs_per_machine`` (``siox setup`` sets it from the
machine's core count for ``localhost``, and from the cluster's ``cores_per_node``).
"""

from __future__ import annotations

import os

AUTO = 'auto'
#: Sites per structure when the jobs are split between the two windows.
SITES_PER_STRUCTURE = 4


def computer_cores(computer) -> int:
    """Cores of one machine of ``computer`` (its default MPI ranks per machine, else this machine's)."""
    return int(computer.get_default_mpiprocs_per_machine() or os.cpu_count() or 1)


def concurrent_jobs(cores: int, ranks_per_job: int) -> int:
    """Jobs of ``ranks_per_job`` MPI ranks that fit ``cores`` side by side (at least one)."""
    return max(1, int(cores) // max(1, int(ranks_per_job)))


def nested_windows(jobs: int) -> tuple[int, int]:
    """(structures, sites per structure) in flight so that about ``jobs`` site jobs run at once."""
    structures = max(1, jobs // SITES_PER_STRUCTURE)
    return structures, max(1, jobs // structures)


def ranks_per_job(options: dict) -> int:
    resources = options.get('resources', {})
    return int(resources.get('num_machines', 1)) * int(resources.get('num_mpiprocs_per_machine', 1))


def job_slots(computer, options: dict) -> int:
    """Jobs with these options that run side by side on one machine of ``computer``."""
    return concurrent_jobs(computer_cores(computer), ranks_per_job(options))


def resolve_window(value: int | str, auto: int) -> int:
    """A protocol's window: its number, or ``auto`` for ``auto``."""
    if value == AUTO:
        return auto
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f'a concurrency must be a positive integer or {AUTO!r}, got {value!r}')
    return value
