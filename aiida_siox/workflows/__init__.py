"""WorkChains of the pipeline."""

from aiida_siox.parsers.qe_xml_schema import install as _install_schema_cache

# the daemon worker that runs these workchains parses their pw.x jobs: each XSD schema built once (see that module)
_install_schema_cache()
