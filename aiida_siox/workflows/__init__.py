"""WorkChains of the pipeline."""

from aiida_siox.parsers.qe_xml_schema import install as _install_schema_cache
from aiida_siox.setup.checkpoint_yaml import install as _install_checkpoint_yaml
from aiida_siox.setup.upload_resume import install as _install_upload_resume

# The daemon worker that runs these workchains parses their pw.x jobs and saves their checkpoints: each XSD
# schema built once, the checkpoints written by libyaml, and a job uploaded just before a daemon crash keeps
# its remote_folder (see those modules).
_install_schema_cache()
_install_checkpoint_yaml()
_install_upload_resume()
