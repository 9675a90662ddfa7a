"""Shared fixtures: a temporary AiiDA profile (aiida's fixtures), our codes and pseudopotential families."""

from __future__ import annotations

import os
import pathlib
import sqlite3

import pytest

# `make test` runs two workers on 2 cores, and the other worker nearly always has a job running. A second thread
# of torch or numpy's OpenBLAS in this process then only takes a core from that job's MPI ranks: a toy MLP beside
# a 2-rank pw.x trained in 11.3 s with 2 threads and 8.5 s with 1 (session 20). Set before torch is imported
# (the test modules import it); the jobs inherit it, and the training code sets its own (siox-python.yaml).
if int(os.environ.get('PYTEST_XDIST_WORKER_COUNT', '1')) > 1:
    os.environ.setdefault('OMP_NUM_THREADS', '1')

pytest_plugins = ['aiida.tools.pytest_fixtures']

#: Modules that use the machine's services (PostgreSQL, RabbitMQ, the SLURM cluster); the fault tests among
#: them stop sshd and restart RabbitMQ on purpose, so no other service test may run beside them.
SERVICE_MODULES = frozenset({'test_cluster.py', 'test_cluster_faults.py', 'test_production_profile.py'})
#: The longest scopes, longest first (session 19, 2 cores): handed out first, so that no worker starts one of
#: them when the others are nearly done.
LONGEST_SCOPES = (
    'test_pipeline.py',
    'services',
    'test_bader_warmup.py',
    'test_alignment.py',
    'test_codes_quartz.py',
    'test_daemon_kill.py',
    'test_failure_paths.py',
    'test_training_job.py',
    'test_site_xanes.py',
)


def xdist_scope(nodeid: str) -> str:
    """What runs on one pytest-xdist worker, one test after another: a module (its module fixtures, a real
    SCF or a whole pipeline, are made once), or all the service modules together."""
    module = pathlib.PurePosixPath(nodeid.split('::', 1)[0]).name
    return 'services' if module in SERVICE_MODULES else module


@pytest.hookimpl(optionalhook=True)  # plain `pytest` without xdist runs too
def pytest_xdist_make_scheduler(config, log):
    """``make test`` runs two pytest-xdist workers, each taking whole scopes (:func:`xdist_scope`)."""
    from xdist.scheduler import LoadScopeScheduling

    class ScopeScheduling(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return xdist_scope(nodeid)

    return ScopeScheduling(config, log)


def pytest_collection_modifyitems(config, items):
    """The longest scopes first (a module keeps the order of its tests)."""
    rank = {scope: index for index, scope in enumerate(LONGEST_SCOPES)}
    items.sort(key=lambda item: rank.get(xdist_scope(item.nodeid), len(rank)))


@pytest.fixture(scope='session')
def siox_setup(aiida_profile):
    """localhost computer, the six codes and the generated pseudopotential families (real ld1.x jobs)."""
    from aiida_siox.setup.environment import DEFAULT_CONFIG_DIR, ensure_codes, ensure_computer
    from aiida_siox.workflows.pseudopotentials import ensure_pseudo_families

    computer = ensure_computer(DEFAULT_CONFIG_DIR, print)
    codes = ensure_codes(DEFAULT_CONFIG_DIR, computer, print)
    families = ensure_pseudo_families(codes['ld1'], print)
    return {'computer': computer, 'codes': codes, 'families': families}


@pytest.fixture(autouse=True)
def process_reports_reach_the_database():
    """After a test that ran a `siox` command in process (CliRunner), put back the database log handler.

    A command configures logging as a fresh `verdi` process does (aiida's verbosity option: no database
    handler until a storage is loaded). The tests share one process and a loaded storage, so without this
    the workchains of later tests would log their reports nowhere (`verdi process report` empty).
    """
    yield
    from aiida.common import log

    if log.CLI_ACTIVE:
        log.CLI_ACTIVE = False
        log.CLI_LOG_LEVEL = None
        log.configure_logging(with_orm=True)


@pytest.fixture(scope='session', autouse=True)
def sqlite_write_ahead_log(aiida_profile):
    """The test profile's SQLite file in WAL mode, as `siox setup` leaves the embedded profile's."""
    from aiida.manage import get_manager

    from aiida_siox.setup.sqlite_journal import use_write_ahead_log

    if aiida_profile.storage_backend != 'core.sqlite_dos':
        return
    storage = get_manager().get_profile_storage()
    storage.get_session().commit()  # no read transaction of this process may hold the file while its mode changes
    mode, why = use_write_ahead_log(storage.filepath_database)
    assert mode == 'wal', why


@pytest.fixture
def database(tmp_path) -> pathlib.Path:
    """A small SQLite file as SQLite makes it (rollback journal, as aiida leaves its profile's), one table."""
    path = tmp_path / 'database.sqlite'
    connection = sqlite3.connect(path)
    connection.execute('CREATE TABLE node (id INTEGER PRIMARY KEY)')
    connection.commit()
    connection.close()
    return path
