"""Pure numpy physics: spectra, RDFs, coordination. No AiiDA imports, testable in milliseconds."""
