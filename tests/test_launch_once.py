"""A replayed launch step waits on the child it already launched (no program: toy workchains in the engine).

A daemon killed between a step's submission of a child and the step's checkpoint replays the step
on resume. The tests set that situation up by hand: the parent's first step launches the child
under the label the replayed step will use, without recording it, as a crash leaves it. A crash
can also come earlier, after the child's node is stored but before its checkpoint and task: such a
child never runs (seen in the daemon-kill test), and the replayed step must launch it again.
"""

import pytest
from aiida import orm
from aiida.common.links import LinkType
from aiida.engine import BaseRestartWorkChain, ProcessState, WorkChain, while_
from local_runner import run_get_node

from aiida_siox.workflows.launch import NEVER_STARTED, LaunchOnceRestartMixin, submit_once


class DoubleWorkChain(WorkChain):
    """The child: returns twice its input."""

    @classmethod
    def define(cls, spec):
        super().define(spec)
        spec.input('x', valid_type=orm.Int)
        spec.output('y', valid_type=orm.Int)
        spec.outline(cls.double)

    def double(self):
        self.out('y', orm.Int(2 * self.inputs.x.value).store())


def _interrupted_launch(workchain, x: int) -> None:
    """What a crash leaves, by the parent's input ``crash``.

    'after_checkpoint': the child submitted (node, checkpoint, task) under ``iteration_01``, the
    parent's context unaware. 'before_checkpoint': only the child's node stored and linked.
    """
    if workchain.inputs.crash.value == 'after_checkpoint':
        workchain.submit(DoubleWorkChain, x=orm.Int(x), metadata={'call_link_label': 'iteration_01'})
    else:
        orphan = orm.WorkChainNode()
        orphan.base.links.add_incoming(workchain.node, LinkType.CALL_WORK, 'iteration_01')
        orphan.store()


class _RestartAroundDouble(BaseRestartWorkChain):
    _process_class = DoubleWorkChain

    @classmethod
    def define(cls, spec):
        super().define(spec)
        spec.input('crash', valid_type=orm.Str)
        spec.expose_inputs(DoubleWorkChain)
        spec.expose_outputs(DoubleWorkChain)
        spec.outline(cls.setup, cls.crash_after_launch, while_(cls.should_run_process)(cls.run_process, cls.inspect_process), cls.results)

    def setup(self):
        super().setup()
        self.ctx.inputs = self.exposed_inputs(DoubleWorkChain)

    def crash_after_launch(self):
        _interrupted_launch(self, self.inputs.x.value)


class LaunchOnceRestart(LaunchOnceRestartMixin, _RestartAroundDouble):
    """Ours: adopts the child launched before the crash."""


class PlainRestart(_RestartAroundDouble):
    """aiida-core's BaseRestartWorkChain as it is: launches iteration 1 a second time."""


class SubmitOnceParent(WorkChain):
    @classmethod
    def define(cls, spec):
        super().define(spec)
        spec.input('x', valid_type=orm.Int)
        spec.input('crash', valid_type=orm.Str)
        spec.output('y', valid_type=orm.Int)
        spec.outline(cls.crash_after_launch, cls.launch, cls.result)

    def crash_after_launch(self):
        _interrupted_launch(self, self.inputs.x.value)

    def launch(self):
        from aiida.engine import ToContext

        return ToContext(child=submit_once(self, DoubleWorkChain, x=self.inputs.x, metadata={'call_link_label': 'iteration_01'}))

    def result(self):
        self.out('y', self.ctx.child.outputs.y)


def _children(node) -> list[tuple[str, str]]:
    """(link label, what became of the child) of every child, in launch order."""
    links = sorted(node.base.links.get_outgoing(link_label_filter='iteration_%').all(), key=lambda link: link.node.ctime)
    return [(link.link_label, 'never started' if link.node.base.extras.get(NEVER_STARTED, False) else 'ran') for link in links]


ADOPTED = [('iteration_01', 'ran')]  # the child launched before the crash, waited on
RELAUNCHED = [('iteration_01', 'never started'), ('iteration_01', 'ran')]


@pytest.mark.usefixtures('aiida_profile')
@pytest.mark.parametrize(('crash', 'children'), [('after_checkpoint', ADOPTED), ('before_checkpoint', RELAUNCHED)])
def test_restart_workchain_launches_each_iteration_once(crash, children):
    results, node = run_get_node(LaunchOnceRestart, x=orm.Int(21), crash=orm.Str(crash))
    assert node.is_finished_ok, node.exit_status
    assert results['y'].value == 42
    assert _children(node) == children
    assert node.base.extras.get('considered_handlers') == [[]]  # one iteration's (empty) handler list
    logs = ' '.join(log.message for log in orm.Log.collection.get_logs_for(node))
    assert ('already launched' in logs) == (crash == 'after_checkpoint')
    assert ('never started' in logs) == (crash == 'before_checkpoint')
    for link in node.base.links.get_outgoing(
        link_type=(LinkType.CALL_WORK, LinkType.CALL_CALC)
    ).all():  # the orphan is terminated, not left 'created' for ever
        assert link.node.process_state in (ProcessState.FINISHED, ProcessState.KILLED), link.node.process_state


@pytest.mark.usefixtures('aiida_profile')
def test_plain_restart_workchain_launches_the_same_iteration_twice():
    """The behaviour the mixin exists for: without it the replayed step launches a duplicate."""
    _, node = run_get_node(PlainRestart, x=orm.Int(21), crash=orm.Str('after_checkpoint'))
    assert _children(node) == [('iteration_01', 'ran'), ('iteration_01', 'ran')]


@pytest.mark.usefixtures('aiida_profile')
@pytest.mark.parametrize(('crash', 'children'), [('after_checkpoint', ADOPTED), ('before_checkpoint', RELAUNCHED)])
def test_submit_once_launches_each_child_once(crash, children):
    results, node = run_get_node(SubmitOnceParent, x=orm.Int(5), crash=orm.Str(crash))
    assert node.is_finished_ok and results['y'].value == 10
    assert _children(node) == children
