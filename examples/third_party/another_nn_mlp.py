# ruff: noqa
# Third-party code: another-neural-net 0.1 as published on PyPI (pip download --no-deps another-neural-net==0.1, the
# sdist), by Ian Horsman, MIT (declared in the sdist's setup.py and PKG-INFO); https://github.com/Ianphorsman/
# AnotherNeuralNetwork. The section below is the sdist's numpy_neural_nets/basic_mlp.py, its lines unchanged, less
# the imports of matplotlib, seaborn, _pickle and sklearn and the four methods that use them (save, load,
# plot_decision_boundary, plot_performance): the network does not use them, and seaborn is not installed here.
#
# The bug   MLP.backpropagate starts its deltas from `y - hypothesis`, the output error without the output
#           activation's derivative. The output layer is a sigmoid (activate() is applied at every layer) and the
#           cost train() reports is the squared error, np.average(0.5 * ((y - hypothesis) ** 2)); the delta of that
#           cost at the output's pre-activation is (hypothesis - y) * hypothesis * (1 - hypothesis). So every
#           update follows another function (the sigmoid cross-entropy's gradient) than the cost it reports.
#           Also in the same code, reached only with activation_function='tanh': tanh(X, d=True) returns
#           1 - np.tanh(X) ** 2 of the layer's activation, where the derivative is 1 - a ** 2 (the activation is
#           already tanh(z)). 0.1 is the only release; no report of either in a tracker is known to us.

# ---- numpy_neural_nets/basic_mlp.py ----------------------------------------------------------------------------
import numpy as np


class MLP(object):

    def __init__(self, X, y, filename='mlp', inspect_rate=50, iterations=1000, learning_rate=0.000025, nodes=(2,8,4,1), batch=(False, 0), activation_function='sigmoid'):
        # store input and expected output data
        self.X = X
        self.y = np.atleast_2d(y)

        # saved network name
        self.filename = filename

        # inspect rate to print and store current error and accuracy
        self.inspect_rate = inspect_rate

        # decide whether batching occurs (not implemented yet)
        self.batch, self.batch_size = batch

        # number of iterations
        self.iterations = iterations

        # learning hyperparameters
        self.learning_rate = learning_rate

        # activation function
        self.activation_function = activation_function

        # network layers
        self.nodes = nodes
        # store costs and accuracy over iterations
        self.costs = []
        self.accuracies = []

        # initialize placeholder layers
        self.layers = []

        # initialize placeholder weights
        self.weights = self.initialize_weights()

    def initialize_weights(self):
        weights = []
        for i in range(1, len(self.nodes)):
            weights.append(np.random.randn(self.nodes[i - 1] + 1, self.nodes[i]))
        return weights

    def train(self, X, y):
        for i in range(self.iterations):
            hypothesis = self.feedforward(X)
            self.backpropagate(hypothesis, self.y.T)
            cost = np.average(0.5 * ((y - hypothesis) ** 2))
            if i % self.inspect_rate == 0:
                self.costs.append(cost)
                accuracy = self.test_accuracy(X, y)
                self.accuracies.append(accuracy)
                print(self.inspect_performance(i, cost, accuracy))

    def test_accuracy(self, X_test, y_test, percent=True):
        hypothesis = self.feedforward(X_test)
        evaluation = np.int_(np.round(hypothesis) == y_test.T)
        if not percent:
            return evaluation
        return np.sum(evaluation) / X_test.shape[0] * 100

    def add_bias(self, x):
        return np.hstack((np.ones((x.shape[0], 1)), x))

    def feedforward(self, X):
        num_weight_matrices = len(self.weights)
        layer = self.add_bias(X)
        self.layers.append(layer)
        for i in range(num_weight_matrices):
            if i == num_weight_matrices - 1:
                w = self.weights[i]
                layer = self.activate(np.dot(layer, w))
            else:
                w = self.weights[i]
                layer = self.add_bias(self.activate(np.dot(layer, w)))
            self.layers.append(layer)
        return layer

    def backpropagate(self, hypothesis, y):
        deltas = [y - hypothesis]
        for layer, weights in zip(reversed(self.layers[:-1]), reversed(self.weights)):
            prev_delta = deltas[-1]
            if prev_delta.shape[1] - 1 != weights.shape[1]:
                delta = prev_delta.dot(weights.T) * self.activate(layer, d=True)
            else:
                delta = prev_delta[:, 1:].dot(weights.T) * self.activate(layer, d=True)
            deltas.append(delta)
        for i in range(1, len(deltas)):
            delta = deltas[i - 1]
            layer = self.layers[:-1][-i]
            if i == 1:
                self.weights[-i] += self.learning_rate * delta.T.dot(layer).T
            else:
                self.weights[-i] += self.learning_rate * delta[:, 1:].T.dot(layer).T

        return deltas

    def activate(self, X, d=False):
        if self.activation_function == 'sigmoid':
            return self.sigmoid(X, d)
        elif self.activation_function == 'tanh':
            return self.tanh(X, d)
        else:
            return self.relu(X, d)

    def sigmoid(self, X, d=False):
        if d:
            return X * (1 - X)
        return 1 / (1 + np.exp(-X))

    def tanh(self, X, d=False):
        if d:
            return 1 - np.tanh(X) ** 2
        return np.tanh(X)

    def relu(self, X, d=False):
        if d:
            return np.multiply(1., (X > 0))
        return np.maximum(X, 0, X)

    def inspect_performance(self,iteration, cost, accuracy):
        return "Iteration: {} , Cost: {} , Accuracy: {}".format(iteration, cost, accuracy)


# ---- adapter in the tool's class form (ours, not the project's) ------------------------------------------------


class Net:
    """The project's MLP, one update a step by its own feedforward and backpropagate (the body of MLP.train's loop).

    Layout: bias-row list [T0, T1, ...], T (n_in + 1, n_out), row 0 the biases (add_bias puts the column of ones
    first), used as [1, a] @ T. Its update is T += learning_rate * [1, a].T @ delta, a sum over the batch (no 1/m).
    SETTINGS = dict(activation="sigmoid", loss="mse", output="sigmoid", reduction="sum", layout="bias-row",
                    optimizer="sgd", momentum=0). step() returns 1/2 sum over the batch of (y - a)^2 before the
    update (train() prints the mean over all m * k entries of that, after the update)."""

    def __init__(self, params, lr=0.1):
        sizes = tuple([params[0].shape[0] - 1] + [T.shape[1] for T in params])
        X0 = np.zeros((1, sizes[0]))
        self.mlp = MLP(X0, np.zeros((1, sizes[-1])), learning_rate=lr, nodes=sizes, activation_function="sigmoid")
        self.mlp.weights = [np.array(T, dtype=np.float64) for T in params]

    def step(self, X, Y, lr):
        self.mlp.learning_rate = lr
        self.mlp.layers = []  # the records of earlier forward passes (backpropagate reads the last ones)
        hypothesis = self.mlp.feedforward(X)
        loss = 0.5 * np.sum((Y - hypothesis) ** 2)
        self.mlp.backpropagate(hypothesis, Y)
        return loss

    params = property(lambda self: self.mlp.weights)
