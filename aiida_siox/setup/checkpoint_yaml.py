"""Process checkpoints written by libyaml's C emitter instead of PyYAML's pure-Python one.

aiida saves a checkpoint of a process (its state, inputs and context, as YAML) at every state change
and workchain step: 52 for one ground-state SCF and one XANES site. The daemon worker spent 8 % of its CPU writing their
text with PyYAML's Python emitter (session 20, py-spy of one quartz site: 142 of 1817 samples,
``Emitter.analyze_scalar`` the single hottest function), time in which the next job of the site
waits. This gives aiida's ``AiiDADumper`` (its representers: nodes, bundles, attribute dicts, enums)
libyaml's emitter, as ``yaml.CDumper`` does for ``yaml.Dumper``. The YAML is the same document, read
back by aiida's own loader unchanged; where PyYAML was built without libyaml nothing is changed.
"""

from __future__ import annotations

import yaml


def c_dumper_class() -> type | None:
    """aiida's checkpoint dumper on libyaml's emitter (the one installed, once it is), or None without libyaml."""
    if not getattr(yaml, '__with_libyaml__', False):
        return None
    from aiida.orm.utils import serialize
    from yaml.cyaml import CEmitter

    AiiDADumper = serialize.AiiDADumper
    if AiiDADumper.__name__ == 'AiiDACDumper':
        return AiiDADumper

    class AiiDACDumper(CEmitter, AiiDADumper):
        """``AiiDADumper``'s representers and resolver with libyaml's emitter (``yaml.CDumper``'s composition)."""

        python_dumper = AiiDADumper  # aiida's own, with PyYAML's emitter

        def __init__(
            self,
            stream,
            default_style=None,
            default_flow_style=False,
            canonical=None,
            indent=None,
            width=None,
            allow_unicode=None,
            line_break=None,
            encoding=None,
            explicit_start=None,
            explicit_end=None,
            version=None,
            tags=None,
            sort_keys=True,
        ):
            CEmitter.__init__(
                self,
                stream,
                canonical=canonical,
                indent=indent,
                width=width,
                encoding=encoding,
                allow_unicode=allow_unicode,
                line_break=line_break,
                explicit_start=explicit_start,
                explicit_end=explicit_end,
                version=version,
                tags=tags,
            )
            yaml.representer.Representer.__init__(
                self, default_style=default_style, default_flow_style=default_flow_style, sort_keys=sort_keys
            )
            yaml.resolver.Resolver.__init__(self)

    return AiiDACDumper


def install() -> bool:
    """Make ``aiida.orm.utils.serialize.serialize`` (checkpoints, launch results) dump with libyaml (idempotent);
    whether it does."""
    from aiida.orm.utils import serialize

    dumper = c_dumper_class()
    if dumper is None:
        return False
    serialize.AiiDADumper = dumper
    return True
