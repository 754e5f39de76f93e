"""Check every vendored network against torch autograd in float64, without the tool.

For each network: draw float64 parameters in torch's layout (W (out, in), b (out,)) and a batch from one seeded
NumPy Generator, convert them to the network's own layout, and run one step of the network's own code (its
loss and gradients, or, for a network that owns its update, its loss and updated parameters over 3 steps).
Then compute the same with torch float64 autograd under the conventions its file names (the SETTINGS in its
docstring) and print the relative error of each tensor: max|network - torch| / max|torch| (the loss against
|torch's loss|). A correct network agrees to about 1e-15; a buggy one departs, and the table says where.

    python examples/third_party/verify.py

With --registry DIR it checks instead that the vendored code is the published code: for each network, fetch its
release into one folder first (pip download --no-deps PKG==VERSION -d DIR, for each row of RELEASES), and every
line kept from a release file must appear in that file, in the same order; the lines that do not are printed.

    python examples/third_party/verify.py --registry DIR
"""
import io
import math
import re
import sys
import tarfile
import zipfile
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
import ak_pynn_mlp  # noqa: E402
import another_nn_mlp  # noqa: E402
import mlfromscratch_mlp_bug_stale_weights as mlfs  # noqa: E402
import mlp_from_scratch_net  # noqa: E402
import mlxtend_mlp  # noqa: E402
import neowise_net  # noqa: E402
import nimblenet_mlp  # noqa: E402
import nnlib_net  # noqa: E402
import npdl  # noqa: E402
import npdl_mlp  # noqa: E402
import numpy_nn_net  # noqa: E402
import pydl_net  # noqa: E402
import sklearn_mlp  # noqa: E402
import tinynn_bug_softmax_grad  # noqa: E402
import tinynn_mlp  # noqa: E402
import zeronet.core.layer  # noqa: E402
import zeronet_net  # noqa: E402

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

def check_function(title, fn, sizes, s, expect_agree, seed, Y_override=None, in_out=True):
    """in_out: the network takes W (in, out) (else torch's W (out, in)) and returns its gradients so."""
    params, X, _, Y = data(sizes, 8, seed)
    if Y_override is not None:
        Y = Y_override(np.random.default_rng(seed + 1), Y)
    loss, grads = fn(to_in_out(params) if in_out else params, X, Y)
    ref_loss, ref_grads = torch_step(params, X, Y, s)
    rows = [("loss", abs(loss - ref_loss) / abs(ref_loss))]
    back = lambda g: g.T if g.ndim == 2 and in_out else g  # noqa: E731
    rows += [(n, rel(back(g), r)) for n, g, r in zip(names(len(sizes) - 1), grads, ref_grads)]
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
                lr=0.1, m=8):
    params, X, y, Y = data(sizes, m, seed)
    rng = np.random.default_rng(seed + 7)
    batches = [(X, Y)] + [(rng.normal(size=X.shape), np.eye(sizes[-1])[rng.integers(0, sizes[-1], m)])
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


def tinynn_checks():
    s = dict(activation="relu", loss="cross_entropy", output="softmax", reduction="mean", loss_scale=1.0, l2=0.0)
    ok = check_function("tinynn_mlp.loss_and_grads (tinynn 0.0.6)  [function, in-out list]", tinynn_mlp.loss_and_grads,
                        [12, 16, 10, 5], s, True, 11)
    ok &= check_class("tinynn_mlp.NetAdam vs torch.optim.Adam  [tinynn 0.0.6's own Adam]",
                      lambda p: tinynn_mlp.NetAdam(p, lr=0.01), to_in_out, to_in_out, [12, 16, 10, 5], s,
                      lambda t: torch.optim.Adam(t, lr=0.01), True, 12, lr=0.01)
    ok &= check_function("tinynn_bug_softmax_grad.loss_and_grads (tinynn 0.0.4)  [BUG: no softmax in the gradient]",
                         tinynn_bug_softmax_grad.loss_and_grads, [12, 16, 10, 5], s, False, 11)
    return ok


class SummedBiasDense(npdl.layers.Dense):
    """npdl's Dense.backward with the bias gradient summed over the batch, as its weight gradient is."""

    def backward(self, pre_grad, *args, **kwargs):
        out = super().backward(pre_grad, *args, **kwargs)
        self.db = self.db * len(pre_grad)
        return out


def npdl_checks():
    s = dict(activation="sigmoid", loss="cross_entropy", output="softmax", reduction="sum", loss_scale=1.0, l2=0.0)
    ok = check_class("npdl_mlp.Net (npdl 0.4.0.1)  [BUG: the bias gradient is a mean, the weight gradient a sum]",
                     lambda p: npdl_mlp.Net(p, lr=0.1), to_in_out, to_in_out, [12, 16, 10, 5], s, sgd(0.1), False, 13)
    original = npdl_mlp.Dense
    npdl_mlp.Dense = SummedBiasDense  # the hidden layers; the Softmax output layer is a Dense too
    npdl.layers.core.Softmax.__bases__ = (SummedBiasDense,)
    try:
        ok &= check_class("the same with the bias gradient summed  [must agree]", lambda p: npdl_mlp.Net(p, lr=0.1),
                          to_in_out, to_in_out, [12, 16, 10, 5], s, sgd(0.1), True, 13)
    finally:
        npdl_mlp.Dense = original
        npdl.layers.core.Softmax.__bases__ = (original,)
    return ok


def per_sample_checks():
    s = dict(activation="sigmoid", loss="mse", output="sigmoid", reduction="mean", l2=0.0)
    torch_layout = lambda p: [x.copy() for x in p]  # noqa: E731
    ok = check_class("mlp_from_scratch_net.Net (multilayer-perceptron-from-scratch 0.1.4)  [one sample a step]",
                     lambda p: mlp_from_scratch_net.Net(p, lr=0.5), torch_layout, torch_layout, [12, 16, 10, 5],
                     dict(s, loss_scale=2.0), sgd(0.5), True, 14, lr=0.5, m=1)
    ok &= check_class("pydl_net.Net (PyDeepLearning 0.1)  [one sample a step]", lambda p: pydl_net.Net(p, lr=0.5),
                      torch_layout, torch_layout, [12, 16, 10, 5], dict(s, loss_scale=1.0), sgd(0.5), True, 15, lr=0.5,
                      m=1)
    return ok


def nnlib_checks():
    s = dict(activation="relu", loss="bce", output="sigmoid", reduction="mean", loss_scale=1.0, l2_norm="batch")
    binary = lambda r, Y: (r.random((len(Y), 1)) < 0.5).astype(float)  # noqa: E731
    ok = True
    for alpha in (0.0, 0.5):
        nnlib_net.ALPHA = alpha
        ok &= check_function(f"nnlib_net.loss_and_grads (nnlib 0.2), alpha {alpha}  [samples in columns]",
                             nnlib_net.loss_and_grads, [12, 16, 10, 1], dict(s, l2=alpha), True, 16, Y_override=binary,
                             in_out=False)
    nnlib_net.ALPHA = 0.0
    return ok


def fixed_sigmoid_backward(x, dout):
    """zeronet's sigmoid_backward with the sigmoid's derivative s (1 - s), s = sigmoid(x), in place of 1 - dout."""
    s = 1 / (1 + np.exp(-x))
    return dict(x=dout * s * (1 - s))


def zeronet_checks():
    s = dict(loss="cross_entropy", output="softmax", reduction="mean", loss_scale=1.0, l2=0.0)
    ok = check_class("zeronet_net.NetReLU (zeronet 0.1.3)  [ReLU layers; in-out list; integer labels]",
                     lambda p: zeronet_net.NetReLU(p, lr=0.1), to_in_out, to_in_out, [12, 16, 10, 5],
                     dict(s, activation="relu"), sgd(0.1), True, 17, labels=True)
    ok &= check_class("zeronet_net.Net (zeronet 0.1.3)  [BUG: sigmoid_backward multiplies by 1 - dout]",
                      lambda p: zeronet_net.Net(p, lr=0.1), to_in_out, to_in_out, [12, 16, 10, 5],
                      dict(s, activation="sigmoid"), sgd(0.1), False, 17, labels=True)
    original = zeronet.core.layer.sigmoid_backward
    zeronet.core.layer.sigmoid_backward = fixed_sigmoid_backward  # the name Sigmoid.grad calls
    try:
        ok &= check_class("the same with sigmoid_backward using s (1 - s)  [must agree]",
                          lambda p: zeronet_net.Net(p, lr=0.1), to_in_out, to_in_out, [12, 16, 10, 5],
                          dict(s, activation="sigmoid"), sgd(0.1), True, 17, labels=True)
    finally:
        zeronet.core.layer.sigmoid_backward = original
    return ok


class AnotherNNCrossEntropy(another_nn_mlp.Net):
    """another-neural-net's MLP stepped as it is, reporting the sigmoid cross-entropy (summed) of the batch: the
    function whose gradient its output delta y - hypothesis is."""

    def step(self, X, Y, lr):
        h = self.mlp.feedforward(X)
        self.mlp.layers = []
        super().step(X, Y, lr)
        return float(-np.sum(Y * np.log(h) + (1 - Y) * np.log(1 - h)))


def another_nn_checks():
    s = dict(activation="sigmoid", loss="mse", output="sigmoid", reduction="sum", loss_scale=1.0, l2=0.0)
    ok = check_class("another_nn_mlp.Net (another-neural-net 0.1)  [BUG: no sigmoid derivative at the output]",
                     lambda p: another_nn_mlp.Net(p, lr=0.1), to_bias_row, from_bias_row, [12, 16, 10, 5], s,
                     sgd(0.1), False, 18)
    ok &= check_class("the same against the sigmoid cross-entropy (summed)  [must agree: its update is that "
                      "function's]", lambda p: AnotherNNCrossEntropy(p, lr=0.1), to_bias_row, from_bias_row,
                      [12, 16, 10, 5], dict(s, loss="bce"), sgd(0.1), True, 18)
    return ok


def neowise_checks():
    s = dict(activation="relu", loss="cross_entropy", output="softmax", reduction="mean", loss_scale=1.0, l2=0.0)
    return check_function("neowise_net.loss_and_grads (neowise 0.1.0)  [BUG: the softmax's Jacobian as its "
                          "diagonal]", neowise_net.loss_and_grads, [12, 16, 10, 5], s, False, 19, in_out=False)


def ak_pynn_checks():
    s = dict(activation="sigmoid", loss="mse", output="identity", reduction="mean", loss_scale=2.0, l2=0.0)
    torch_layout = lambda p: [x.copy() for x in p]  # noqa: E731
    ok = check_class("ak_pynn_mlp.NetSGD (ak-pynn 0.1.8)  [gradient_descent; torch list; one output]",
                     lambda p: ak_pynn_mlp.NetSGD(p, lr=0.1), torch_layout, torch_layout, [12, 16, 10, 1], s,
                     sgd(0.1), True, 20)
    ok &= check_class("ak_pynn_mlp.NetAdam vs torch.optim.Adam  [DEVIATION: eps inside the root, 1 - beta for "
                      "1 - beta^t]", lambda p: ak_pynn_mlp.NetAdam(p, lr=0.01), torch_layout, torch_layout,
                      [12, 16, 10, 1], s, lambda t: torch.optim.Adam(t, lr=0.01), False, 20, lr=0.01)
    return ok


def numpy_nn_checks():
    s = dict(activation="sigmoid", loss="bce", output="sigmoid", reduction="mean", loss_scale=1.0, l2=0.0)
    ok = check_class("numpy_nn_net.Net (numpy-nn 0.2.6)  [its SGD; in-out list]",
                     lambda p: numpy_nn_net.Net(p, lr=0.1), to_in_out, to_in_out, [12, 16, 10, 5], s, sgd(0.1),
                     True, 21)
    ok &= check_class("numpy_nn_net.NetAdam vs torch.optim.Adam  [BUG: one Adam's moments and t for every layer]",
                      lambda p: numpy_nn_net.NetAdam(p, lr=0.01), to_in_out, to_in_out, [6, 6, 6], s,
                      lambda t: torch.optim.Adam(t, lr=0.01), False, 21, lr=0.01)
    return ok


# ---- the vendored lines against the releases -------------------------------------------------------------------

HERE = Path(__file__).resolve().parent
# vendored file (its "# ---- path ----" sections) or folder (a package, module for module), the release's archive
# name as pip downloads it, and the kept lines that its header says were changed
RELEASES = [
    ("sklearn_mlp.py", "scikit_learn-1.9.1", None),
    ("mlxtend_mlp.py", "mlxtend-0.25.0", None),
    ("nimblenet_mlp.py", "nimblenet-0.2.1", None),
    ("mlfromscratch_mlp_bug_stale_weights.py", "mlfromscratch-0.0.4", 0),
    ("tinynn_bug_softmax_grad.py", "tinynn-0.0.4", 1),
    ("tinynn_mlp.py", "tinynn-0.0.6", 0),
    ("npdl", "npdl-0.4.0.1", 0),
    ("multilayer_perceptron", "multilayer_perceptron_from_scratch-0.1.4", 0),
    ("pydl", "PyDeepLearning-0.1", 0),
    ("nnlib", "nnlib-0.2", 0),
    ("zeronet", "zeronet-0.1.3", 0),
    ("another_nn_mlp.py", "another_neural_net-0.1", 0),
    ("neowise", "neowise-0.1.0", 0),
    ("ak_pynn", "ak_pynn-0.1.8", 0),
    ("numpy_nn", "numpy_nn-0.2.6", 0),
]


def archive(folder, name):
    """{member path: text} of the release's .py files (a wheel or an sdist) in folder."""
    key = name.lower().replace("-", "_").replace(".", "_")
    for f in sorted(Path(folder).iterdir()):
        if f.name.lower().replace("-", "_").replace(".", "_").startswith(key + "_"):
            if f.suffix in (".whl", ".zip"):
                with zipfile.ZipFile(f) as z:
                    return {n: z.read(n).decode("utf-8", "replace") for n in z.namelist() if n.endswith(".py")}
            with tarfile.open(f) as tf:
                return {m.name: tf.extractfile(m).read().decode("utf-8", "replace") for m in tf.getmembers()
                        if m.isfile() and m.name.endswith(".py")}
    return None


def member(files, path):
    hits = [n for n in files if n == path or n.endswith("/" + path)]
    return files[min(hits, key=len)] if hits else None


def missing(kept, original):
    """The kept lines (stripped, blank lines and comments ours aside) not found in order in the original."""
    lines, at, out = [ln.rstrip() for ln in original.splitlines()], 0, []
    for ln in (k.rstrip() for k in kept):
        if not ln.strip():
            continue
        try:
            at = lines.index(ln, at) + 1
        except ValueError:
            out.append(ln)
    return out


def vendored_parts(path):
    """[(release path, kept lines)]: the sections of a joined file, or the modules of a vendored package."""
    if path.is_dir():
        out = []
        for f in sorted(path.rglob("*.py")):
            lines = f.read_text().splitlines()
            while lines and lines[0].startswith("#") and not lines[0].startswith("# -*-"):
                lines.pop(0)  # our header
            out.append((f.relative_to(path.parent).as_posix(), lines))
        return out
    text = path.read_text()
    body = text.split("\n# ---- adapter")[0]
    parts = re.split(r"^# ---- (\S+\.py) -+$", body, flags=re.M)
    if len(parts) == 1:  # one release file before the adapter (mlxtend): its path is in the header
        rel = re.search(r"`?(\w+/[\w/]+\.py)`?", text).group(1)
        head = [i for i, ln in enumerate(body.splitlines()) if ln.startswith("import ") or ln.startswith("from ")]
        return [(rel, body.splitlines()[head[0] if head else 0:])]
    return [(parts[i], parts[i + 1].splitlines()) for i in range(1, len(parts), 2)]


def registry_check(folder):
    ok = True
    for name, release, changed in RELEASES:
        files = archive(folder, release)
        if files is None:
            print(f"{name}: not checked, no archive {release}* in {folder} (pip download --no-deps ... -d {folder})")
            continue
        lost, kept = [], 0
        for rel, lines in vendored_parts(HERE / name):
            original = member(files, rel)
            if original is None:
                lost.append(f"(no {rel} in the release)")
                continue
            kept += sum(1 for ln in lines if ln.strip())
            lost += missing(lines, original)
        expect = "as its header says" if changed is None else f"{changed} expected"
        good = changed is None or len(lost) == changed
        ok &= good
        print(f"{name}: {kept} lines kept from {release}, {len(lost)} not found in it in order ({expect})"
              + ("" if good else "  UNEXPECTED"))
        for ln in lost[:8]:
            print(f"    {ln.strip()[:110]}")
    return ok


def main():
    if "--registry" in sys.argv:
        ok = registry_check(sys.argv[sys.argv.index("--registry") + 1])
        print("\nevery vendored line is the release's" if ok else "\nSOME VENDORED LINES ARE NOT THE RELEASE'S")
        return 0 if ok else 1
    torch.set_default_dtype(torch.float64)
    ok = sklearn_checks()
    ok &= mlxtend_checks()
    ok &= nimblenet_checks()
    ok &= mlfromscratch_checks()
    ok &= tinynn_checks()
    ok &= npdl_checks()
    ok &= per_sample_checks()
    ok &= nnlib_checks()
    ok &= zeronet_checks()
    ok &= another_nn_checks()
    ok &= neowise_checks()
    ok &= ak_pynn_checks()
    ok &= numpy_nn_checks()
    print("\nevery network behaved as its file says" if ok else "\nSOME NETWORK DID NOT BEHAVE AS ITS FILE SAYS")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
