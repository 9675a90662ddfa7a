"""Users' own structures: checks before anything is stored, and a user's cell through the whole pipeline
(`workchains/submit_structure_files.py`, real pw.x, xspectra.x, pp.x and Bader at toy settings)."""

import pathlib
import runpy
import sys

import ase.io
import numpy as np
import pytest
from aiida import orm

from aiida_siox.analysis.user_structures import MIN_IMAGE_DISTANCE, image_distance, user_structure_problems
from aiida_siox.calculations.dataset import dataset_rows
from aiida_siox.calculations.structure_edit import alpha_quartz

SCRIPT = pathlib.Path(__file__).parent.parent / 'workchains' / 'submit_structure_files.py'
CUBE = np.eye(3) * 10.0


def test_other_elements_overlaps_and_missing_cells_are_errors_small_cells_a_warning():
    assert user_structure_problems(['Si', 'O'], [[0, 0, 0], [1.6, 0, 0]], CUBE, [True] * 3) == ([], [])
    errors, _ = user_structure_problems(['Si', 'Al', 'O'], [[0, 0, 0], [3, 0, 0], [1.6, 0, 0]], CUBE, [True] * 3)
    assert errors == ["elements ['Al']: only Si and O are supported (Tersoff potential, pseudopotentials, Bader targets)"]
    errors, _ = user_structure_problems(['Si', 'O'], [[0, 0, 0], [0.5, 0, 0]], CUBE, [True] * 3)
    assert errors == ['two atoms 0.50 A apart (less than 1.0 A): overlapping atoms or wrong units']
    errors, _ = user_structure_problems(['Si', 'O'], [[0, 0, 0], [1.6, 0, 0]], np.zeros((3, 3)), [False] * 3)
    assert errors[0].startswith('no periodic cell in all three directions')
    errors, _ = user_structure_problems(['O', 'O'], [[0, 0, 0], [1.6, 0, 0]], CUBE, [True] * 3)
    assert errors == ['no Si atom: there is no site for a Si K-edge spectrum']
    _, warnings = user_structure_problems(['Si', 'O'], [[0, 0, 0], [1.6, 0, 0]], np.diag([10.0, 10.0, 5.0]), [True] * 3)
    assert len(warnings) == 1 and warnings[0].startswith(
        f'core-hole images 5.0 A apart (shortest lattice vector; below {MIN_IMAGE_DISTANCE} A'
    )
    sheared = np.array([[10.0, 0, 0], [9.0, 3.0, 0], [0, 0, 10.0]])  # the nearest image is at b - a, not at a, b or c
    assert image_distance(sheared) == pytest.approx(np.hypot(1.0, 3.0))


@pytest.mark.codes
def test_a_users_extxyz_cell_through_the_whole_pipeline(siox_setup, tmp_path, monkeypatch, capsys):
    quartz = tmp_path / 'my-quartz.extxyz'
    ase.io.write(quartz, alpha_quartz().get_ase(), format='extxyz')
    bad = tmp_path / 'bad.extxyz'
    atoms = alpha_quartz().get_ase()
    atoms.symbols[0] = 'Al'
    atoms.positions[1] = atoms.positions[2] + [0.3, 0.0, 0.0]
    ase.io.write(bad, atoms, format='extxyz')

    nodes = orm.QueryBuilder().append(orm.Node).count()
    monkeypatch.setattr(sys, 'argv', [str(SCRIPT), '--run', str(quartz), str(bad)])
    with pytest.raises(SystemExit) as refused:
        runpy.run_path(str(SCRIPT), run_name='__main__')
    assert "bad.extxyz: elements ['Al']" in str(refused.value) and 'overlapping atoms' in str(refused.value)
    assert orm.QueryBuilder().append(orm.Node).count() == nodes  # not even the good file was stored

    calibration = orm.Dict({'constant_ev': 1900.0, 'target_ev': 1846.0, 'alignment': 'fch'}).store()
    argv = [str(SCRIPT), '--run', '--sites', '1', '--no-training', '--calibration', str(calibration.pk), str(quartz)]
    monkeypatch.setattr(sys, 'argv', argv)
    with pytest.raises(SystemExit) as finished:
        runpy.run_path(str(SCRIPT), run_name='__main__')
    output = capsys.readouterr().out
    assert finished.value.code == 0, output
    assert 'label my_quartz' in output and 'WARNING: core-hole images 4.9 A apart' in output

    node = (
        orm.QueryBuilder()
        .append(orm.WorkflowNode, filters={'attributes.process_label': 'SiOxDatasetWorkChain'})
        .order_by({orm.WorkflowNode: {'ctime': 'desc'}})
        .first(flat=True)
    )
    assert node.is_finished_ok, node.exit_message
    structure = (
        node.called[0]
        if node.called[0].process_label == 'SiOxStructureWorkChain'
        else next(n for n in node.called if n.process_label == 'SiOxStructureWorkChain')
    )
    assert 'melt_quench' not in [link.link_label for link in structure.base.links.get_outgoing().all()]  # no --relax: no MD
    assert structure.outputs.x.value == pytest.approx(2.0)
    rows = dataset_rows(node.outputs.dataset)
    digest = __import__('hashlib').sha256(quartz.read_bytes()).hexdigest()
    assert len(rows) == 1 and rows[0]['source_filename'] == 'my-quartz.extxyz' and rows[0]['source_sha256'] == digest
    assert node.outputs.dataset.get_array('x').tolist() == [2.0] and node.outputs.dataset.get_array('seed').tolist() == [1]
    # the row's structure leads back to the file node
    cell = orm.load_node(rows[0]['structure'])
    assert cell.creator.process_label == 'structure_from_file' and cell.creator.inputs.file.filename == 'my-quartz.extxyz'
    assert np.isfinite(node.outputs.dataset.get_array('charge')).all()
