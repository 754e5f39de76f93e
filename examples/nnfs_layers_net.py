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
        sample_losses = self.forward(output, y)
        return np.mean(sample_losses)


class Loss_CategoricalCrossentropy(Loss):
    def forward(self, y_pred, y_true):
        samples = len(y_pred)
        y_pred_clipped = np.clip(y_pred, 1e-7, 1 - 1e-7)  # no log(0)
        if len(y_true.shape) == 1:
            correct_confidences = y_pred_clipped[range(samples), y_true]
        else:
            correct_confidences = np.sum(y_pred_clipped * y_true, axis=1)
        return -np.log(correct_confidences)


class Activation_Softmax_Loss_CategoricalCrossentropy:
    """Softmax and cross-entropy in one object, whose backward is the short (p - y) / samples."""

    def __init__(self):
        self.activation = Activation_Softmax()
        self.loss = Loss_CategoricalCrossentropy()

    def forward(self, inputs, y_true):
        self.activation.forward(inputs)
        self.output = self.activation.output
        return self.loss.calculate(self.output, y_true)

    def backward(self, dvalues, y_true):
        samples = len(dvalues)
        if len(y_true.shape) == 2:
            y_true = np.argmax(y_true, axis=1)
        self.dinputs = dvalues.copy()
        self.dinputs[range(samples), y_true] -= 1
        self.dinputs = self.dinputs / samples


class Optimizer_Adam:
    def __init__(self, learning_rate=0.001, decay=0.0, epsilon=1e-7, beta_1=0.9, beta_2=0.999):
        self.learning_rate = learning_rate
        self.current_learning_rate = learning_rate
        self.decay = decay
        self.iterations = 0
        self.epsilon = epsilon
        self.beta_1 = beta_1
        self.beta_2 = beta_2

    def pre_update_params(self):
        if self.decay:
            self.current_learning_rate = self.learning_rate / (1.0 + self.decay * self.iterations)

    def update_params(self, layer):
        if not hasattr(layer, "weight_cache"):
            layer.weight_momentums = np.zeros_like(layer.weights)
            layer.weight_cache = np.zeros_like(layer.weights)
            layer.bias_momentums = np.zeros_like(layer.biases)
            layer.bias_cache = np.zeros_like(layer.biases)
        t = self.iterations + 1  # the first update is t = 1
        layer.weight_momentums = self.beta_1 * layer.weight_momentums + (1 - self.beta_1) * layer.dweights
        layer.bias_momentums = self.beta_1 * layer.bias_momentums + (1 - self.beta_1) * layer.dbiases
        weight_momentums_corrected = layer.weight_momentums / (1 - self.beta_1**t)
        bias_momentums_corrected = layer.bias_momentums / (1 - self.beta_1**t)
        layer.weight_cache = self.beta_2 * layer.weight_cache + (1 - self.beta_2) * layer.dweights**2
        layer.bias_cache = self.beta_2 * layer.bias_cache + (1 - self.beta_2) * layer.dbiases**2
        weight_cache_corrected = layer.weight_cache / (1 - self.beta_2**t)
        bias_cache_corrected = layer.bias_cache / (1 - self.beta_2**t)
        layer.weights += (
            -self.current_learning_rate * weight_momentums_corrected / (np.sqrt(weight_cache_corrected) + self.epsilon)
        )
        layer.biases += (
            -self.current_learning_rate * bias_momentums_corrected / (np.sqrt(bias_cache_corrected) + self.epsilon)
        )

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
