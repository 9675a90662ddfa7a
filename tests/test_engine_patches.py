"""aiida-core engine changes (setup/engine_patches.py): work skipped whose answer is known (setup/unstored_links.py,
setup/job_monitors.py, setup/process_outputs.py, setup/node_uuids.py, setup/data_attributes.py and the others of the
list), a display time written less often (setup/state_change_timestamp.py), a local job's end seen when it exits
(setup/job_exits.py), and a job uploaded by a daemon that died before linking ``remote_folder`` (setup/upload_resume.py)."""

import contextlib

import pytest
from aiida import orm
from aiida.common import exceptions
from aiida.common.datastructures import CalcJobState
from aiida.common.links import LinkType
from aiida.engine import calcfunction, workfunction
from aiida.engine.processes.calcjobs import tasks
from aiida.engine.processes.calcjobs.tasks import Waiting
from aiida.engine.utils import instantiate_process
from aiida.manage import get_manager
from aiida.plugins import CalculationFactory
from sqlalchemy import event

import aiida_siox.workflows  # noqa: F401  (installs the engine changes, as in a daemon worker)
from aiida_siox.setup.upload_resume import emit_lost_remote_folder


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


def link_selects(statements: list[str]) -> list[str]:
    return [s for s in statements if s.lstrip().upper().startswith('SELECT') and 'db_dblink' in s]


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


def arithmetic_job(computer: orm.Computer, monitors: bool = False):
    """The process of a real CalcJob (core.arithmetic.add on bash), created and stored as a launch does."""
    code = orm.InstalledCode(computer=computer, filepath_executable='/bin/bash', default_calc_job_plugin='core.arithmetic.add')
    builder = CalculationFactory('core.arithmetic.add').get_builder()
    builder.code = code.store()
    builder.x, builder.y = orm.Int(1), orm.Int(2)
    if monitors:
        builder.monitors = {'always': orm.Dict({'entry_point': 'core.always_kill'})}
    return instantiate_process(get_manager().get_runner(), builder)


def waiting_state(computer: orm.Computer, monitors: bool) -> Waiting:
    return Waiting(arithmetic_job(computer, monitors), None)


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


def test_resumed_upload_links_the_remote_folder_of_an_uploaded_job(aiida_profile, aiida_localhost, tmp_path):
    runner, process = get_manager().get_runner(), arithmetic_job(aiida_localhost)
    node = process.node
    # what a daemon killed between the upload and the next checkpoint leaves: uploaded, no remote_folder
    node.set_remote_workdir(str(tmp_path))
    node.set_state(CalcJobState.UNSTASHING)
    assert tasks.task_upload_job.emits_lost_remote_folder
    skip_submit = runner.loop.run_until_complete(tasks.task_upload_job(process, runner.transport, None))
    assert skip_submit is None  # aiida's own task still skips the upload: nothing is uploaded twice
    process.update_outputs()  # what entering the next state does
    assert node.outputs.remote_folder.get_remote_path() == str(tmp_path)
    assert node.outputs.remote_folder.computer.uuid == aiida_localhost.uuid
    # resumed again (another kill): the link is there, nothing more is emitted
    assert not emit_lost_remote_folder(process)


def test_a_job_not_yet_uploaded_is_left_to_the_upload(aiida_profile, aiida_localhost, tmp_path):
    process = arithmetic_job(aiida_localhost)
    process.node.set_state(CalcJobState.UPLOADING)
    assert not emit_lost_remote_folder(process)
    assert 'remote_folder' not in process.outputs


def test_outputs_already_linked_by_the_process_are_not_asked_for_again(aiida_profile, aiida_localhost):
    process = arithmetic_job(aiida_localhost)
    with sql_statements() as statements:
        process.update_outputs()  # a state entered before any output: nothing to link, nothing to ask
    assert not [s for s in statements if 'db_dblink' in s], statements
    process.out('sum', orm.Int(3))
    with sql_statements() as statements:
        process.update_outputs()  # a new output: linked, its link validated from the labels the process knows
    # aiida 2.9 asked for the node's output labels, then, for the new link, whether one has its label
    assert link_selects(statements) == [], statements
    assert process.node.outputs.sum.value == 3
    with sql_statements() as statements:
        process.update_outputs()  # the next state: the same outputs, linked already
    assert not [s for s in statements if 'db_dblink' in s], statements
    process.out('remote_folder', orm.RemoteData(computer=aiida_localhost, remote_path='/tmp'))
    process.update_outputs()  # one more: linked, the one before not twice
    assert sorted(process.node.base.links.get_outgoing().all_link_labels()) == ['remote_folder', 'sum']
    # outside its own linking, a second output under the same label is refused by aiida's query
    with pytest.raises(ValueError, match='already has an outgoing'):
        orm.Int(4).base.links.add_incoming(process.node, LinkType.CREATE, 'sum')


def test_a_resumed_process_asks_for_its_outputs_once(aiida_profile, aiida_localhost):
    from aiida_siox.setup.process_outputs import LINKED_LABELS

    process = arithmetic_job(aiida_localhost)
    process.out('sum', orm.Int(3))
    process.update_outputs()
    delattr(process, LINKED_LABELS)  # as a process loaded from its checkpoint: it knows nothing
    process.out('remote_folder', orm.RemoteData(computer=aiida_localhost, remote_path='/tmp'))
    with sql_statements() as statements:
        process.update_outputs()
    assert len(link_selects(statements)) == 1, statements  # its output labels; the new link's checks answered
    assert sorted(process.node.base.links.get_outgoing().all_link_labels()) == ['remote_folder', 'sum']


@calcfunction
def double(value: orm.Int) -> orm.Int:
    return orm.Int(2 * value.value)


def test_a_process_made_from_the_cache_has_its_outputs_linked_once(aiida_profile):
    from aiida.manage.caching import enable_caching

    _, first = double.run_get_node(orm.Int(4))
    with enable_caching(identifier='*double'):
        results, node = double.run_get_node(orm.Int(4))
    assert node.base.caching.get_cache_source() == first.uuid and results.value == 8
    assert node.base.links.get_outgoing().all_link_labels() == ['result']  # the cache's, not linked a second time


def test_a_job_made_from_the_cache_of_a_failed_job_ends_as_it_did(aiida_profile, aiida_localhost):
    from aiida.manage.caching import enable_caching
    from local_runner import run_get_node

    code = orm.InstalledCode(computer=aiida_localhost, filepath_executable='/bin/bash', default_calc_job_plugin='core.arithmetic.add')
    builder = CalculationFactory('core.arithmetic.add').get_builder()
    builder.code = code.store()
    builder.x, builder.y = orm.Int(-5), orm.Int(1)  # a negative sum: exit status 410, with its `sum` output
    _, failed = run_get_node(builder)
    assert failed.exit_status == 410
    with enable_caching(identifier='aiida.calculations:core.arithmetic.add'):
        _, node = run_get_node(builder)
    # its outputs are the cache's (aiida does not emit a failed node's): linked once, not again at its end
    assert node.base.caching.get_cache_source() == failed.uuid and node.exit_status == 410, node.process_state
    assert sorted(node.base.links.get_outgoing().all_link_labels()) == ['remote_folder', 'retrieved', 'sum']


@workfunction
def pass_through(value: orm.Int) -> orm.Int:
    return value


def test_a_workflow_returns_an_output_without_asking_about_its_own_links(aiida_profile):
    value = orm.Int(3).store()
    with sql_statements() as statements:
        results, node = pass_through.run_get_node(value)
    # aiida 2.9 asked, for the RETURN link, whether one has its label and whether this very link exists
    assert link_selects(statements) == [], statements
    assert results.uuid == value.uuid and node.outputs.result.uuid == value.uuid


@pytest.mark.parametrize(
    ('label_filter', 'labels', 'expected'),
    [
        ('sum', {'sum'}, True),
        ('output_parameters', {'outputXparameters'}, True),
        ('sum', {'SUM'}, True),
        ('a%', {'b', 'ba'}, False),
        ('a\\_b', {'c'}, True),
    ],
)
def test_a_label_pattern_could_match_as_sql_like_would(label_filter, labels, expected):
    from aiida_siox.setup.process_outputs import could_match

    assert could_match(label_filter, labels) is expected


def test_a_stored_process_nodes_inputs_are_read_once_per_node_object(aiida_profile, aiida_localhost):
    node = orm.load_node(arithmetic_job(aiida_localhost).node.pk)  # stored with its inputs as a launch does; read back
    with sql_statements() as statements:
        assert node.inputs.x.value == 1
    assert [s for s in statements if 'db_dblink' in s]  # the first look asks the database
    with sql_statements() as statements:
        assert (node.inputs.x.value, node.inputs.y.value) == (1, 2)  # a parser's or a handler's second look
        assert 'code' in node.inputs and 'monitors' not in node.inputs
    assert not [s for s in statements if 'db_dblink' in s], statements
    # outgoing links (outputs, which grow) are read each time: a new output shows on the same object
    assert 'sum' not in node.outputs
    total = orm.Int(3)
    total.base.links.add_incoming(node, LinkType.CREATE, 'sum')
    total.store()
    assert node.outputs.sum.value == 3
    # another object of the node reads its inputs from the database itself
    with sql_statements() as statements:
        assert orm.load_node(node.pk).inputs.y.value == 2
    assert [s for s in statements if 'db_dblink' in s]


def test_a_process_node_is_hashed_from_the_links_it_was_stored_with(aiida_profile, aiida_localhost):
    from aiida.common.links import LinkType

    code = orm.InstalledCode(computer=aiida_localhost, filepath_executable='/bin/bash').store()
    x, y = orm.Int(1).store(), orm.Int(2).store()
    node = orm.CalcJobNode(computer=aiida_localhost)
    for source, label in ((x, 'x'), (y, 'y'), (code, 'code')):
        node.base.links.add_incoming(source, LinkType.INPUT_CALC, label)
    with sql_statements() as statements:
        node.store()  # aiida hashes the node as it stores it: its inputs' hashes
    assert link_selects(statements) == [], statements
    # the hash is the one aiida computes from the links in the database, on another object of the node
    assert node.base.caching.get_hash() == orm.load_node(node.pk).base.caching.compute_hash()
    # questions by link type come from the stored links
    with sql_statements() as statements:
        assert {t.link_label for t in node.base.links.get_incoming(link_type=LinkType.INPUT_CALC).all()} == {'x', 'y', 'code'}
        assert node.base.links.get_incoming(link_type=LinkType.INPUT_WORK).all() == []
    assert not [s for s in statements if 'db_dblink' in s], statements
    # a node class or a label pattern is the database's question: it matches type strings, not Python subclasses
    with sql_statements() as statements:
        assert {t.link_label for t in node.base.links.get_incoming(node_class=orm.Int).all()} == {'x', 'y'}
        assert [t.node.uuid for t in node.base.links.get_incoming(link_label_filter='y%').all()] == [y.uuid]
    assert [s for s in statements if 'db_dblink' in s]
    with pytest.raises(TypeError):
        node.base.links.get_incoming(link_type='input_calc')  # refused as aiida refuses it


def test_a_node_class_question_gets_the_databases_answer_on_the_storing_object(aiida_profile, aiida_localhost):
    from aiida.common.links import LinkType

    bands = orm.BandsData().store()  # a KpointsData to Python, not to the database's type strings
    node = orm.CalcJobNode(computer=aiida_localhost)
    node.base.links.add_incoming(bands, LinkType.INPUT_CALC, 'bands')
    node.store()
    fresh = orm.load_node(node.pk)
    for kind in (orm.KpointsData, orm.BandsData):
        ours = [t.link_label for t in node.base.links.get_incoming(node_class=kind).all()]
        assert ours == [t.link_label for t in fresh.base.links.get_incoming(node_class=kind).all()], kind


def test_a_checkpoints_nodes_are_loaded_by_one_query(aiida_profile, aiida_localhost):
    import yaml
    from aiida.orm.utils import serialize

    process = arithmetic_job(aiida_localhost)
    checkpoint = process.node.checkpoint  # what a worker reads to start a submitted process
    with sql_statements() as statements:
        bundle = serialize.deserialize_unsafe(checkpoint)
    assert statements == []  # its inputs are YAML text inside it, read next
    with sql_statements() as statements:
        inputs = serialize.deserialize_unsafe(bundle['INPUTS_RAW'])
    assert len([s for s in statements if 'db_dbnode' in s]) == 1, statements  # aiida: one query per node (3)
    assert (inputs['x'].value, inputs['y'].value, inputs['code'].uuid) == (1, 2, process.node.inputs.code.uuid)
    # the same as aiida's own loader reads
    plain = yaml.load(bundle['INPUTS_RAW'], Loader=serialize.AiiDALoader)
    assert {key: node.uuid for key, node in inputs.items()} == {key: node.uuid for key, node in plain.items()}
    assert {type(node) for node in inputs.values()} == {type(node) for node in plain.values()}


def test_a_poll_of_a_running_job_writes_its_node_twice(aiida_profile, aiida_localhost):
    from aiida.schedulers.datastructures import JobInfo, JobState

    node = arithmetic_job(aiida_localhost).node
    status = 'Monitoring scheduler: job state RUNNING'
    node.set_process_status(status)
    info = JobInfo()
    info.job_id, info.job_state = '123', JobState.RUNNING
    with sql_statements() as statements:
        for _ in range(2):  # two polls, as the Waiting state and task_update_job make them
            node.set_process_status(status)
            node.set_last_job_info(info)
            node.set_scheduler_state(JobState.RUNNING)
    updates = [s for s in statements if s.lstrip().upper().startswith('UPDATE')]
    assert len(updates) == 4, updates  # aiida 2.9: 8 (the same status again; state and check time apart)
    assert node.process_status == status and node.get_scheduler_state() == JobState.RUNNING
    assert node.get_last_job_info().job_id == '123' and node.get_scheduler_lastchecktime() is not None
    node.set_process_status('Waiting for transport task: retrieve')  # a new status is written
    assert orm.load_node(node.pk).process_status == 'Waiting for transport task: retrieve'


def test_a_stored_node_is_known_stored_without_reloading_its_row(aiida_profile):
    node = orm.Dict({'big': list(range(1000))}).store()
    new = orm.Int(5)
    get_manager().get_profile_storage().get_session().commit()  # expires every object, as the engine's commits do
    with sql_statements() as statements:
        assert node.is_stored and not new.is_stored
    assert statements == []  # aiida 2.9 reloaded the node's row here (its attributes, a checkpoint on a process)
    assert new.store().is_stored and new.pk is not None
    assert orm.load_node(node.pk).get_dict()['big'][-1] == 999


def test_a_nodes_uuid_is_read_without_reloading_its_row_after_a_commit(aiida_profile):
    new = orm.Dict({'big': list(range(1000))})
    uuid = new.uuid  # read while unstored: the same value once stored
    node = new.store()
    get_manager().get_profile_storage().get_session().commit()  # expires every object, as the engine's commits do
    with sql_statements() as statements:
        assert node.uuid == uuid
    assert statements == []  # aiida 2.9 reloaded the node's row (attributes included) to read it
    assert orm.load_node(node.pk).uuid == uuid and orm.load_node(uuid).pk == node.pk
    with sql_statements() as statements:
        assert node.get_dict()['big'][-1] == 999  # a new node object: its attributes read from the database once
    assert statements


def test_a_stored_data_nodes_attributes_are_read_once_per_node_object(aiida_profile):
    node = orm.Dict({'a': 1, 'nested': {'b': [1, 2]}}).store()
    assert node['a'] == 1 and node.base.repository.metadata == {}  # the first reads: from the database
    get_manager().get_profile_storage().get_session().commit()  # expires every object, as the engine's commits do
    with sql_statements() as statements:
        assert node.get_dict() == {'a': 1, 'nested': {'b': [1, 2]}} and node['a'] == 1 and 'nested' in node.keys()
        assert node.base.repository.list_object_names() == [] and node.base.repository.metadata == {}
    assert statements == []  # aiida 2.9 read the row again at each of these
    node.get_dict()['nested']['b'].append(3)  # a stored node's values are copies: the kept ones are unchanged
    assert node['nested'] == {'b': [1, 2]}
    with pytest.raises(exceptions.ModificationNotAllowed):
        node.base.attributes.set('a', 2)
    clone = node.clone()
    clone['a'] = 5  # an unstored clone has its own attributes
    assert node['a'] == 1 and clone['a'] == 5
    node.backend_entity.set_attribute('a', 7)  # a write through the backend (aiida's own code makes none): read again
    assert node['a'] == orm.load_node(node.pk)['a'] == 7


def test_a_stored_data_nodes_hash_is_computed_once_per_node_object(aiida_profile, tmp_path):
    from aiida.common.hashing import make_hash

    path = tmp_path / 'core.dat'
    path.write_text('1s orbital')
    node = orm.SinglefileData(path).store()
    expected = make_hash(node.base.caching.get_objects_to_hash())  # aiida's own recipe
    assert node.base.caching.compute_hash() == node.base.caching.get_hash() == expected
    get_manager().get_profile_storage().get_session().commit()
    with sql_statements() as statements:
        assert node.base.caching.compute_hash() == expected  # as each process that takes it as input asks
    assert statements == []
    assert orm.load_node(node.pk).base.caching.compute_hash() == expected  # another object computes the same


def test_a_process_nodes_attributes_are_still_read_from_the_database(aiida_profile):
    node = orm.CalculationNode().store()
    other = orm.load_node(node.pk)  # another object of the same node, as another process would hold
    other.set_process_state('running')
    with sql_statements() as statements:
        assert node.process_state.value == 'running'
    assert statements  # read again: a process node's attributes change while it runs


def test_the_state_change_time_is_written_at_most_once_a_second(aiida_profile, monkeypatch):
    import asyncio
    import time

    from aiida.engine import utils

    from aiida_siox.setup import state_change_timestamp

    # two seconds here, so that a slow machine between two calls does not look like a second gone by
    monkeypatch.setattr(state_change_timestamp, 'WRITE_INTERVAL', 2.0)
    node = orm.CalculationNode().store()

    async def three_changes() -> list:
        utils.set_process_state_change_timestamp(node)  # a change more than an interval after the last write
        first = utils.get_process_state_change_timestamp('calculation')
        with sql_statements() as statements:
            utils.set_process_state_change_timestamp(node)  # two more changes within the interval: nothing yet
            utils.set_process_state_change_timestamp(node)
        assert statements == []
        assert utils.get_process_state_change_timestamp('calculation') == first
        await asyncio.sleep(2.3)  # then one write, when the interval is over
        return [first, utils.get_process_state_change_timestamp('calculation')]

    async def two_changes_then_stop() -> None:  # the second one's write is due on a loop that then stops
        utils.set_process_state_change_timestamp(node)
        utils.set_process_state_change_timestamp(node)

    asyncio.run(two_changes_then_stop())
    time.sleep(2.1)
    first, last = asyncio.run(three_changes())  # a write due on a stopped loop does not hold back the next ones
    assert (last - first).total_seconds() >= 1.9


def test_a_local_job_is_seen_to_end_when_its_process_exits(aiida_profile, aiida_computer_local):
    import time

    from local_runner import run_get_node

    from aiida_siox.setup.job_exits import watchable

    computer = aiida_computer_local(label='polls-once-a-minute')
    computer.set_minimum_job_poll_interval(60.0)
    assert watchable(computer)
    code = orm.InstalledCode(computer=computer, filepath_executable='/bin/bash', default_calc_job_plugin='core.arithmetic.add')
    builder = CalculationFactory('core.arithmetic.add').get_builder()
    builder.code = code.store()
    builder.x, builder.y = orm.Int(1), orm.Int(2)
    builder.metadata.options.prepend_text = 'sleep 2'  # still running at the first poll, which comes at once
    start = time.monotonic()
    results, node = run_get_node(builder)
    elapsed = time.monotonic() - start
    assert node.is_finished_ok and results['sum'].value == 3
    # aiida alone sees the end at its second poll, 60 s after the first; the exit is seen when it happens
    assert 2.0 < elapsed < 20.0, elapsed


def test_a_remote_or_queued_computer_is_left_to_its_polls(aiida_profile, aiida_computer):
    from aiida_siox.setup.job_exits import watchable

    assert not watchable(aiida_computer(label='cluster-over-ssh', hostname='cluster', transport_type='core.ssh'))
    assert not watchable(aiida_computer(label='local-slurm', scheduler_type='core.slurm', transport_type='core.local'))


def test_a_nodes_repository_hash_checks_its_files_in_one_call(aiida_profile, monkeypatch):
    import io

    from aiida.repository.repository import Repository

    node = orm.FolderData()
    for name in ('a.txt', 'b.txt', 'sub/c.txt'):
        node.base.repository.put_object_from_filelike(io.BytesIO(name.encode()), name)
    node.store()
    repository = node.base.repository._repository
    backend = repository.backend
    calls = []
    has_objects = type(backend).has_objects
    monkeypatch.setattr(type(backend), 'has_objects', lambda self, keys: calls.append(list(keys)) or has_objects(self, keys))
    assert repository.hash() == Repository.hash.aiida_hash(repository)  # the same hash as aiida's
    assert len(calls) == 1 + 3 and len(calls[0]) == 3  # ours: one call for 3 files; aiida's: one per file
    assert node.base.caching.compute_hash() == node.base.caching.get_hash()  # as stored
    # a file missing from the object store is still an error, as in aiida
    key = repository.get_file('sub/c.txt').key
    monkeypatch.setattr(type(backend), 'has_objects', lambda self, keys: [k != key for k in keys])
    with pytest.raises(FileNotFoundError, match=key):
        repository.hash()


def test_a_file_is_read_without_a_separate_existence_query(aiida_profile, monkeypatch):
    import io

    node = orm.FolderData()
    node.base.repository.put_object_from_filelike(io.BytesIO(b'content'), 'a.txt')
    node.store()
    backend = node.base.repository._repository.backend
    monkeypatch.setattr(type(backend), 'has_objects', lambda self, keys: pytest.fail('an existence query before the read'))
    assert node.base.repository.get_object_content('a.txt', mode='rb') == b'content'
    monkeypatch.undo()
    # an object missing from the store is still FileNotFoundError, as aiida raises it
    with pytest.raises(FileNotFoundError, match='does not exist'):
        with backend.open('0' * 64):
            pass


@contextlib.contextmanager
def jobs_list_on_a_new_loop(computer: orm.Computer):
    """aiida's ``JobsList`` of ``computer`` on an event loop of its own, closed afterwards."""
    import asyncio

    from aiida.engine.processes.calcjobs.manager import JobsList
    from aiida.engine.transports import TransportQueue

    loop = asyncio.new_event_loop()
    try:
        yield JobsList(computer.get_authinfo(orm.User.collection.get_default()), TransportQueue(loop)), loop
    finally:
        loop.close()


def test_an_exit_during_a_poll_asks_again_once_that_poll_is_over(aiida_profile, aiida_localhost, monkeypatch):
    import asyncio

    from aiida_siox.setup import job_exits

    with jobs_list_on_a_new_loop(aiida_localhost) as (jobs, loop):
        polls = []
        monkeypatch.setattr(jobs, '_ensure_updating', lambda: polls.append(loop.time()))
        jobs._update_handle = loop.call_later(0, lambda: None)  # its timer has fired: a poll is under way
        job_exits.poll_now(jobs)
        loop.run_until_complete(asyncio.sleep(0.2))
        assert polls == []  # not beside the running poll, which may have listed the job before it ended
        jobs._update_handle = None  # that poll is over
        loop.run_until_complete(asyncio.sleep(0.2))
        assert len(polls) == 1 and jobs._last_updated is None  # the next one at once, not after the interval
        # a poll that never ends (its transport stuck) is asked again a bounded number of times
        monkeypatch.setattr(job_exits, 'RETRY_SECONDS', 0.001)
        asks, poll_now = [], job_exits.poll_now
        monkeypatch.setattr(job_exits, 'poll_now', lambda *args: asks.append(args) or poll_now(*args))
        jobs._update_handle = loop.call_later(0, lambda: None)
        job_exits.poll_now(jobs, 5)
        loop.run_until_complete(asyncio.sleep(0.2))
        assert len(asks) == 1 + 5 and len(polls) == 1


def test_an_exit_polls_at_once_in_place_of_the_pending_poll(aiida_profile, aiida_localhost, monkeypatch):
    import asyncio
    import time

    from aiida_siox.setup import job_exits

    with jobs_list_on_a_new_loop(aiida_localhost) as (jobs, loop):
        monkeypatch.setattr(jobs, 'get_minimum_update_interval', lambda: 60.0)
        asked = []

        async def scheduler_answer():  # as aiida's: the jobs asked about, the time of the answer, the job list
            asked.append(loop.time())
            jobs._polling_jobs = frozenset(jobs._job_update_requests)
            jobs._last_updated = time.time()
            return {}  # the job is gone: done

        monkeypatch.setattr(jobs, '_get_jobs_from_scheduler', scheduler_answer)
        request = loop.create_future()
        jobs._job_update_requests['4242'] = request
        jobs._last_updated = time.time()
        jobs._ensure_updating()  # the regular poll: a minute away
        job_exits.poll_now(jobs)  # the job's process exited
        loop.run_until_complete(asyncio.sleep(0.2))
        assert len(asked) == 1 and request.done() and request.result() is None  # asked at once, the request answered
        assert jobs._update_handle is None  # and no second poll loop left behind
