# ruff: noqa
# Ours, not neowise's: the wheel's neowise/__init__.py imports neowise.neural_net (its Model, which needs hdfdict,
# prettytable, tqdm and matplotlib) and neowise.plots; the network's own maths is in the five modules beside this
# file, vendored unchanged, which import one another by their package names.
