"""lockstep: train a side under test (handmade, a planted bug, or your own NumPy network) and the PyTorch twin on
the same batches, judge every tensor of every step, and say where they part.

    import lockstep
    report = lockstep.check("my_net.py:loss_and_grads", sizes=[784, 30, 10], activation="sigmoid", loss="mse")
    lockstep.assert_agrees(my_function, X=X, y=y, sizes=[2, 16, 2], layout="in-out", targets="labels")
"""

from .api import LayerReport, Report, assert_agrees, check, check_layer, check_update

__all__ = ["check", "check_layer", "check_update", "assert_agrees", "Report", "LayerReport"]
