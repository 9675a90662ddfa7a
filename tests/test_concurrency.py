"""Jobs in flight from the computer's cores and the ranks per job (pure logic, no AiiDA profile)."""

import pytest

from aiida_siox.protocols import concurrency


class Computer:
    def __init__(self, cores):
        self.cores = cores

    def get_default_mpiprocs_per_machine(self):
        return self.cores


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


@pytest.mark.parametrize(('value', 'expected'), [('auto', 7), (3, 3)])
def test_a_protocol_number_wins_over_auto(value, expected):
    assert concurrency.resolve_window(value, auto=7) == expected


@pytest.mark.parametrize('value', [0, -2, 1.5, True, 'all'])
def test_bad_windows_are_named(value):
    with pytest.raises(ValueError, match=f"a concurrency must be a positive integer or 'auto', got {value!r}"):
        concurrency.resolve_window(value, auto=1)
