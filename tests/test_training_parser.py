"""The training job's parser on the files a job leaves, without running one (each branch of what it decides)."""

from __future__ import annotations

import io
import json

import numpy as np
import pytest
from aiida import orm
from aiida.common.links import LinkType

from aiida_siox.parsers.training import TrainingParser


def finished_job(retrieved: dict[str, bytes], config: dict | None = None) -> orm.CalcJobNode:
    """A training job node with a `config` input and a `retrieved` folder holding ``retrieved``."""
    node = orm.CalcJobNode(process_type='aiida.calculations:siox.training')
    node.base.links.add_incoming(orm.Dict(config or {}).store(), link_type=LinkType.INPUT_CALC, link_label='config')
    node.store()
    folder = orm.FolderData()
    for name, content in retrieved.items():
        folder.base.repository.put_object_from_bytes(content, name)
    folder.base.links.add_incoming(node, link_type=LinkType.CREATE, link_label='retrieved')
    folder.store()
    return node


def predictions_npz() -> bytes:
    buffer = io.BytesIO()
    np.savez(buffer, charge_mean=np.array([1.0, 2.0]), is_test=np.array([False, True]))
    return buffer.getvalue()


COMPLETE = {'metrics.json': json.dumps({'n_rows': 2}).encode(), 'charge_model.pt': b'c', 'rdf_model.pt': b'r'}


def parse(node: orm.CalcJobNode, temporary: dict[str, bytes], tmp_path) -> tuple[TrainingParser, object]:
    for name, content in temporary.items():
        (tmp_path / name).write_bytes(content)
    parser = TrainingParser(node)
    return parser, parser.parse(retrieved_temporary_folder=str(tmp_path))


def test_the_predictions_come_from_the_temporary_file(tmp_path):
    parser, exit_code = parse(finished_job(COMPLETE), {'predictions.npz': predictions_npz()}, tmp_path)
    assert exit_code is None
    assert parser.outputs['predictions'].get_array('charge_mean').tolist() == [1.0, 2.0]
    assert parser.outputs['metrics'].get_dict() == {'n_rows': 2} and 'charge_model' in parser.outputs


def test_a_job_of_an_older_version_kept_its_predictions_in_retrieved(tmp_path):
    parser, exit_code = parse(finished_job({**COMPLETE, 'predictions.npz': predictions_npz()}), {}, tmp_path)
    assert exit_code is None and parser.outputs['predictions'].get_array('is_test').tolist() == [False, True]


@pytest.mark.parametrize(
    ('retrieved', 'temporary', 'missing'),
    [
        ({k: v for k, v in COMPLETE.items() if k != 'rdf_model.pt'}, {'predictions.npz': b''}, 'rdf_model.pt'),
        (COMPLETE, {}, 'predictions.npz'),
    ],
)
def test_a_missing_file_is_named(retrieved, temporary, missing, tmp_path):
    _, exit_code = parse(finished_job(retrieved), temporary, tmp_path)
    assert exit_code.status == 300 and missing in exit_code.message


def test_without_metrics_nor_error_nor_checkpoint_the_metrics_file_is_named(tmp_path):
    retrieved = {k: v for k, v in COMPLETE.items() if k != 'metrics.json'}
    _, exit_code = parse(finished_job(retrieved), {'predictions.npz': predictions_npz()}, tmp_path)
    assert exit_code.status == 300 and 'metrics.json' in exit_code.message


def test_a_resumed_job_that_crashed_reports_its_error_not_a_time_limit(tmp_path):
    """A resumed job has the checkpoint it was given in its folder: its crash is the script's error (310), not
    an interruption (400) that the workchain would resume from the same checkpoint again and again."""
    node = finished_job({'error.txt': b'ValueError: the dataset has NaN charges\n'})
    parser, exit_code = parse(node, {'checkpoint.pt': b'state'}, tmp_path)
    assert exit_code.status == 310 and 'NaN charges' in exit_code.message
    assert 'checkpoint' not in parser.outputs


def test_an_interrupted_job_leaves_its_checkpoint(tmp_path):
    parser, exit_code = parse(finished_job({}), {'checkpoint.pt': b'state'}, tmp_path)
    assert exit_code.status == 400 and parser.outputs['checkpoint'].get_content(mode='rb') == b'state'


def test_a_job_the_scheduler_killed_before_its_first_checkpoint_keeps_the_schedulers_exit_code(tmp_path):
    """Nothing written yet: the scheduler's exit code (e.g. 120, out of walltime) stands, so the workchain starts again."""
    node = finished_job({})
    node.set_exit_status(120)
    parser, exit_code = parse(node, {}, tmp_path)
    assert exit_code is None and not parser.outputs
