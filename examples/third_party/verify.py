"""Check every vendored network against torch autograd in float64, without the tool.

For each network: draw float64 parameters in torch's layout (W (out, in), b (out,)) and a batch from one seeded
NumPy Generator, convert them to the network's own layout, and run one step of the network's own code (its
loss and gradients, or, for a network that owns its update, its loss and updated parameters over 3 steps).
Then compute the same with torch float64 autograd under the conventions its file names (the SETTINGS in its
docstring) and print the relative error of each tensor: max|network - torch| / max|torch| (the loss against
|torch's loss|). A correct network agrees to about 1e-15; a buggy one departs, and the table says where.

    python examples/third_party/verify.py
"""
import math
import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
import mlfromscratch_mlp_bug_stale_weights as mlfs  # noqa: E402
import mlxtend_mlp  # noqa: E402
import nimblenet_mlp  # noqa: E402
import sklearn_mlp  # noqa: E402

AGREE = 1e-12  # what "agrees" means here: float64 rounding of one step is about 1e-16 to 1e-15
ACT = {"relu": torch.relu, "sigmoid": torch.sigmoid, "tanh": torch.tanh, "identity": lambda z: z}


# ---- the torch float64 reference ------------------------------------------------------------------------------

def torch_loss(Ws, bs, X, Y, s):
    """The loss of settings s on torch tensors: F * reduce(per-sample loss) + l2 / (2 d) * sum ||W||^2."""
    a = X
    for i, (W, b) in enumerate(zip(Ws, bs)):
        z = a @ W.T + b  # (m, out)
        a = ACT[s["activation"]](z) if i < len(Ws) - 1 else z
    if s["loss"] == "cross_entropy":
        per_sample = -(Y * torch.log_softmax(a, dim=1)).sum(dim=1)
    elif s["loss"] == "bce":
        per_sample = torch.nn.functional.binary_cross_entropy_with_logits(a, Y, reduction="none").sum(dim=1)
    else:  # mse
        out = torch.sigmoid(a) if s["output"] == "sigmoid" else a
        per_sample = 0.5 * ((out - Y) ** 2).sum(dim=1)
    m = X.shape[0]
    data = per_sample.mean() if s["reduction"] == "mean" else per_sample.sum()
    d = {"batch": m, "dataset": s.get("n_train"), "none": 1}[s.get("l2_norm", "batch")]
    penalty = s.get("l2", 0.0) / (2 * d) * sum((W ** 2).sum() for W in Ws)
    return s.get("loss_scale", 1.0) * data + penalty


def torch_step(params, X, Y, s):
    """(loss, grads) from torch autograd; params and grads are [W0, b0, W1, b1, ...] in torch's layout."""
    t = [torch.tensor(p, dtype=torch.float64, requires_grad=True) for p in params]
    loss = torch_loss(t[0::2], t[1::2], torch.tensor(X), torch.tensor(Y), s)
    loss.backward()
    return loss.item(), [p.grad.numpy() for p in t]


def torch_train(params, batches, s, opt):
    """Losses before each step and parameters after each step, from torch.optim's own SGD or Adam."""
    t = [torch.tensor(p, dtype=torch.float64, requires_grad=True) for p in params]
    optimizer = opt(t)
    losses, states = [], []
    for X, Y in batches:
        optimizer.zero_grad()
        loss = torch_loss(t[0::2], t[1::2], torch.tensor(X), torch.tensor(Y), s)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
        states.append([p.detach().numpy().copy() for p in t])
    return losses, states


# ---- layouts: torch's [W0, b0, ...] to the network's and back ---------------------------------------------------

def to_in_out(p):
    return [x.T.copy() if x.ndim == 2 else x.copy() for x in p]


def to_bias_row(p):
    return [np.vstack([b[None, :], W.T]) for W, b in zip(p[0::2], p[1::2])]


def from_bias_row(T):
    return [x for t in T for x in (t[1:].T, t[0])]


def to_dict(p):
    return {f"{k}{i // 2 + 1}": x for i, (k, x) in enumerate(zip("Wb" * len(p), to_in_out(p)))}


def from_dict(d):
    return [x for i in range(1, len(d) // 2 + 1) for x in (d[f"W{i}"].T, d[f"b{i}"])]


# ---- comparing and printing -----------------------------------------------------------------------------------

def rel(ours, ref):
    ours, ref = np.asarray(ours, dtype=np.float64), np.asarray(ref, dtype=np.float64)
    scale = np.max(np.abs(ref))
    return float(np.max(np.abs(ours - ref)) / (scale if scale else 1.0))


def names(n_layers):
    return [f"layers.{i}.{k}" for i in range(n_layers) for k in ("weight", "bias")]


def report(title, rows, expect_agree):
    """rows: (tensor name, relative error); prints them and returns whether the outcome is the expected one."""
    worst_name, worst = max(rows, key=lambda r: r[1])
    agrees = worst <= AGREE
    verdict = "AGREES" if agrees else "DIFFERS"
    first = next((name for name, e in rows if e > AGREE), None)
    print(f"\n{title}\n  {verdict}: {len(rows)} values compared, worst {worst_name} {worst:.1e}"
          + (f"; first over {AGREE:.0e}: {first}" if first else ""))
    if not agrees:  # the whole table, so that one sees which tensors still agree
        for name, e in rows:
            print(f"    {name:24s} {e:9.1e}  {'ok' if e <= AGREE else 'DIFFERS'}")
    ok = agrees == expect_agree
    if not ok:
        print("  UNEXPECTED: this network was expected to " + ("agree" if expect_agree else "differ"))
    return ok


def data(sizes, m, seed, scale=0.5):
    """Torch-layout params, a batch X (m, n_in), labels y (m,) and one-hot Y, all float64 from one Generator."""
    rng = np.random.default_rng(seed)
    params = []
    for n_in, n_out in zip(sizes[:-1], sizes[1:]):
        bound = 1 / math.sqrt(n_in)
        params += [rng.uniform(-bound, bound, (n_out, n_in)) * scale * 4, rng.uniform(-bound, bound, n_out)]
    X = rng.normal(size=(m, sizes[0]))
    y = rng.integers(0, sizes[-1], m)
    return params, X, y, np.eye(sizes[-1])[y]


# ---- the networks in the function form: one (loss, grads) ------------------------------------------------------

def check_function(title, fn, sizes, s, expect_agree, seed, Y_override=None):
    params, X, _, Y = data(sizes, 8, seed)
    if Y_override is not None:
        Y = Y_override(np.random.default_rng(seed + 1), Y)
    loss, grads = fn(to_in_out(params), X, Y)
    ref_loss, ref_grads = torch_step(params, X, Y, s)
    rows = [("loss", abs(loss - ref_loss) / abs(ref_loss))]
    rows += [(n, rel(g.T if g.ndim == 2 else g, r)) for n, g, r in zip(names(len(sizes) - 1), grads, ref_grads)]
    return report(title, rows, expect_agree)


def sklearn_checks():
    ok = True
    sk = sklearn_mlp
    sk.ALPHA = 0.01  # larger than sklearn's default 1e-4, so that the L2 term shows in every weight gradient
    base = dict(reduction="mean", loss_scale=1.0, l2=sk.ALPHA, l2_norm="batch")
    for act in ("relu", "tanh", "logistic"):
        sk.ACTIVATION = act
        tool_act = sk.TOOL_ACTIVATION[act]
        ok &= check_function(f"sklearn_mlp.classifier  [hidden {act}; function, in-out list]", sk.classifier,
                             [12, 16, 10, 5], dict(base, activation=tool_act, loss="cross_entropy",
                                                   output="softmax"), True, 1)
        ok &= check_function(f"sklearn_mlp.multilabel  [hidden {act}; function, in-out list]", sk.multilabel,
                             [12, 16, 10, 5], dict(base, activation=tool_act, loss="bce", output="sigmoid"),
                             True, 2, Y_override=lambda r, Y: (r.random(Y.shape) < 0.4).astype(float))
    sk.ACTIVATION = "relu"
    real = lambda r, Y: r.normal(size=Y.shape)  # noqa: E731  (regression targets)
    mse = dict(base, activation="relu", loss="mse", output="identity")
    ok &= check_function("sklearn_mlp.regressor_multioutput with k = 1 output  [correct for one output]",
                         sk.regressor_multioutput, [12, 16, 1], mse, True, 3, Y_override=real)
    ok &= check_function("sklearn_mlp.regressor_multioutput with k = 5 outputs, loss='mse'  "
                         "[BUG scikit-learn #8349: the loss is 1/k of the gradients' function]",
                         sk.regressor_multioutput, [12, 16, 5], mse, False, 3, Y_override=real)
    ok &= check_function("sklearn_mlp.regressor_multioutput with k = 5 outputs, loss_scale=1/5  "
                         "[BUG #8349 seen the other way: now every gradient is k times too large]",
                         sk.regressor_multioutput, [12, 16, 5], dict(mse, loss_scale=1 / 5), False, 3,
                         Y_override=real)
    # the size of #8349's factor, stated exactly: the data part of the loss is 1/k of torch's
    params, X, _, _ = data([12, 16, 5], 8, 3)
    Y = np.random.default_rng(4).normal(size=(8, 5))
    sk.ALPHA = 0.0
    loss, _ = sk.regressor_multioutput(to_in_out(params), X, Y)
    ref, _ = torch_step(params, X, Y, dict(mse, l2=0.0))
    print(f"  with alpha = 0: sklearn's loss / torch's = {loss / ref:.15f} (1/k = {1 / 5})")
    ok &= abs(loss / ref - 0.2) < 1e-14
    return ok


# ---- the networks in the class form: they own their update -----------------------------------------------------

def check_class(title, make, to_layout, from_layout, sizes, s, opt, expect_agree, seed, labels=False, steps=3,
                lr=0.1):
    params, X, y, Y = data(sizes, 8, seed)
    rng = np.random.default_rng(seed + 7)
    batches = [(X, Y)] + [(rng.normal(size=X.shape), np.eye(sizes[-1])[rng.integers(0, sizes[-1], 8)])
                          for _ in range(steps - 1)]
    net = make(to_layout(params))
    ref_losses, ref_states = torch_train(params, batches, s, opt)
    rows = []
    for k, (Xk, Yk) in enumerate(batches):
        loss = net.step(Xk, Yk.argmax(axis=1) if labels else Yk, lr)
        rows.append((f"step {k} loss", abs(loss - ref_losses[k]) / abs(ref_losses[k])))
        mine = from_layout(net.params)
        rows += [(f"step {k} {n}", rel(p, r)) for n, p, r in zip(names(len(sizes) - 1), mine, ref_states[k])]
    return report(title, rows, expect_agree)


def sgd(lr, momentum=0.0):
    return lambda t: torch.optim.SGD(t, lr=lr, momentum=momentum)


def mlxtend_checks():
    mlxtend_mlp.L2 = 0.01
    s = dict(activation="sigmoid", loss="cross_entropy", output="softmax", reduction="sum", loss_scale=1.0,
             l2=mlxtend_mlp.L2, l2_norm="none")
    return check_class("mlxtend_mlp.Net  [class owning plain SGD; in-out dict W1, b1, W2, b2; integer labels]",
                       lambda p: mlxtend_mlp.Net(p, lr=0.1), to_dict, from_dict, [12, 16, 5], s, sgd(0.1), True,
                       5, labels=True)


def nimblenet_checks():
    nb, ok = nimblenet_mlp, True
    ce = dict(loss="cross_entropy", output="softmax", reduction="mean", loss_scale=1.0, l2=0.0)
    for hidden, name in ((nb.sigmoid_function, "sigmoid"), (nb.tanh_function, "tanh")):
        nb.HIDDEN = hidden
        ok &= check_class(f"nimblenet_mlp.Net  [hidden {name}; class owning plain SGD; bias-row list]",
                          lambda p: nb.Net(p, lr=0.5), to_bias_row, from_bias_row, [12, 16, 10, 5],
                          dict(ce, activation=name), sgd(0.5), True, 6, lr=0.5)
    nb.HIDDEN = nb.sigmoid_function
    ok &= check_class("nimblenet_mlp.NetMomentum  [classical_momentum 0.9; bias-row list]",
                      lambda p: nb.NetMomentum(p, lr=0.5, momentum=0.9), to_bias_row, from_bias_row,
                      [12, 16, 10, 5], dict(ce, activation="sigmoid"), sgd(0.5, 0.9), True, 7, lr=0.5)
    nb.OUTPUT, nb.COST = nb.sigmoid_function, nb.sum_squared_error
    ok &= check_class("nimblenet_mlp.Net  [sigmoid output, sum_squared_error; bias-row list]",
                      lambda p: nb.Net(p, lr=0.5), to_bias_row, from_bias_row, [12, 16, 5],
                      dict(ce, activation="sigmoid", loss="mse", output="sigmoid"), sgd(0.5), True, 8, lr=0.5)
    nb.OUTPUT, nb.COST = nb.softmax_function, nb.softmax_neg_loss
    ok &= check_class("nimblenet_mlp.NetAdam vs torch.optim.Adam  [DEVIATION: Adam without bias correction]",
                      lambda p: nb.NetAdam(p, lr=0.01), to_bias_row, from_bias_row, [12, 16, 5],
                      dict(ce, activation="sigmoid"), lambda t: torch.optim.Adam(t, lr=0.01), False, 9, lr=0.01)
    # the deviation, stated exactly: one Adam step from zero moments, nimblenet's over torch's
    params, X, _, Y = data([12, 16, 5], 8, 9)
    net = nb.NetAdam(to_bias_row(params), lr=0.01)
    net.step(X, Y, 0.01)
    _, states = torch_train(params, [(X, Y)], dict(ce, activation="sigmoid"),
                            lambda t: torch.optim.Adam(t, lr=0.01))
    ratio = [np.median((p - p0) / (r - p0)) for p, r, p0 in zip(from_bias_row(net.params), states[0], params)]
    print(f"  first update, nimblenet's / torch's (median per tensor): {', '.join(f'{x:.4f}' for x in ratio)};"
          f" (1 - beta1) / sqrt(1 - beta2) = {(1 - 0.9) / math.sqrt(1 - 0.999):.4f}")
    return ok


class FixedDenseLayer(mlfs.DenseLayer):
    """DenseLayer.backward_pass with upstream's fix (commit 0f7ea66) applied: gradients at the forward weights."""

    def backward_pass(self, acc_grad, output=False):
        W, wb = self.W, self.wb  # save weights used during the forward pass
        layer_grad = acc_grad * self.activation.gradient(self.layer_input.dot(W) + wb)
        self.W = self.W_opt.update(w=W, grad_func=lambda w: self.layer_input.T.dot(layer_grad))
        self.wb = self.wb_opt.update(w=wb, grad_func=lambda b: np.ones((1, layer_grad.shape[0])).dot(layer_grad))
        return layer_grad.dot(W.T)


def mlfromscratch_checks():
    s = dict(activation="sigmoid", loss="cross_entropy", output="softmax", reduction="sum", loss_scale=1.0, l2=0.0)
    ok = check_class("mlfromscratch_mlp_bug_stale_weights.Net  [BUG: updates W before using it; in-out list]",
                     lambda p: mlfs.Net(p, lr=0.1), to_in_out, to_in_out, [12, 16, 10, 5], s, sgd(0.1), False, 10,
                     steps=1)
    original = mlfs.DenseLayer
    mlfs.DenseLayer = FixedDenseLayer  # the same network with only backward_pass fixed as upstream did
    try:
        ok &= check_class("the same with upstream's fix applied to backward_pass (0f7ea66)  [must agree]",
                          lambda p: mlfs.Net(p, lr=0.1), to_in_out, to_in_out, [12, 16, 10, 5], s, sgd(0.1),
                          True, 10)
    finally:
        mlfs.DenseLayer = original
    return ok


def main():
    torch.set_default_dtype(torch.float64)
    ok = sklearn_checks()
    ok &= mlxtend_checks()
    ok &= nimblenet_checks()
    ok &= mlfromscratch_checks()
    print("\nevery network behaved as its file says" if ok else "\nSOME NETWORK DID NOT BEHAVE AS ITS FILE SAYS")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
