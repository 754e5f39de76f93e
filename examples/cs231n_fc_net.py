"""Fully-connected networks as Stanford's CS231n (assignment 2) writes them: layer functions that return a cache
(affine_forward(x, w, b) -> (out, cache), affine_backward(dout, cache) -> (dx, dw, db)), and model objects that
keep self.params (W1, b1, ... with w (D, M)) and whose loss(X, y) returns (loss, grads), or the class scores when y
is None, the contract the course's Solver trains. Integer labels, softmax loss, the penalty 0.5 reg sum W^2, and
float32 by default:

    python compare.py --candidate examples/cs231n_fc_net.py:make_model --sizes 784,100,50,10 --dtype float32 \
        --l2 0.01 --l2-norm none --momentum 0 --lr 0.5
    python compare.py --candidate examples/cs231n_fc_net.py:make_model_float64 --sizes 784,100,50,10 \
        --l2 0.01 --l2-norm none --momentum 0 --lr 0.5
    python compare.py --candidate examples/cs231n_fc_net.py:make_two_layer_net --sizes 784,100,10 --l2 0.01 \
        --l2-norm none --momentum 0 --lr 0.5
    python compare.py --candidate examples/cs231n_fc_net.py:make_two_layer_net_no_half --sizes 784,100,10 --l2 0.01 \
        --l2-norm none --momentum 0 --lr 0.5

The tool writes its initial parameters into model.params (as the Solver writes each update), calls model.loss(X, y)
every step, applies the configured optimizer, and takes the test accuracy from model.loss(X). A model's reg must be
the run's --l2 (with --l2-norm none: no 1/m), and its dtype the run's (FullyConnectedNet's float32 default is
--dtype float32; make_model_float64 builds it in float64). make_model, make_model_float64 and make_two_layer_net
are correct; make_two_layer_net_no_half adds reg sum W^2 to the loss without the 0.5 its gradient reg W belongs
to, the slip the assignment warns about.
"""

import numpy as np


def affine_forward(x, w, b):
    out = x.reshape(x.shape[0], -1) @ w + b  # (N, M)
    return out, (x, w, b)


def affine_backward(dout, cache):
    x, w, b = cache
    dx = (dout @ w.T).reshape(x.shape)
    dw = x.reshape(x.shape[0], -1).T @ dout
    db = dout.sum(axis=0)
    return dx, dw, db


def relu_forward(x):
    return np.maximum(0, x), x


def relu_backward(dout, cache):
    x = cache
    return dout * (x > 0)


def affine_relu_forward(x, w, b):
    a, fc_cache = affine_forward(x, w, b)
    out, relu_cache = relu_forward(a)
    return out, (fc_cache, relu_cache)


def affine_relu_backward(dout, cache):
    fc_cache, relu_cache = cache
    da = relu_backward(dout, relu_cache)
    return affine_backward(da, fc_cache)


def softmax_loss(x, y):
    """The mean cross-entropy of the scores x (N, C) for integer labels y (N,), and its gradient dx."""
    shifted = x - x.max(axis=1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    N = x.shape[0]
    loss = -log_probs[np.arange(N), y].sum() / N
    dx = np.exp(log_probs)
    dx[np.arange(N), y] -= 1
    return loss, dx / N


class TwoLayerNet:
    """affine - relu - affine - softmax."""

    def __init__(self, input_dim=3 * 32 * 32, hidden_dim=100, num_classes=10, weight_scale=1e-3, reg=0.0):
        self.reg = reg
        self.params = {
            "W1": weight_scale * np.random.randn(input_dim, hidden_dim),
            "b1": np.zeros(hidden_dim),
            "W2": weight_scale * np.random.randn(hidden_dim, num_classes),
            "b2": np.zeros(num_classes),
        }

    def loss(self, X, y=None):
        W1, b1, W2, b2 = (self.params[k] for k in ("W1", "b1", "W2", "b2"))
        hidden, hidden_cache = affine_relu_forward(X, W1, b1)
        scores, scores_cache = affine_forward(hidden, W2, b2)
        if y is None:
            return scores
        loss, dscores = softmax_loss(scores, y)
        loss += 0.5 * self.reg * (np.sum(W1 * W1) + np.sum(W2 * W2))
        grads = {}
        dhidden, grads["W2"], grads["b2"] = affine_backward(dscores, scores_cache)
        _, grads["W1"], grads["b1"] = affine_relu_backward(dhidden, hidden_cache)
        grads["W2"] += self.reg * W2
        grads["W1"] += self.reg * W1
        return loss, grads


class TwoLayerNetNoHalf(TwoLayerNet):
    def loss(self, X, y=None):
        W1, b1, W2, b2 = (self.params[k] for k in ("W1", "b1", "W2", "b2"))
        hidden, hidden_cache = affine_relu_forward(X, W1, b1)
        scores, scores_cache = affine_forward(hidden, W2, b2)
        if y is None:
            return scores
        loss, dscores = softmax_loss(scores, y)
        loss += self.reg * (np.sum(W1 * W1) + np.sum(W2 * W2))  # without the 0.5
        grads = {}
        dhidden, grads["W2"], grads["b2"] = affine_backward(dscores, scores_cache)
        _, grads["W1"], grads["b1"] = affine_relu_backward(dhidden, hidden_cache)
        grads["W2"] += self.reg * W2
        grads["W1"] += self.reg * W1
        return loss, grads


class FullyConnectedNet:
    """{affine - relu} x (L - 1) - affine - softmax, its arrays in `dtype`."""

    def __init__(
        self, hidden_dims, input_dim=3 * 32 * 32, num_classes=10, reg=0.0, weight_scale=1e-2, dtype=np.float32
    ):
        self.reg, self.dtype = reg, dtype
        self.num_layers = 1 + len(hidden_dims)
        dims = [input_dim, *hidden_dims, num_classes]
        self.params = {}
        for i in range(1, self.num_layers + 1):
            self.params[f"W{i}"] = (weight_scale * np.random.randn(dims[i - 1], dims[i])).astype(dtype)
            self.params[f"b{i}"] = np.zeros(dims[i], dtype=dtype)

    def loss(self, X, y=None):
        X = X.astype(self.dtype)
        caches, out = {}, X
        for i in range(1, self.num_layers):
            out, caches[i] = affine_relu_forward(out, self.params[f"W{i}"], self.params[f"b{i}"])
        L = self.num_layers
        scores, caches[L] = affine_forward(out, self.params[f"W{L}"], self.params[f"b{L}"])
        if y is None:
            return scores
        loss, dout = softmax_loss(scores, y)
        grads = {}
        for i in range(L, 0, -1):
            W = self.params[f"W{i}"]
            loss += 0.5 * self.reg * np.sum(W * W)
            backward = affine_backward if i == L else affine_relu_backward
            dout, grads[f"W{i}"], grads[f"b{i}"] = backward(dout, caches[i])
            grads[f"W{i}"] += self.reg * W
        return loss, grads


def make_model():
    return FullyConnectedNet([100, 50], input_dim=784, num_classes=10, reg=0.01)


def make_model_float64():
    return FullyConnectedNet([100, 50], input_dim=784, num_classes=10, reg=0.01, dtype=np.float64)


def make_two_layer_net():
    return TwoLayerNet(input_dim=784, hidden_dim=100, num_classes=10, reg=0.01)


def make_two_layer_net_no_half():
    return TwoLayerNetNoHalf(input_dim=784, hidden_dim=100, num_classes=10, reg=0.01)
