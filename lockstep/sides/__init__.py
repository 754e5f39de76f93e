"""The two sides of a lockstep run: the side under test (protocol.Side: handmade, handmade with a planted bug, or the
user's own code) and the torch twin, and plan(), the tensors a step compares in the order it computes them."""

from .handmade import Handmade
from .plan import PHASES, plan, timed
from .protocol import Side
from .twin import Twin

__all__ = ["Handmade", "PHASES", "Side", "Twin", "plan", "timed"]
