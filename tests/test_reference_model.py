"""`siox predict` without --model: the reference study's training, found in the profile or imported once."""

import pytest
from aiida import orm
from aiida.common.links import LinkType

from aiida_siox.graph import REFERENCE_CHUNK
from aiida_siox.reference_model import FINAL, ReferenceModelMissing, reference_training, stored_reference_training


@pytest.fixture
def no_reference_nodes(aiida_profile):
    """A profile without reference-study nodes, before and after (the shared profile keeps everything else)."""
    from aiida.tools import delete_nodes

    def clear():
        query = orm.QueryBuilder().append(orm.Node, filters={'extras': {'has_key': REFERENCE_CHUNK}}, project='id')
        delete_nodes(query.all(flat=True), dry_run=False)

    clear()
    yield
    clear()


def finished_workflow(exit_status: int = 0) -> orm.WorkflowNode:
    node = orm.WorkflowNode()
    node.set_process_state('finished')
    node.set_exit_status(exit_status)
    return node.store()


def test_reference_study_constant_is_the_one_the_study_writes():
    import importlib.util
    import pathlib

    path = pathlib.Path(__file__).parents[1] / 'reference_study' / 'study.py'
    spec = importlib.util.spec_from_file_location('study', path)
    study = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(study)
    assert (
        study.FINAL == FINAL
        and study.archive_path(study.FINAL).resolve() == __import__('aiida_siox.reference_model').reference_model.REFERENCE_ARCHIVE
    )


def test_without_a_reference_model_the_error_says_what_to_do(no_reference_nodes, tmp_path):
    assert stored_reference_training() is None
    with pytest.raises(ReferenceModelMissing, match=r'no reference model in this profile.*give --model'):
        reference_training(archive=tmp_path / 'final.aiida', echo=lambda _: None)


def test_the_newest_finished_reference_training_is_used(no_reference_nodes, tmp_path):
    old, failed, new = finished_workflow(), finished_workflow(exit_status=410), finished_workflow()
    for node in (old, failed, new):
        node.base.extras.set(REFERENCE_CHUNK, FINAL)
    finished_workflow().base.extras.set(REFERENCE_CHUNK, 'x0p00')  # a chunk, not the training
    assert reference_training(archive=tmp_path / 'absent.aiida').uuid == new.uuid


def test_the_archive_is_imported_once_with_its_extras(no_reference_nodes, tmp_path):
    from aiida.tools.archive import create_archive

    training = finished_workflow()
    training.base.extras.set(REFERENCE_CHUNK, FINAL)
    model = orm.SinglefileData.from_string('weights', filename='charge_model.pt').store()
    model.base.links.add_incoming(training, link_type=LinkType.RETURN, link_label='charge_model')
    training.seal()
    archive = tmp_path / 'final.aiida'
    create_archive([training], filename=archive)
    uuid = training.uuid
    from aiida.tools import delete_nodes

    delete_nodes([training.pk], dry_run=False)  # with its outputs: a profile that never had it
    assert stored_reference_training() is None
    lines = []
    imported = reference_training(archive=archive, echo=lines.append)
    assert imported.uuid == uuid and 'charge_model' in imported.outputs
    assert len(lines) == 1 and 'first use' in lines[0]
    assert reference_training(archive=archive, echo=lines.append).uuid == uuid and len(lines) == 1  # not imported again


def test_study_finish_reuses_what_already_ran(no_reference_nodes):
    """`study.py finish` run again: the dataset of the same structures and each finished training are found, not redone."""
    import importlib.util
    import pathlib

    spec = importlib.util.spec_from_file_location('study', pathlib.Path(__file__).parents[1] / 'reference_study' / 'study.py')
    study = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(study)
    structures = [finished_workflow(), finished_workflow()]
    dataset = orm.ArrayData().store()
    dataset.base.extras.set_many({REFERENCE_CHUNK: 'dataset', study.STRUCTURES_EXTRA: sorted(n.uuid for n in structures)})
    assert study.stored_dataset(structures).uuid == dataset.uuid
    assert study.stored_dataset(structures[:1]) is None  # other structures: assembled anew
    from aiida_siox.workflows.training import TrainingWorkChain

    def training(config: dict) -> orm.WorkChainNode:
        node = orm.WorkChainNode()
        node.set_process_type('aiida.workflows:siox.training')
        node.base.links.add_incoming(dataset, link_type=LinkType.INPUT_WORK, link_label='job__dataset')
        node.base.links.add_incoming(orm.Dict(config).store(), link_type=LinkType.INPUT_WORK, link_label='job__config')
        node.set_process_state('finished')
        node.set_exit_status(0)
        node.store().base.extras.set(REFERENCE_CHUNK, 'training_cell')
        return node

    today = TrainingWorkChain.get_protocol_inputs('reference', study.TRAININGS['training_cell'])
    stale = training({**today, 'model_precision': 'float32'})  # made before the protocol changed
    with pytest.raises(KeyError, match='python'):  # not reused: it would train anew (and needs the code)
        study.train({}, dataset, 'training_cell')
    current = training(today)
    assert study.train({}, dataset, 'training_cell').uuid == current.uuid != stale.uuid  # no codes needed: nothing runs


def test_a_finish_cut_short_goes_on_from_the_trainings_archived_so_far(no_reference_nodes, tmp_path, monkeypatch):
    """`study.py finish` archives each training as it ends; a new machine imports those archives (after the
    chunks) and so reuses the trainings instead of running them again; a second import brings nothing."""
    import importlib.util
    import pathlib

    from aiida.tools import delete_nodes

    spec = importlib.util.spec_from_file_location('study', pathlib.Path(__file__).parents[1] / 'reference_study' / 'study.py')
    study = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(study)
    monkeypatch.setattr(study, 'ARCHIVES', tmp_path)
    lines: list[str] = []
    uuids = {}
    for name in ('x0p00', 'learning_curve_0.10'):  # a chunk and a training that ended before the session did
        node = finished_workflow()
        node.base.extras.set(REFERENCE_CHUNK, name)
        node.seal()
        study.export_training(study.archive_path(name), [node], lines.append)
        uuids[name] = node.uuid
        delete_nodes([node.pk], dry_run=False)
    assert sorted(p.name for p in tmp_path.iterdir()) == ['learning_curve_0.10.aiida', 'x0p00.aiida']
    lines.clear()
    study.import_archives(lines.append)
    assert [pathlib.Path(line.split()[1]).name for line in lines] == ['x0p00.aiida', 'learning_curve_0.10.aiida']  # in order
    assert {name: study.chunk_node(name).uuid for name in uuids} == uuids
    lines.clear()
    study.import_archives(lines.append)
    assert lines == []


def test_the_study_archives_are_imported_in_order_once(no_reference_nodes, tmp_path):
    """`siox reference import`: the calibration first (it carries the pseudopotentials), the trainings last; a
    second run imports nothing; a folder without archives is an error that says where it looked."""
    from aiida.tools import delete_nodes
    from aiida.tools.archive import create_archive

    from aiida_siox.reference_model import import_reference_study, reference_archives

    for name in ('x1p00.aiida', 'final.aiida', 'x0p25.aiida', 'calibration.aiida', 'notes.txt'):
        (tmp_path / name).write_text('')
    assert [p.name for p in reference_archives(tmp_path)] == ['calibration.aiida', 'x0p25.aiida', 'x1p00.aiida', 'final.aiida']
    with pytest.raises(ReferenceModelMissing, match=r'no archive of the reference study in .*empty'):
        import_reference_study(tmp_path / 'empty')

    study = tmp_path / 'archives'
    study.mkdir()
    uuids = {}
    for chunk in ('calibration', 'x0p00'):
        node = finished_workflow()
        node.base.extras.set(REFERENCE_CHUNK, chunk)
        node.seal()
        create_archive([node], filename=study / f'{chunk}.aiida')
        uuids[chunk] = node.uuid
        delete_nodes([node.pk], dry_run=False)
    lines: list[str] = []
    assert import_reference_study(study, echo=lines.append) == 2
    assert all(orm.load_node(uuid).base.extras.get(REFERENCE_CHUNK) == chunk for chunk, uuid in uuids.items())
    assert [line.split(':')[0] for line in lines] == ['[1/2] calibration.aiida', '[2/2] x0p00.aiida']
    lines.clear()
    assert import_reference_study(study, echo=lines.append) == 0
    assert all(line.endswith('already in this profile') for line in lines) and len(lines) == 2
