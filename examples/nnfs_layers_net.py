"""A network as "Neural Networks from Scratch" (Kinsley and Kukiela) builds it: layer objects whose forward() sets
.output and whose backward() sets .dinputs; dense layers holding .weights (n_inputs, n_neurons) and .biases
(1, n_neurons); the softmax and the categorical cross-entropy combined in one object; the book's optimizer objects.
A factory returns the objects in order, as the book's training loop calls them:

    python compare.py --candidate examples/nnfs_layers_net.py:make_layers --sizes 784,64,10 --momentum 0 \
        --lr 0.5 --prob-clip 1e-7
    python compare.py --candidate examples/nnfs_layers_net.py:make_layers_with_adam --sizes 784,64,10 \
        --optimizer adam --lr 0.005 --lr-schedule inv-iter:1e-3 --eps 1e-7 --prob-clip 1e-7
    python compare.py --candidate examples/nnfs_layers_net.py:make_layers_dinputs_slip --sizes 784,64,10 \
        --momentum 0 --lr 0.5 --prob-clip 1e-7

Every object's .output and .dinputs is compared with the twin's z, a, dL/dz and dL/da (dense2.dinputs is dL/da of
the hidden layer). The book's loss clips the probabilities to [1e-7, 1 - 1e-7] (--prob-clip 1e-7). With its own
optimizer object the network owns its update: Optimizer_Adam's decay is --lr-schedule inv-iter:D, its epsilon
--eps. make_layers and make_layers_with_adam are correct; make_layers_dinputs_slip's dense layers pass back
dvalues @ dweights.T where the weights belong, which the tool names at dense2.dinputs.
"""

import numpy as np


class Layer_Dense:
    def __init__(self, n_inputs, n_neurons):
        self.weights = 0.01 * np.random.randn(n_inputs, n_neurons)
        self.biases = np.zeros((1, n_neurons))

    def forward(self, inputs):
        self.inputs = inputs  # kept for backward
        self.output = np.dot(inputs, self.weights) + self.biases  # (samples, n_neurons)

    def backward(self, dvalues):
        self.dweights = np.dot(self.inputs.T, dvalues)
        self.dbiases = np.sum(dvalues, axis=0, keepdims=True)
        self.dinputs = np.dot(dvalues, self.weights.T)  # the gradient passed to the layer before


class Layer_Dense_Slip(Layer_Dense):
    def backward(self, dvalues):
        self.dweights = np.dot(self.inputs.T, dvalues)
        self.dbiases = np.sum(dvalues, axis=0, keepdims=True)
        self.dinputs = np.dot(dvalues, self.dweights.T)  # the weights' gradient where the weights belong


class Activation_ReLU:
    def forward(self, inputs):
        self.inputs = inputs
        self.output = np.maximum(0, inputs)

    def backward(self, dvalues):
        self.dinputs = dvalues.copy()  # a copy: dvalues belongs to the layer after
        self.dinputs[self.inputs <= 0] = 0


class Activation_Softmax:
    def forward(self, inputs):
        self.inputs = inputs
        exp_values = np.exp(inputs - np.max(inputs, axis=1, keepdims=True))  # shifted: no overflow
        self.output = exp_values / np.sum(exp_values, axis=1, keepdims=True)


class Loss:
    def calculate(self, output, y):
        return np.mean(self.forward(output, y))  # the batch's mean of the per-sample losses


class Loss_CategoricalCrossentropy(Loss):
    def forward(self, y_pred, y_true):
        p = np.clip(y_pred, 1e-7, 1 - 1e-7)  # never log(0)
        if y_true.ndim == 1:  # integer labels
            chosen = p[np.arange(len(p)), y_true]
        else:  # one-hot rows
            chosen = (p * y_true).sum(axis=1)
        return -np.log(chosen)


class Activation_Softmax_Loss_CategoricalCrossentropy:
    """Softmax and cross-entropy in one object: its backward is the short (p - y) / samples."""

    def __init__(self):
        self.activation = Activation_Softmax()
        self.loss = Loss_CategoricalCrossentropy()

    def forward(self, inputs, y_true):
        self.activation.forward(inputs)
        self.output = self.activation.output
        return self.loss.calculate(self.output, y_true)

    def backward(self, dvalues, y_true):
        labels = y_true.argmax(axis=1) if y_true.ndim == 2 else y_true
        grad = dvalues.copy()
        grad[np.arange(len(grad)), labels] -= 1
        self.dinputs = grad / len(grad)


class Optimizer_Adam:
    """Adam on every dense layer it is given, its moments kept on the layer (weight_momentums, weight_cache, ...);
    the learning rate decays as learning_rate / (1 + decay * iterations)."""

    def __init__(self, learning_rate=0.001, decay=0.0, epsilon=1e-7, beta_1=0.9, beta_2=0.999):
        self.learning_rate = self.current_learning_rate = learning_rate
        self.decay, self.epsilon, self.beta_1, self.beta_2 = decay, epsilon, beta_1, beta_2
        self.iterations = 0

    def pre_update_params(self):
        self.current_learning_rate = self.learning_rate / (1.0 + self.decay * self.iterations)

    def update_params(self, layer):
        t = self.iterations + 1  # the first update is t = 1
        for kind, param, grad in (("weight", "weights", layer.dweights), ("bias", "biases", layer.dbiases)):
            m = self.beta_1 * getattr(layer, f"{kind}_momentums", 0.0) + (1 - self.beta_1) * grad
            v = self.beta_2 * getattr(layer, f"{kind}_cache", 0.0) + (1 - self.beta_2) * grad**2
            setattr(layer, f"{kind}_momentums", m)  # the moments live on the layer, under the book's names
            setattr(layer, f"{kind}_cache", v)
            m_hat, v_hat = m / (1 - self.beta_1**t), v / (1 - self.beta_2**t)
            step = self.current_learning_rate * m_hat / (np.sqrt(v_hat) + self.epsilon)
            setattr(layer, param, getattr(layer, param) - step)

    def post_update_params(self):
        self.iterations += 1


def make_layers():
    dense1 = Layer_Dense(784, 64)
    activation1 = Activation_ReLU()
    dense2 = Layer_Dense(64, 10)
    loss_activation = Activation_Softmax_Loss_CategoricalCrossentropy()
    return [dense1, activation1, dense2, loss_activation]


def make_layers_with_adam():
    optimizer = Optimizer_Adam(learning_rate=0.005, decay=1e-3)
    return make_layers(), optimizer


def make_layers_dinputs_slip():
    dense1 = Layer_Dense_Slip(784, 64)
    activation1 = Activation_ReLU()
    dense2 = Layer_Dense_Slip(64, 10)
    loss_activation = Activation_Softmax_Loss_CategoricalCrossentropy()
    return [dense1, activation1, dense2, loss_activation]
