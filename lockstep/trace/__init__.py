"""The line in the user's file: trace one step of a candidate and find where its values first depart from the twin's.

record(call, user_files) runs call() under sys.settrace and writes down, in execution order, every NumPy array
(and float) that a line of the user's own files binds to a local variable, puts into a list, tuple or dict held
by a local, sets on `self` or returns, and every array such a line changes in place (recorder.py).
locate(events, twin, order, layout, sizes, agree, returned) matches those values against the torch twin's tensors
of the same step (matcher.py) and names the first variable whose value departs, with its file and line
(locator.py). Plain data in, plain data out: nothing here imports the engine.

Matching. A value matches a twin tensor when, in one of these forms, the project's agree() says so:
    batch tensors z, a, da, dz (m, n)   the array; its transpose (samples as columns); row k of it, for any k, as
                                        (n,), (n, 1) or (1, n) (per-sample code); [1, a] or [a, 1] through the part
                                        that is not the ones column or row
    parameter-shaped (gradients, updated parameters, optimizer state)   in the layout: (out, in) for torch and
                                        the bias-column layouts, W^T for in-out and bias-row, and the transpose too
                                        where the shape tells them apart; in a bias row or column layout the bias
                                        part and the weight part are matched each on its own
    the loss                            a float or a one-element array
It matches weakly as m times a backward tensor or gradient: the per-sample convention delta = a - y, whose 1/m
comes later. It is a helper when it equals a constant (zeros, a ones column), the input X or [1, X] (when the twin
gives 'input'), f'(z) of a layer (a mask, sigmoid' or tanh', measured as dz / da from the twin), the shifted
logits, exponentials or log-probabilities of a softmax output, a weight gradient's data part dz^T a_prev (before
an l2 term), or one sample's outer-product gradient. Trusted, so that data flow may pass through them: matches,
weak matches, helpers, numbers computed from numbers (hyperparameters, not a loss computed from arrays), and what
existed before the step (the outermost call's arguments, attributes of self, variables of enclosing functions,
the attributes of another object (network.weights) that a line may change, as first seen,
and exact copies, reshapes or transposes of those).

The departure rule. Take the twin's tensors in its computation order and skip those that are matched. An
unmatched tensor D is not a departure when
  (a) a tensor downstream of it in the twin's data flow is matched: the code never stored D, and what it computed
      from it is right (the mean gradient that per-sample code folds into its update, dL/dz of the output inside
      delta = a - y);
  (b) D is dL/da_i or z_i, and the next link of the same chain, dL/dz_i or a_i, is unmatched too:
      delta = (delta @ W.T) * a * (1 - a) never holds dL/da, so whether its value went wrong in the product or in
      the factor, the code's value stands for dL/dz and is judged as that (a wrong dL/da that the code does hold
      is still found, upstream of the dL/dz it feeds);
  (c) no value could have held D: none has its shape in a form, is computed (through unmatched values) from what
      D is computed from in the twin, and is not explained in full by another tensor or a helper. A tensor
      computed inside one expression is then judged by the next one.
The first tensor left is the departure. It is pinned to the value that should have held it: the array the
candidate returned for it (object identity), else the first would-be holder, preferring those computed from D's
own gradient parents (dL/dz of the layer above for dL/dz, dL/dz for a gradient) over those computed from anything
D comes from, and those that are not simply m times D (such a value is usually a helper whose 1/m comes later).
From there the report walks up the data flow, a line's inputs being the values of the names it reads and the
values its calls return. It stops at a value that reads a value matching only tensors D is not computed from
(the bias gradient that reads the weights after their update: the report adds what it read), or at a value
computed from trusted inputs that itself matches nothing: that is where the values first go wrong. Otherwise it
moves to an untrusted input: the array's own value before an in-place change first, then another would-be holder,
then an input of D's shape, then any. A value a function returned is reported inside the function, unless the
same return line gave matching values (or helpers, such as f'(z) of another layer) at other calls and was this
time handed a tensor D is not computed from: then the call is at fault (sigmoid_prime(a) where sigmoid_prime(z)
belongs), the walk stops there and the caller's line is reported. A statement over several lines is reported
by its first line and its last (end_line).
For a correct candidate every tensor is matched or excused, and locate() reports nothing.

Limits. Only frames whose code lives in the user's files are seen: a value built and used inside one expression,
in compiled code or in a library is invisible (rule (c) moves on to the next tensor), and a fully vectorised
one-liner is matched as a whole or not at all. Data flow is per line, so two computations on one line share their
inputs. In-place changes are looked for in what a line names as changeable (the roots of its assignment targets,
the names it passes to calls other than builtins and numpy's pure functions, out=, mutating methods); a change
made through a view or an alias the line does not name is attributed to the next line that names the array.
A line that reads more than READS_CAP arrays under one name (a batch list) records none of them. Partial sums of
a per-sample loop are not judged; when one line gives one variable value after value, the copies after the first
KEEP_RUN and before the last are dropped (of in-place changes always, of other values from DROP_SIZE elements on).
Values are copied up to MAX_BYTES, after which events carry value None and are not matched. Rows are searched
only within 10 times the relative tolerance that agree() is probed to have. A tolerance-level difference that a
later step magnifies (probabilities clipped at eps, then logged) is found where it grows past the tolerance.
"""

from .locator import default_order, locate
from .recorder import Event, Events, UserFiles, record

__all__ = ["Event", "Events", "UserFiles", "default_order", "locate", "record"]
