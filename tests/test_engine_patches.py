"""aiida-core engine changes that skip provably empty work (setup/unstored_links.py, setup/job_monitors.py)."""

import contextlib

import pytest
from aiida import orm
from aiida.common.links import LinkType
from aiida.engine.processes.calcjobs.tasks import Waiting
from aiida.engine.utils import instantiate_process
from aiida.manage import get_manager
from aiida.plugins import CalculationFactory
from sqlalchemy import event

import aiida_siox.workflows  # noqa: F401  (installs the engine changes, as in a daemon worker)


@contextlib.contextmanager
def sql_statements():
    """The SQL statements the profile's storage runs inside the block."""
    statements = []
    engine = get_manager().get_profile_storage().get_session().get_bind()

    def record(conn, cursor, statement, *args):
        statements.append(statement)

    event.listen(engine, 'before_cursor_execute', record)
    try:
        yield statements
    finally:
        event.remove(engine, 'before_cursor_execute', record)


def test_a_link_into_a_new_node_asks_the_database_nothing(aiida_profile):
    source = orm.Int(1).store()
    calculation = orm.CalculationNode()
    with sql_statements() as statements:
        calculation.base.links.add_incoming(source, LinkType.INPUT_CALC, 'x')
    # aiida 2.9 ran the recursive cycle query and a query of the node's (no) stored links
    assert not [s for s in statements if 'db_dblink' in s or 'RECURSIVE' in s.upper()], statements
    # its cached links are still checked: a second input under the same label is refused
    with pytest.raises(ValueError, match='already has an incoming'):
        calculation.base.links.add_incoming(orm.Int(2).store(), LinkType.INPUT_CALC, 'x')
    calculation.store()
    assert calculation.base.links.get_incoming().one().node.uuid == source.uuid  # stored: read from the database


def test_a_cycle_through_stored_nodes_is_still_refused(aiida_profile):
    data = orm.Int(1).store()
    calculation = orm.CalculationNode()
    calculation.base.links.add_incoming(data, LinkType.INPUT_CALC, 'x')
    calculation.store()
    # data -> calculation exists; calculation -> data would close a cycle: aiida's own query finds it
    with pytest.raises(ValueError, match='cycle'):
        data.base.links.add_incoming(calculation, LinkType.CREATE, 'result')
    # and a link into a new node is still validated by aiida's other rules (a calculation cannot take a calculation)
    with pytest.raises(ValueError):
        orm.CalculationNode().base.links.add_incoming(calculation, LinkType.INPUT_CALC, 'x')


def waiting_state(computer: orm.Computer, monitors: bool) -> Waiting:
    code = orm.InstalledCode(computer=computer, filepath_executable='/bin/bash', default_calc_job_plugin='core.arithmetic.add')
    builder = CalculationFactory('core.arithmetic.add').get_builder()
    builder.code = code.store()
    builder.x, builder.y = orm.Int(1), orm.Int(2)
    if monitors:
        builder.monitors = {'always': orm.Dict({'entry_point': 'core.always_kill'})}
    process = instantiate_process(get_manager().get_runner(), builder)
    return Waiting(process, None)


def test_a_job_without_monitors_looks_them_up_once(aiida_profile, aiida_localhost):
    state = waiting_state(aiida_localhost, monitors=False)
    assert state.monitors is None
    with sql_statements() as statements:
        for _ in range(3):  # three scheduler polls
            assert state.monitors is None
    assert statements == []


def test_a_job_with_monitors_gets_them(aiida_profile, aiida_localhost):
    state = waiting_state(aiida_localhost, monitors=True)
    assert list(state.monitors.monitors) == ['always']
    assert state.monitors is state.monitors
