"""Process checkpoints written with libyaml's emitter read back as PyYAML's own did (setup/checkpoint_yaml.py)."""

import enum

import yaml
from aiida import orm
from aiida.common import AttributeDict
from aiida.orm.utils import serialize

import aiida_siox.workflows  # noqa: F401  (installs the dumper, as in a daemon worker that runs our workchains)
from aiida_siox.setup.checkpoint_yaml import c_dumper_class


class Colour(enum.Enum):
    RED = 'red'


def test_checkpoints_dump_with_libyaml_and_read_back_unchanged(aiida_profile):
    assert yaml.__with_libyaml__ and serialize.AiiDADumper is c_dumper_class()
    assert serialize.AiiDADumper.__name__ == 'AiiDACDumper'
    node = orm.Int(3).store()
    # what a workchain's context holds: nodes in attribute dicts, strings YAML would read as other types
    data = {
        'CONTEXT': AttributeDict(
            {
                'inputs': AttributeDict({'code': node, 'metadata': {'options': {'max_wallclock_seconds': 3600}}}),
                'children': [node],
                'strings': ['1.0', 'yes', 'null', '', '0x10', 'a: b', '2026-12-05', 'ünïcode'],
                'numbers': [1, 1.5, float('inf'), -0.0, 10**20],
                'nothing': None,
                'flags': (True, False),
                'colour': Colour.RED,
            }
        )
    }
    text = serialize.serialize(data)
    python_text = yaml.dump(data, Dumper=serialize.AiiDADumper.python_dumper)  # aiida's own, pure Python
    assert text != python_text  # really another emitter (it quotes less)
    restored = serialize.deserialize_unsafe(text)
    assert restored == serialize.deserialize_unsafe(python_text)
    context = restored['CONTEXT']
    assert context.inputs.code.uuid == node.uuid and context.children[0].pk == node.pk
    assert context.strings == data['CONTEXT'].strings and context.numbers == data['CONTEXT'].numbers
    assert context.nothing is None and context.flags == (True, False) and context.colour is Colour.RED
