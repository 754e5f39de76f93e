"""TEMPORARY stand-in until the tracer lands."""


def source_for(side, run, outcome):
    return None
