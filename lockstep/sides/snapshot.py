"""A deep copy of a candidate network that copies its closures too (lockstep/sides/candidate.py saves and restores
class candidates with it)."""

import copy
import types


def snapshot(obj):
    """A deep copy of a network, its closures included. copy.deepcopy shares functions between the copies, so the
    state a network keeps in a closure (an optimizer's m and v built once by a training function, a momentum
    dict) would be shared too: re-running a step from a saved state, at another precision or traced, would advance
    the live network's optimizer. Here a function with a closure is copied with its cells deep-copied (one memo,
    so cells shared by two closures stay shared and a cell holding the network holds its copy); module globals,
    code and functions without a closure stay shared."""
    memo = {}
    saved = copy._deepcopy_dispatch.get(types.FunctionType)

    def function(f, memo):
        if not f.__closure__:
            return f
        cells = tuple(_cell_copy(c, memo) for c in f.__closure__)
        g = types.FunctionType(f.__code__, f.__globals__, f.__name__, f.__defaults__, cells)
        g.__kwdefaults__, g.__qualname__ = f.__kwdefaults__, f.__qualname__
        g.__dict__.update(copy.deepcopy(f.__dict__, memo))
        return g

    copy._deepcopy_dispatch[types.FunctionType] = function
    try:
        return copy.deepcopy(obj, memo)
    finally:
        copy._deepcopy_dispatch[types.FunctionType] = saved


def _cell_copy(cell, memo):
    if id(cell) not in memo:
        new = memo[id(cell)] = types.CellType()  # before the contents, which may hold a function closing over it
        try:
            contents = cell.cell_contents
        except ValueError:  # an empty cell (a name assigned later in the enclosing function)
            return new
        new.cell_contents = copy.deepcopy(contents, memo)
    return memo[id(cell)]
