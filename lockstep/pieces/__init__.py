"""One piece at a time: a layer's forward/backward pair (layer.py, its kinds in kinds.py and norms.py) or an update
rule (update.py) checked against torch on its own, and the line of the piece where it departs (locate.py)."""

from . import kinds, norms  # noqa: F401 - norms adds its rows to kinds.KINDS
