"""submit_once: a step replayed after a daemon crash waits on the child it launched, not on a duplicate."""

from aiida import orm
from aiida.engine import ToContext, WorkChain
from local_runner import run_get_node

from aiida_siox.workflows.launch import submit_once


class ChildWorkChain(WorkChain):
    @classmethod
    def define(cls, spec):
        super().define(spec)
        spec.outline(cls.finish)
        spec.output('value', valid_type=orm.Int)

    def finish(self):
        self.out('value', orm.Int(7).store())


class ReplayedStepWorkChain(WorkChain):
    """Launches the same child twice in one step, as a step replayed from its checkpoint would."""

    @classmethod
    def define(cls, spec):
        super().define(spec)
        spec.outline(cls.launch, cls.collect)
        spec.output('same_child', valid_type=orm.Bool)

    def launch(self):
        first = submit_once(self, ChildWorkChain, metadata={'call_link_label': 'child'})
        again = submit_once(self, ChildWorkChain, metadata={'call_link_label': 'child'})
        other = submit_once(self, ChildWorkChain, metadata={'call_link_label': 'other_child'})
        self.ctx.same = first.uuid == again.uuid and other.uuid != first.uuid
        return ToContext(child=again, other=other)

    def collect(self):
        self.out('same_child', orm.Bool(self.ctx.same and self.ctx.child.is_finished_ok).store())


def test_a_replayed_launch_reuses_the_child(aiida_profile):
    results, node = run_get_node(ReplayedStepWorkChain)
    assert node.is_finished_ok and results['same_child'].value
    assert sorted(link.link_label for link in node.base.links.get_outgoing().all() if link.link_label != 'same_child') == [
        'child',
        'other_child',
    ]
    assert any('already launched' in log.message for log in orm.Log.collection.get_logs_for(node))
