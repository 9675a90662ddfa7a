"""The demo's end members, x = 0 and x = 2, through the whole chain: the Si(0) -> Si(4+) edge shift, the
report and the stage view (a module of its own: `make test`'s workers run it beside test_pipeline.py)."""

import json

import pytest
from local_runner import run_get_node

pytestmark = pytest.mark.codes


@pytest.fixture(scope='module')
def demo_end_members(protocol_builder):
    """The demo's x = 0 and x = 2 cells (fast protocol, seed 1, as `siox demo` builds them), without training."""
    builder = protocol_builder([0.0, 2.0], [1], train=False)
    return run_get_node(builder)


def test_demo_end_members_show_the_si0_to_si4_edge_shift(demo_end_members, tmp_path):
    """Issue check (d): the x = 2 mean spectrum's onset lies well above x = 0's, and the report says so.

    Measured on these toy cells (20-27 atoms, Gamma only, 2 sites per cell, xe0 mid-gap): 4.20 eV, in
    two fresh `siox demo` runs (session 8 and 9 notes); it was 8.4 eV before xspectra's own energy zero
    entered the alignment. The issue's range is 4-7.5 eV (experiment ~5-6 eV; 64-atom c-Si / 36-atom
    quartz give 5.08 eV in bench_alignment.py).
    """
    from aiida_siox.analysis.structure_averages import onsets_by_composition
    from aiida_siox.report import write_report

    results, node = demo_end_members
    assert node.is_finished_ok, f'exit status {node.exit_status}: {node.exit_message}'
    cells = [n for n in node.called if n.process_label == 'SiOxStructureWorkChain']
    assert len(cells) == 2
    dataset = results['dataset']
    assert not results['manifest']['missing']
    onsets = onsets_by_composition(dataset.get_array('x'), dataset.get_array('energy'), dataset.get_array('spectra'))
    shift = onsets[2.0]['onset_ev'] - onsets[0.0]['onset_ev']
    assert 4.0 <= shift <= 7.5, f'x = 0 -> x = 2 onset shift {shift:.2f} eV'
    report = write_report(node, tmp_path).read_text()
    assert f'Si(0) -> Si(4+) edge shift (x = 0 -> x = 2): **{shift:.2f} eV**' in report
    assert (tmp_path / 'mean_spectra.png').read_bytes()[:4] == b'\x89PNG'
    # the RDF targets are the broadened ones, and the report measures how far they are from the raw histogram
    summary = json.loads((tmp_path / 'summary.json').read_text())
    assert summary['rdf_targets']['sigma_angstrom'] == pytest.approx(0.1)
    assert summary['rdf_targets']['max_g_raw'] > 3 * summary['rdf_targets']['max_g_broadened']
    # the stages of the run, as `siox status` and the demo's live view show them, and the report's wall times
    from aiida_siox.progress import pipeline_stages, remaining_seconds

    stages = {stage.name: stage for stage in pipeline_stages(node)}
    assert list(stages) == ['calibration', 'melt-quench', 'XANES sites', 'Bader', 'dataset']  # no training asked
    assert (stages['melt-quench'].done, stages['XANES sites'].done, stages['Bader'].done) == (2, 4, 2)
    assert all(stage.finished and stage.failed == 0 and stage.wall_seconds > 0 for stage in stages.values())
    assert remaining_seconds(list(stages.values())) == 0.0
    assert [row['stage'] for row in summary['stages']] == list(stages) and '## Wall time per stage' in report


def test_the_demos_progress_view_of_a_finished_pipeline_is_one_line_and_returns(demo_end_members):
    """`siox demo` follows its pipeline with `follow`; outside a terminal it prints a line per change."""
    from aiida_siox.cli.demo import follow

    _, node = demo_end_members
    lines: list[str] = []
    follow(node, lines.append, interval=3600.0, terminal=False)  # a terminated node: no wait at all
    assert len(lines) == 1, lines
    assert lines[0].endswith('calibration 1/1; melt-quench 2/2; XANES sites 4/4; Bader 2/2; dataset 1/1'), lines[0]
