"""pw.x's XML output parsed with an XSD schema built once per process, not once per job.

aiida-quantumespresso's ``parse_xml_post_6_2`` builds an ``xmlschema.XMLSchema`` from one of the
schema files shipped in its package for every pw.x output it reads: 0.2-0.65 s of an idle core on
these 2-core machines (sessions 19-20), 1.6-4 s while other jobs ran beside it, spent in the daemon worker while the
next job of the pipeline waits. The schema files are part of the installed package and never change,
so one schema object per file serves every parse (``xmlschema`` schemas are read-only once built).
"""

from __future__ import annotations

import functools

from xmlschema import XMLSchema


@functools.lru_cache(maxsize=8)
def schema(path: str) -> XMLSchema:
    """The XSD schema of the file at ``path``, built on first use (a missing file raises as ``XMLSchema`` does)."""
    return XMLSchema(path)


def install() -> None:
    """Make aiida-quantumespresso's XML parser take its schemas from :func:`schema` (idempotent)."""
    from aiida_quantumespresso.parsers.parse_xml import parse

    parse.XMLSchema = schema
