"""WorkChains of the pipeline."""
