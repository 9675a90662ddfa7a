"""Jobs in flight from the computer's cores and the ranks per job (pure logic, no AiiDA profile)."""

import numpy as np
import pytest

from aiida_siox.protocols import concurrency


class Computer:
    """What job_slots reads of an orm.Computer."""

    def __init__(self, cores, scheduler_type='core.direct', properties=None):
        self.cores, self.scheduler_type, self.properties = cores, scheduler_type, properties or {}

    def get_default_mpiprocs_per_machine(self):
        return self.cores

    def get_property(self, name, default=None):
        return self.properties.get(name, default)


TWO_RANKS = {'resources': {'num_machines': 1, 'num_mpiprocs_per_machine': 2}}


@pytest.mark.parametrize(
    ('cores', 'slots', 'windows'),
    [
        (2, 1, (1, 1)),  # a laptop: one job at a time (measured: side by side only oversubscribes 2 cores)
        (3, 1, (1, 1)),
        (16, 8, (2, 4)),  # a workstation: 2 structures x 4 sites
        (128, 64, (16, 4)),  # a cluster node
    ],
)
def test_job_slots_and_their_split_between_structures_and_sites(cores, slots, windows):
    assert concurrency.job_slots(Computer(cores), TWO_RANKS) == slots
    assert concurrency.nested_windows(slots) == windows
    structures, sites = windows
    assert structures * sites <= slots  # never more jobs in flight than slots


def test_ranks_of_multi_node_jobs_count_and_a_job_always_runs():
    options = {'resources': {'num_machines': 2, 'num_mpiprocs_per_machine': 4}}
    assert concurrency.ranks_per_job(options) == 8
    assert concurrency.job_slots(Computer(4), options) == 1


def test_a_queue_computer_takes_its_configured_slots_not_its_nodes_cores():
    """On SLURM a job is a whole node (64 ranks on 64 cores): cores / ranks would be 1 job at a time."""
    node_wide = {'resources': {'num_machines': 1, 'num_mpiprocs_per_machine': 64}}
    assert concurrency.job_slots(Computer(64, 'core.slurm', {concurrency.JOB_SLOTS_PROPERTY: 20}), node_wide) == 20
    assert concurrency.job_slots(Computer(64, 'core.slurm'), node_wide) == concurrency.DEFAULT_QUEUE_SLOTS == 8
    assert concurrency.job_slots(Computer(64), node_wide) == 1  # the same options on a machine without a queue


@pytest.mark.parametrize(
    ('structures', 'sites', 'windows'),
    [
        ('auto', 'auto', (2, 4)),
        (3, 'auto', (3, 2)),  # an explicit window: the other takes the slots left (8 // 3)
        ('auto', 2, (4, 2)),
        (10, 20, (10, 20)),  # numbers are numbers (a cluster queue)
    ],
)
def test_dataset_windows_never_exceed_the_slots_unless_told(structures, sites, windows):
    assert concurrency.dataset_windows(structures, sites, slots=8) == windows


@pytest.mark.parametrize(('value', 'expected'), [('auto', 7), (3, 3)])
def test_a_protocol_number_wins_over_auto(value, expected):
    assert concurrency.resolve_window(value, auto=7) == expected
    assert concurrency.resolve_window(np.int64(5), auto=7) == 5  # a number from numpy is a number


@pytest.mark.parametrize('value', [0, -2, 1.5, True, 'all', '3'])
def test_bad_windows_are_named(value):
    with pytest.raises(ValueError, match=f"a concurrency must be a positive integer or 'auto', got {value!r}"):
        concurrency.resolve_window(value, auto=1)
