"""A deep copy of a candidate network that copies its closures too (lockstep/sides/candidate.py saves and restores
class candidates with it), without changing anything of the copy module for the rest of the process."""

import copy
import types

import numpy as np

SHARED = (type, types.ModuleType, types.CodeType, types.BuiltinFunctionType, np.ndarray, str, bytes, int, float)


def snapshot(obj):
    """A deep copy of a network, its closures included. copy.deepcopy shares functions between the copies, so the
    state a network keeps in a closure (an optimizer's m and v built once by a training function, a momentum dict)
    would be shared too: re-running a step from a saved state, at another precision or traced, would advance the
    live network's optimizer. So the functions with a closure that the network reaches are found first, and each
    gets its copy in deepcopy's memo before anything is copied: a function whose cells are new cells (filled, once
    every such function has its copy, with deep copies made through the same memo, so that cells shared by two
    closures stay shared and a cell holding the network holds its copy). deepcopy then takes those copies from the
    memo wherever it meets the functions. Module globals, code and functions without a closure stay shared."""
    memo, cells = {}, []
    for f in closures(obj):
        new = tuple(_cell(c, memo, cells) for c in f.__closure__)
        g = types.FunctionType(f.__code__, f.__globals__, f.__name__, f.__defaults__, new)
        g.__kwdefaults__, g.__qualname__ = f.__kwdefaults__, f.__qualname__
        memo[id(f)] = g
        cells.append((f, g))
    for old, new in [c for c in cells if isinstance(c[0], types.CellType)]:  # every function has its copy now
        try:
            new.cell_contents = copy.deepcopy(old.cell_contents, memo)
        except ValueError:  # an empty cell (a name assigned later in the enclosing function)
            pass
    for f, g in [c for c in cells if isinstance(c[0], types.FunctionType)]:
        g.__dict__.update(copy.deepcopy(f.__dict__, memo))
    return copy.deepcopy(obj, memo)


def _cell(cell, memo, cells):
    """The new, still empty cell standing for `cell` (one per cell, however many closures share it)."""
    if id(cell) not in memo:
        memo[id(cell)] = types.CellType()
        cells.append((cell, memo[id(cell)]))
    return memo[id(cell)]


def closures(obj):
    """Every function with a closure reachable from obj the way deepcopy reaches things (attributes, containers,
    bound methods, partials, and the cells of the closures themselves), in the order first met."""
    found, seen, todo = [], set(), [obj]
    while todo:
        x = todo.pop()
        if id(x) in seen or isinstance(x, SHARED) or x is None:
            continue
        seen.add(id(x))
        if isinstance(x, types.FunctionType):
            if x.__closure__:
                found.append(x)
                todo += [c.cell_contents for c in x.__closure__ if _filled(c)]
            todo.append(x.__dict__)
        elif isinstance(x, types.MethodType):
            todo += [x.__self__, x.__func__]
        elif isinstance(x, dict):
            todo += list(x.values()) + list(x.keys())
        elif isinstance(x, (list, tuple, set, frozenset)):
            todo += list(x)
        else:
            todo += [v for v in getattr(x, "__dict__", {}).values()]
            todo += [getattr(x, s) for s in _slots(type(x)) if hasattr(x, s)]
            todo += [getattr(x, a, None) for a in ("func", "args", "keywords") if type(x).__name__ == "partial"]
    return found


def _filled(cell):
    try:
        cell.cell_contents  # noqa: B018 - an empty cell raises
        return True
    except ValueError:
        return False


def _slots(cls):
    return [s for k in cls.__mro__ for s in getattr(k, "__slots__", ()) if isinstance(s, str)]
