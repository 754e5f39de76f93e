"""The line in the user's file: trace one step of a candidate and find where its values first depart from the twin's.

record(call, user_files) runs call() under sys.settrace and writes down, in execution order, every NumPy array
(and float) that a line of the user's files (UserFiles: everything outside the standard library, the installed
packages and this tool) binds, stores, changes in place or returns (recorder.py). locate(events, twin, order,
layout, sizes, agree, returned) matches those values against the torch twin's tensors of the same step
(matcher.py) and names the first variable whose value departs, with its file and line (locator.py). Plain data in,
plain data out: nothing here imports the engine. The matching forms, what is trusted, the departure rule and its
limits are in docs/tracing.md.
"""

from .locator import default_order, locate
from .recorder import Event, Events, UserFiles, record

__all__ = ["Event", "Events", "UserFiles", "default_order", "locate", "record"]
