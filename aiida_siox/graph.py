"""What the package looks for in the provenance graph: process types and the extras it sets (one place for all).

Process types are the entry points of pyproject.toml as AiiDA stores them on process nodes; the
extras record what links cannot (a rerun points forward in time, a superseded spectrum to its successor).
"""

#: Process types of our workchains (``node.process_type``).
DATASET = 'aiida.workflows:siox.dataset'
STRUCTURE = 'aiida.workflows:siox.structure'
MELT_QUENCH = 'aiida.workflows:siox.melt_quench'
SITE_XANES = 'aiida.workflows:siox.site_xanes'
SITE_SPECTRUM = 'aiida.workflows:siox.site_spectrum'
QUARTZ_CALIBRATION = 'aiida.workflows:siox.quartz_calibration'
BADER = 'aiida.workflows:siox.bader'
TRAINING = 'aiida.workflows:siox.training'
ASSEMBLY = 'aiida.calculations:siox.assemble_dataset'
#: Process labels of the calcfunctions that make a site's raw (powder) spectrum: now, and in graphs made before.
RAW_SPECTRUM_MAKERS = ('site_powder_spectrum', 'isotropic_site_spectrum')

#: Extras on SiteXanesWorkChain nodes: the newer run that reran this one's failed sites, and back.
RERUN_BY, RERUN_OF = 'siox_rerun_by', 'siox_rerun_of'
#: Extras on aligned spectra: the spectrum that replaced this one (``siox realign``), and back.
SUPERSEDED_BY, SUPERSEDES = 'siox_superseded_by', 'siox_supersedes'
#: Extra on SiteSpectrumWorkChain nodes: the site index they computed.
SITE = 'siox_site'
#: Extras on starting cells: composition and seed.
COMPOSITION, SEED = 'siox_x', 'siox_seed'
#: Extras on datasets made outside a dataset workchain: the file imported, the workchain reassembled.
IMPORTED_FROM, REASSEMBLED_FROM = 'siox_imported_from', 'siox_reassembled_from'
#: Extra on the top workchain of each chunk of the reference study (``reference_study/study.py``).
REFERENCE_CHUNK = 'siox_reference_chunk'
