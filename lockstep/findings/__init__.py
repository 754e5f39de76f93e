"""What a run means: the findings (findings.py), the catalogue of planted bugs (bugs.py), and the fits by which the
suspect finder matches a divergence to a bug (signatures.py)."""
