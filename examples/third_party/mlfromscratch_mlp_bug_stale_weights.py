# ruff: noqa
# Third-party code, BUGGY as published: ML-From-Scratch's multilayer perceptron, whose layers update their weights
# before they pass the gradient on, so the gradient that reaches the layer below is computed with the new weights.
#
# Source    mlfromscratch 0.0.4 as published on PyPI (pip download mlfromscratch==0.0.4, the sdist), whose
#           multilayer_perceptron.py is identical to commit b9766b5 (2017-06-17) of
#           https://github.com/eriklindernoren/ML-From-Scratch. Files, in this order: mlfromscratch/utils/
#           activation_functions.py, utils/loss_functions.py (CrossEntropy), utils/optimizers.py
#           (GradientDescent_), utils/data_manipulation.py (categorical_to_binary) and
#           supervised_learning/multilayer_perceptron.py (DenseLayer, MultilayerPerceptron).
# Author    Erik Linder-Norén
# Licence   MIT (declared in the sdist's setup.py and PKG-INFO; LICENSE of the repository at that commit):
#
#     MIT License
#
#     Copyright (c) 2017 Erik Linder-Norén
#
#     Permission is hereby granted, free of charge, to any person obtaining a copy
#     of this software and associated documentation files (the "Software"), to deal
#     in the Software without restriction, including without limitation the rights
#     to use, copy, modify, merge, publish, distribute, sublicense, and/or sell
#     copies of the Software, and to permit persons to whom the Software is
#     furnished to do so, subject to the following conditions:
#
#     The above copyright notice and this permission notice shall be included in all
#     copies or substantial portions of the Software.
#
#     THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR
#     IMPLIED, INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY,
#     FITNESS FOR A PARTICULAR PURPOSE AND NONINFRINGEMENT. IN NO EVENT SHALL THE
#     AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM, DAMAGES OR OTHER
#     LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING FROM,
#     OUT OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN THE
#     SOFTWARE.
#
# Changes   The modules are joined into this one file, their imports gathered at the top (the Python 2 implicit
#           relative imports between them fall away). Left out: the other losses and optimizers, and from
#           MultilayerPerceptron its fit (the epoch loop: shuffling, a progressbar, validation; the adapter runs
#           the three lines of its batch body), plot_errors and main (sklearn's digits, PCA plots). Every kept line
#           is unchanged.
#
# The bug   DenseLayer.backward_pass assigns self.W = self.W_opt.update(...) first; grad_wb and the gradient
#           returned to the layer below (acc_grad = layer_grad(self.W, self.wb).dot(self.W.T)) read self.W, and
#           the latter self.wb too, after that assignment, i.e. the updated weights. Upstream fixed it in commit
#           0f7ea66 (2017-08-10, "Refined GAN"), whose Dense.backward_pass now begins "# Save weights used during
#           forwards pass / W = self.W" and returns "accum_grad.dot(W.T)", "Calculated based on the weights used
#           during the forward pass". No issue or pull request names it: it was fixed in a commit.

import copy
import math

import numpy as np

# ---- mlfromscratch/utils/activation_functions.py ---------------------------------------------------------------------

# Collection of activation functions
# Reference: https://en.wikipedia.org/wiki/Activation_function

class Sigmoid():
    def __init__(self): pass 

    def function(self, x):
        return 1 / (1 + np.exp(-x))

    def gradient(self, x):
        return self.function(x) * (1 - self.function(x))

class Softmax():
    def __init__(self): pass 

    def function(self, x):
        e_x = np.exp(x - np.max(x, axis=1, keepdims=True))
        return e_x / np.sum(e_x, axis=1, keepdims=True)

    def gradient(self, x):
        p = self.function(x)
        return p * (1 - p)

class TanH():
    def __init__(self): pass 

    def function(self, x):
        return 2 / (1 + np.exp(-2*x)) - 1

    def gradient(self, x):
        return 1 - np.power(self.function(x), 2)

class ReLU():
    def __init__(self): pass 

    def function(self, x):
        return np.where(x >= 0, x, 0)

    def gradient(self, x):
        return np.where(x >= 0, 1, 0)

class LeakyReLU():
    def __init__(self): pass 

    def function(self, x):
        return np.where(x >= 0, x, 0.01 * x)

    def gradient(self, x):
        return np.where(x >= 0, 1, 0.01)

class ELU():
    def __init__(self, alpha=0.1):
        self.alpha = alpha 

    def function(self, x):
        return np.where(x >= 0.0, x, self.alpha * (np.exp(x) - 1))

    def gradient(self, x):
        return np.where(x >= 0.0, 1, self.function(x) + self.alpha)

class SELU():
    # Reference :   https://arxiv.org/abs/1706.02515,
    #               https://github.com/bioinf-jku/SNNs/blob/master/SelfNormalizingNetworks_MLP_MNIST.ipynb
    def __init__(self):
        self.alpha = 1.6732632423543772848170429916717
        self.scale = 1.0507009873554804934193349852946 

    def function(self, x):
        return self.scale * np.where(x >= 0.0, x, self.alpha*(np.exp(x)-1))

    def gradient(self, x):
        return self.scale * np.where(x >= 0.0, 1, self.alpha * np.exp(x))

class SoftPlus():
    def __init__(self): pass 

    def function(self, x):
        return np.log(1 + np.exp(x))

    def gradient(self, x):
        return Sigmoid().function(x)


# ---- mlfromscratch/utils/loss_functions.py ---------------------------------------------------------------------------

class CrossEntropy():
    def __init__(self): pass

    def loss(self, y, p):
        # Avoid division by zero
        p = np.clip(p, 1e-15, 1 - 1e-15)
        return - y * np.log(p) - (1 - y) * np.log(1 - p)

    def gradient(self, y, p):
        # Avoid division by zero
        p = np.clip(p, 1e-15, 1 - 1e-15)
        return - (y / p) + (1 - y) / (1 - p)


# ---- mlfromscratch/utils/optimizers.py -------------------------------------------------------------------------------

class GradientDescent_():
    def __init__(self, learning_rate=0.001, momentum=0):
        self.learning_rate = learning_rate 
        self.momentum = momentum
        self.w_updt = np.array([])

    def update(self, w, grad_func):
        # Initialize on first update
        if not self.w_updt.any():
            self.w_updt = np.zeros(np.shape(w))
        # Use momentum if set
        self.w_updt = self.momentum * self.w_updt + self.learning_rate * grad_func(w)
        # Move against the gradient to minimize loss
        return w -  self.w_updt


# ---- mlfromscratch/utils/data_manipulation.py ------------------------------------------------------------------------

def categorical_to_binary(x):
    n_col = np.amax(x) + 1
    binarized = np.zeros((len(x), n_col))
    for i in range(len(x)):
        binarized[i, x[i]] = 1

    return binarized


# ---- mlfromscratch/supervised_learning/multilayer_perceptron.py ------------------------------------------------------

class DenseLayer():
    """A fully-connected NN layer. 

    Parameters:
    -----------
    n_inputs: int
        The number of inputs per neuron.
    n_units: int
        The number of neurons in the layer.
    activation_function: class:
        The activation function that will be used for each neuron. 
        Possible choices: Sigmoid, ELU, ReLU, LeakyReLU, SoftPlus, TanH, SELU, Softmax
    """
    def __init__(self, n_inputs, n_units, activation_function=SELU):
        self.activation = activation_function()
        self.layer_input = None
        self.initialized = False
        self.n_inputs, self.n_units = n_inputs, n_units
        self.W = None
        self.wb = None

    def initialize(self, optimizer):
        # Initialize the weights
        a, b = -1 / math.sqrt(self.n_inputs), 1 / math.sqrt(self.n_inputs)
        self.W  = (b - a) * np.random.random((self.n_inputs, self.n_units)) + a
        self.wb = (b - a) * np.random.random((1, self.n_units)) + a
        # Weight optimizers
        self.W_opt  = copy.copy(optimizer)
        self.wb_opt = copy.copy(optimizer)

    def backward_pass(self, acc_grad, output=False):

        # The accumulated gradient at the layer
        layer_grad = lambda w, b: acc_grad * self.activation.gradient(self.layer_input.dot(w) + b)

        # Calculate gradient w.r.t layer weights
        grad_w = lambda w: self.layer_input.T.dot(layer_grad(w, self.wb))
        grad_wb = lambda b: np.ones((1, np.shape(layer_grad(self.W, b))[0])).dot(layer_grad(self.W, b))

        # Update the layer weights
        self.W = self.W_opt.update(w=self.W, grad_func=grad_w)
        self.wb = self.wb_opt.update(w=self.wb, grad_func=grad_wb)

        # Return accumulated gradient for next layer
        acc_grad = layer_grad(self.W, self.wb).dot(self.W.T)
        return acc_grad

    def forward_pass(self, layer_input):
        self.layer_input = layer_input
        layer_output = self.activation.function(layer_input.dot(self.W) + self.wb)
        return layer_output



class MultilayerPerceptron():
    """Multilayer Perceptron classifier.

    Parameters:
    -----------
    n_iterations: float
        The number of training iterations the algorithm will tune the weights for.
    batch_size: int
        The size of the batches that the model will train on at a time.
    optimizer: class
        The weight optimizer that will be used to tune the weights in order of minimizing
        the loss.
    validation: tuple
        A tuple containing validation data and labels
    """
    def __init__(self, n_iterations, batch_size, optimizer, validation_data=None):
        self.n_iterations = n_iterations
        self.optimizer = optimizer
        self.layers = []
        self.errors = {"training": [], "validation": []}
        self.cross_ent = CrossEntropy()
        self.batch_size = batch_size
        self.X_val = self.y_val = np.empty([])
        if validation_data:
            self.X_val, self.y_val = validation_data
            self.y_val = categorical_to_binary(self.y_val.astype("int"))

    def add(self, layer):
        layer.initialize(optimizer=self.optimizer)
        self.layers.append(layer)

    def _forward_pass(self, X):
        # Calculate the output of the NN. The output of layer l1 becomes the
        # input of the following layer l2
        layer_output = X
        for layer in self.layers:
            layer_output = layer.forward_pass(layer_output)

        return layer_output

    def _backward_pass(self, loss_grad):
        # Propogate the gradient 'backwards' and update the weights
        # in each layer
        acc_grad = loss_grad
        for layer in reversed(self.layers):
            acc_grad = layer.backward_pass(acc_grad)

    # Use the trained model to predict labels of X
    def predict(self, X):
        output = self._forward_pass(X)
        # Return the sample with the highest output
        return np.argmax(output, axis=1)



# ---- adapter in the tool's class form (ours, not ML-From-Scratch's) ---------------------------------------------

HIDDEN = Sigmoid  # DenseLayer's default is SELU, which the tool lacks; TanH works too (ReLU's gradient is 1 at 0)


class Net:
    """ML-From-Scratch's MultilayerPerceptron, softmax output, trained by its own _forward_pass/_backward_pass.

    Layout: in-out as a list [W0, b0, W1, b1, ...], W (n_in, n_out) and b (n_out,) (DenseLayer.wb is (1, n_out)),
    used as X @ W + wb. Targets: one-hot. Its loss gradient is CrossEntropy.gradient, -y/p + (1-y)/(1-p),
    times Softmax.gradient, p(1-p): p - y, summed over the batch (no 1/m). GradientDescent_ steps
    w_updt = momentum * w_updt + lr * grad, w -= w_updt: with a constant lr, torch's SGD with momentum.

    SETTINGS = dict(activation="sigmoid", loss="cross_entropy", output="softmax", reduction="sum", loss_scale=1,
                    l2=0, bias=True, targets="onehot", layout="in-out", optimizer="sgd", momentum=0,
                    dampening=0, nesterov=False, weight_decay=0)

    step() returns -sum Y log p of the batch before the update (p from its own _forward_pass), the loss its
    gradient belongs to. MultilayerPerceptron.fit reports another number, np.mean of CrossEntropy.loss: the
    two-class form -y log p - (1-y) log(1-p) averaged over all m * k entries.

    Expected divergence, at the first step: layers.{L-1}.weight is updated right; layers.{L-1}.bias is not
    (grad_wb uses the updated W), and neither is any parameter below (acc_grad uses the updated W and wb).
    """

    def __init__(self, params, lr=0.01, momentum=0.0):
        self.model = MultilayerPerceptron(n_iterations=1, batch_size=None,
                                          optimizer=GradientDescent_(learning_rate=lr, momentum=momentum))
        n = len(params) // 2
        for i in range(n):
            W, b = params[2 * i], params[2 * i + 1]
            layer = DenseLayer(n_inputs=W.shape[0], n_units=W.shape[1],
                               activation_function=HIDDEN if i < n - 1 else Softmax)
            self.model.add(layer)  # initialize(): its own random W, wb and a copy of the optimizer per parameter
            layer.W, layer.wb = np.array(W, dtype=np.float64), np.array(b, dtype=np.float64).reshape(1, -1)

    def step(self, X, Y, lr):
        for layer in self.model.layers:
            layer.W_opt.learning_rate = layer.wb_opt.learning_rate = lr
        # the body of MultilayerPerceptron.fit's batch loop
        y_pred = self.model._forward_pass(X)
        loss_grad = self.model.cross_ent.gradient(Y, y_pred)
        self.model._backward_pass(loss_grad=loss_grad)
        return -np.sum(Y * np.log(y_pred))

    @property
    def params(self):
        return [p for layer in self.model.layers for p in (layer.W, layer.wb.ravel())]
