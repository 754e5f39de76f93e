"""More networks in the courses' forms, beside examples/: the Deep Learning Specialization's 3-layer helpers (dZ keys
beside dA and dW; their lowercase dz/da variant that divides by m at dz already; the older L_model_backward whose
dA{l} is the gradient of layer l's input), NNFS's separate softmax and loss objects, its Adam without the bias
correction and its ReLU without the copy, and a torch network that owns its update."""

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "examples"))
import nnfs_layers_net as nnfs  # noqa: E402


# -- Coursera, course 2: a 3-layer network that keeps every intermediate in its gradients ----------------------
def forward_propagation(X, parameters):
    W1, b1, W2, b2, W3, b3 = (parameters[k] for k in ("W1", "b1", "W2", "b2", "W3", "b3"))
    Z1 = W1 @ X + b1  # (n_1, m)
    A1 = np.maximum(0, Z1)
    Z2 = W2 @ A1 + b2
    A2 = np.maximum(0, Z2)
    Z3 = W3 @ A2 + b3
    A3 = 1 / (1 + np.exp(-Z3))
    return A3, (Z1, A1, W1, b1, Z2, A2, W2, b2, Z3, A3, W3, b3)


def cost(A3, Y):
    m = Y.shape[1]
    return -np.sum(Y * np.log(A3) + (1 - Y) * np.log(1 - A3)) / m


def backward_propagation(X, Y, cache):
    m = X.shape[1]
    (Z1, A1, W1, b1, Z2, A2, W2, b2, Z3, A3, W3, b3) = cache
    dZ3 = A3 - Y  # one sample's dL/dZ3, per column
    dW3 = dZ3 @ A2.T / m
    db3 = np.sum(dZ3, axis=1, keepdims=True) / m
    dA2 = W3.T @ dZ3
    dZ2 = dA2 * (A2 > 0)
    dW2 = dZ2 @ A1.T / m
    db2 = np.sum(dZ2, axis=1, keepdims=True) / m
    dA1 = W2.T @ dZ2
    dZ1 = dA1 * (A1 > 0)
    dW1 = dZ1 @ X.T / m
    db1 = np.sum(dZ1, axis=1, keepdims=True) / m
    return {
        "dZ3": dZ3,
        "dW3": dW3,
        "db3": db3,
        "dA2": dA2,
        "dZ2": dZ2,
        "dW2": dW2,
        "db2": db2,
        "dA1": dA1,
        "dZ1": dZ1,
        "dW1": dW1,
        "db1": db1,
    }


def backward_propagation_no_relu_prime(X, Y, cache):
    m = X.shape[1]
    (Z1, A1, W1, b1, Z2, A2, W2, b2, Z3, A3, W3, b3) = cache
    dZ3 = A3 - Y
    dW3, db3 = dZ3 @ A2.T / m, np.sum(dZ3, axis=1, keepdims=True) / m
    dA2 = W3.T @ dZ3
    dZ2 = dA2  # relu's derivative forgotten
    dW2, db2 = dZ2 @ A1.T / m, np.sum(dZ2, axis=1, keepdims=True) / m
    dA1 = W2.T @ dZ2
    dZ1 = dA1 * (A1 > 0)
    dW1, db1 = dZ1 @ X.T / m, np.sum(dZ1, axis=1, keepdims=True) / m
    return dict(dZ3=dZ3, dW3=dW3, db3=db3, dA2=dA2, dZ2=dZ2, dW2=dW2, db2=db2, dA1=dA1, dZ1=dZ1, dW1=dW1, db1=db1)


def three_layer(parameters, X, Y):
    A3, cache = forward_propagation(X, parameters)
    return cost(A3, Y), backward_propagation(X, Y, cache)


def three_layer_no_relu_prime(parameters, X, Y):
    A3, cache = forward_propagation(X, parameters)
    return cost(A3, Y), backward_propagation_no_relu_prime(X, Y, cache)


def three_layer_lowercase(parameters, X, Y):
    """The optimization week's helpers: dz3 = (a3 - Y) / m, so every intermediate is the batch's own gradient."""
    A3, (z1, a1, W1, b1, z2, a2, W2, b2, z3, a3, W3, b3) = forward_propagation(X, parameters)
    m = X.shape[1]
    dz3 = (a3 - Y) / m
    da2 = W3.T @ dz3
    dz2 = da2 * (a2 > 0)
    da1 = W2.T @ dz2
    dz1 = da1 * (a1 > 0)
    grads = dict(dz3=dz3, da2=da2, dz2=dz2, da1=da1, dz1=dz1)
    for l, (dz, a) in enumerate(((dz1, X), (dz2, a1), (dz3, a2)), 1):
        grads[f"dW{l}"], grads[f"db{l}"] = dz @ a.T, dz.sum(axis=1, keepdims=True)
    return cost(A3, Y), grads


def three_layer_older_keys(parameters, X, Y):
    """An older L_model_backward: dA{l} holds the gradient of layer l's input, dA1 that of X."""
    A3, (Z1, A1, W1, b1, Z2, A2, W2, b2, Z3, A3, W3, b3) = forward_propagation(X, parameters)
    m = X.shape[1]
    grads, dZ = {}, A3 - Y
    for l, (A_prev, W, Z) in zip((3, 2, 1), ((A2, W3, Z2), (A1, W2, Z1), (X, W1, None))):
        grads[f"dW{l}"], grads[f"db{l}"] = dZ @ A_prev.T / m, dZ.sum(axis=1, keepdims=True) / m
        grads[f"dA{l}"] = W.T @ dZ
        dZ = grads[f"dA{l}"] * (Z > 0) if Z is not None else None
    return cost(A3, Y), grads


def dal_sign(parameters, X, Y):
    """L_model_backward's first line without its minus sign: every gradient climbs."""
    import dls_deep_net as dls

    AL, caches = dls.L_model_forward(X, parameters)
    grads = dls.L_model_backward(AL, Y, caches)
    L = len(caches)
    dAL = Y / AL - (1 - Y) / (1 - AL)  # the minus sign forgotten
    dA, grads[f"dW{L}"], grads[f"db{L}"] = dls.linear_activation_backward(dAL, caches[L - 1], "sigmoid")
    for l in range(L - 1, 0, -1):
        grads[f"dA{l}"] = dA
        dA, grads[f"dW{l}"], grads[f"db{l}"] = dls.linear_activation_backward(dA, caches[l - 1], "relu")
    grads["dA0"] = dA
    return dls.compute_cost(AL, Y), grads


# -- NNFS: separate objects, the book's Adam without its correction, ReLU without its copy --------------------------
class Activation_Softmax(nnfs.Activation_Softmax):
    def backward(self, dvalues):
        """Each sample's softmax Jacobian times its gradient, one sample at a time, as the book first writes it."""
        self.dinputs = np.empty_like(dvalues)
        for k, (out, grad) in enumerate(zip(self.output, dvalues)):
            out = out.reshape(-1, 1)
            self.dinputs[k] = (np.diagflat(out) - out @ out.T) @ grad


class Loss_CategoricalCrossentropy(nnfs.Loss_CategoricalCrossentropy):
    def backward(self, dvalues, y_true):
        onehot = np.eye(dvalues.shape[1])[y_true] if y_true.ndim == 1 else y_true
        self.dinputs = -onehot / dvalues / len(dvalues)


class Activation_ReLU_NoCopy(nnfs.Activation_ReLU):
    def backward(self, dvalues):
        self.dinputs = dvalues  # no copy: the mask below changes the next layer's dinputs too
        self.dinputs[self.inputs <= 0] = 0


class Optimizer_Adam_NoCorrection(nnfs.Optimizer_Adam):
    def update_params(self, layer):
        for kind, param, grad in (("weight", "weights", layer.dweights), ("bias", "biases", layer.dbiases)):
            m = self.beta_1 * getattr(layer, f"{kind}_momentums", 0.0) + (1 - self.beta_1) * grad
            v = self.beta_2 * getattr(layer, f"{kind}_cache", 0.0) + (1 - self.beta_2) * grad**2
            setattr(layer, f"{kind}_momentums", m)
            setattr(layer, f"{kind}_cache", v)
            step = self.current_learning_rate * m / (np.sqrt(v) + self.epsilon)  # m and v uncorrected
            setattr(layer, param, getattr(layer, param) - step)


def separate_softmax_and_loss():
    return [
        nnfs.Layer_Dense(784, 64),
        nnfs.Activation_ReLU(),
        nnfs.Layer_Dense(64, 10),
        Activation_Softmax(),
        Loss_CategoricalCrossentropy(),
    ]


def relu_no_copy():
    return [
        nnfs.Layer_Dense(784, 64),
        Activation_ReLU_NoCopy(),
        nnfs.Layer_Dense(64, 10),
        nnfs.Activation_Softmax_Loss_CategoricalCrossentropy(),
    ]


def adam_no_correction():
    return nnfs.make_layers(), Optimizer_Adam_NoCorrection(learning_rate=0.005, decay=1e-3)


# -- torch: a network that owns its update, in tensors -------------------------------------------------------------
class TorchSGDNet:
    """makemore's training loop in a class: the manual backprop of examples/makemore_torch_net.py, then
    p.data += -lr * grad for every parameter."""

    def __init__(self, params, lr):
        self.params = [p.clone() for p in params]
        self.grads = None

    def step(self, X, Y, lr):
        import makemore_torch_net as mm

        loss, self.grads = mm.loss_and_grads(self.params, X, Y)
        for p, g in zip(self.params, self.grads):
            p.data += -lr * g
        return loss


class Optimizer_Adagrad:
    """The book's Adagrad: the squared gradients summed on the layer (weight_cache), the learning rate decayed per
    iteration."""

    def __init__(self, learning_rate=1.0, decay=0.0, epsilon=1e-7):
        self.learning_rate = self.current_learning_rate = learning_rate
        self.decay, self.epsilon, self.iterations = decay, epsilon, 0

    def pre_update_params(self):
        self.current_learning_rate = self.learning_rate / (1.0 + self.decay * self.iterations)

    def update_params(self, layer):
        for kind, param, grad in (("weight", "weights", layer.dweights), ("bias", "biases", layer.dbiases)):
            cache = getattr(layer, f"{kind}_cache", 0.0) + grad**2
            setattr(layer, f"{kind}_cache", cache)
            setattr(
                layer,
                param,
                getattr(layer, param) - self.current_learning_rate * grad / (np.sqrt(cache) + self.epsilon),
            )

    def post_update_params(self):
        self.iterations += 1


def adagrad():
    return nnfs.make_layers(), Optimizer_Adagrad(learning_rate=0.5, decay=1e-4)


class Layer_Dropout:
    """The book's dropout layer: a scaled binary mask drawn at every forward."""

    def __init__(self, rate):
        self.keep = 1 - rate

    def forward(self, inputs):
        self.mask = np.random.binomial(1, self.keep, size=inputs.shape) / self.keep
        self.output = inputs * self.mask

    def backward(self, dvalues):
        self.dinputs = dvalues * self.mask


def with_dropout():
    dense1, activation1, dropout1 = nnfs.Layer_Dense(784, 64), nnfs.Activation_ReLU(), Layer_Dropout(0.1)
    return [
        dense1,
        activation1,
        dropout1,
        nnfs.Layer_Dense(64, 10),
        nnfs.Activation_Softmax_Loss_CategoricalCrossentropy(),
    ]
