# Third-party code: the training internals of scikit-learn's MLPClassifier and MLPRegressor.
#
# Source    scikit-learn 1.9.1 as published on PyPI (pip install scikit-learn==1.9.1), copied from the installed
#           wheel's sklearn/neural_network/_base.py (lines 11-20, 34-77, 90-189, 219-279) and
#           sklearn/neural_network/_multilayer_perceptron.py (BaseMultilayerPerceptron._forward_pass,
#           _compute_loss_grad and _backprop, lines 164-187, 226-238, 301-393).
#           Repository: https://github.com/scikit-learn/scikit-learn
# Authors   The scikit-learn developers
# Licence   BSD-3-Clause. Its notice, as the wheel ships it (scikit_learn-1.9.1.dist-info/licenses/COPYING):
#
#     BSD 3-Clause License
#
#     Copyright (c) 2007-2026 The scikit-learn developers.
#     All rights reserved.
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
#     * Neither the name of the copyright holder nor the names of its
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
# Changes   Only what runs one training batch is kept; every kept line is unchanged. Left out: the estimator API
#           (fit, partial_fit, predict, parameter validation, init, the solvers and their loops), the Poisson loss
#           and the exp output (the tool has no such loss), and the imports they need.
#           The ACTIVATIONS and LOSS_FUNCTIONS tables lose their "exp" and "poisson" rows.
#           Added: a two-line safe_sparse_dot (sklearn.utils.extmath's, which for dense arrays is a @ b), the
#           class line and __init__ of BaseMultilayerPerceptron reduced to the attributes the three methods
#           read, and, below the marked line, the adapters in the tool's function form.
#
# Known bug kept as published: scikit-learn issue #8349, "Bug in bfgs gradient computation of MLPRegressor with
# multiple output neurons" (https://github.com/scikit-learn/scikit-learn/issues/8349, open; proposed fix in pull
# request https://github.com/scikit-learn/scikit-learn/pull/34830, open). squared_loss below averages over the
# output units (.mean()) while _backprop's delta[last] = activations[-1] - y is the gradient of the sum over them,
# so for a regressor with k > 1 outputs the loss is 1/k of the function its gradients belong to. See
# regressor_multioutput below.

import numpy as np
from scipy.special import expit as logistic_sigmoid
from scipy.special import xlogy


def safe_sparse_dot(a, b):
    return a @ b  # sklearn.utils.extmath.safe_sparse_dot for two dense arrays


# ---- sklearn/neural_network/_base.py ----------------------------------------------------------------------------

def inplace_identity(X):
    """Simply leave the input array unchanged.

    Parameters
    ----------
    X : {array-like, sparse matrix}, shape (n_samples, n_features)
        Data, where `n_samples` is the number of samples
        and `n_features` is the number of features.
    """
    # Nothing to do


def inplace_logistic(X):
    """Compute the logistic function inplace.

    Parameters
    ----------
    X : {array-like, sparse matrix}, shape (n_samples, n_features)
        The input data.
    """
    logistic_sigmoid(X, out=X)


def inplace_tanh(X):
    """Compute the hyperbolic tan function inplace.

    Parameters
    ----------
    X : {array-like, sparse matrix}, shape (n_samples, n_features)
        The input data.
    """
    np.tanh(X, out=X)


def inplace_relu(X):
    """Compute the rectified linear unit function inplace.

    Parameters
    ----------
    X : {array-like, sparse matrix}, shape (n_samples, n_features)
        The input data.
    """
    np.maximum(X, 0, out=X)


def inplace_softmax(X):
    """Compute the K-way softmax function inplace.

    Parameters
    ----------
    X : {array-like, sparse matrix}, shape (n_samples, n_features)
        The input data.
    """
    tmp = X - X.max(axis=1)[:, np.newaxis]
    np.exp(tmp, out=X)
    X /= X.sum(axis=1)[:, np.newaxis]

ACTIVATIONS = {
    "identity": inplace_identity,
    "tanh": inplace_tanh,
    "logistic": inplace_logistic,
    "relu": inplace_relu,
    "softmax": inplace_softmax,
}


def inplace_identity_derivative(Z, delta):
    """Apply the derivative of the identity function: do nothing.

    Parameters
    ----------
    Z : {array-like, sparse matrix}, shape (n_samples, n_features)
        The data which was output from the identity activation function during
        the forward pass.

    delta : {array-like}, shape (n_samples, n_features)
         The backpropagated error signal to be modified inplace.
    """
    # Nothing to do


def inplace_logistic_derivative(Z, delta):
    """Apply the derivative of the logistic sigmoid function.

    It exploits the fact that the derivative is a simple function of the output
    value from logistic function.

    Parameters
    ----------
    Z : {array-like, sparse matrix}, shape (n_samples, n_features)
        The data which was output from the logistic activation function during
        the forward pass.

    delta : {array-like}, shape (n_samples, n_features)
         The backpropagated error signal to be modified inplace.
    """
    delta *= Z
    delta *= 1 - Z


def inplace_tanh_derivative(Z, delta):
    """Apply the derivative of the hyperbolic tanh function.

    It exploits the fact that the derivative is a simple function of the output
    value from hyperbolic tangent.

    Parameters
    ----------
    Z : {array-like, sparse matrix}, shape (n_samples, n_features)
        The data which was output from the hyperbolic tangent activation
        function during the forward pass.

    delta : {array-like}, shape (n_samples, n_features)
         The backpropagated error signal to be modified inplace.
    """
    delta *= 1 - Z**2


def inplace_relu_derivative(Z, delta):
    """Apply the derivative of the relu function.

    It exploits the fact that the derivative is a simple function of the output
    value from rectified linear units activation function.

    Parameters
    ----------
    Z : {array-like, sparse matrix}, shape (n_samples, n_features)
        The data which was output from the rectified linear units activation
        function during the forward pass.

    delta : {array-like}, shape (n_samples, n_features)
         The backpropagated error signal to be modified inplace.
    """
    delta[Z == 0] = 0


DERIVATIVES = {
    "identity": inplace_identity_derivative,
    "tanh": inplace_tanh_derivative,
    "logistic": inplace_logistic_derivative,
    "relu": inplace_relu_derivative,
}


def squared_loss(y_true, y_pred, sample_weight=None):
    """Compute the squared loss for regression.

    Parameters
    ----------
    y_true : array-like or label indicator matrix
        Ground truth (correct) values.

    y_pred : array-like or label indicator matrix
        Predicted values, as returned by a regression estimator.

    sample_weight : array-like of shape (n_samples,), default=None
        Sample weights.

    Returns
    -------
    loss : float
        The degree to which the samples are correctly predicted.
    """
    return (
        0.5 * np.average((y_true - y_pred) ** 2, weights=sample_weight, axis=0).mean()
    )


def log_loss(y_true, y_prob, sample_weight=None):
    """Compute Logistic loss for classification.

    Parameters
    ----------
    y_true : array-like or label indicator matrix
        Ground truth (correct) labels.

    y_prob : array-like of float, shape = (n_samples, n_classes)
        Predicted probabilities, as returned by a classifier's
        predict_proba method.

    sample_weight : array-like of shape (n_samples,), default=None
        Sample weights.

    Returns
    -------
    loss : float
        The degree to which the samples are correctly predicted.
    """
    eps = np.finfo(y_prob.dtype).eps
    y_prob = np.clip(y_prob, eps, 1 - eps)
    if y_prob.shape[1] == 1:
        y_prob = np.append(1 - y_prob, y_prob, axis=1)

    if y_true.shape[1] == 1:
        y_true = np.append(1 - y_true, y_true, axis=1)

    return -np.average(xlogy(y_true, y_prob), weights=sample_weight, axis=0).sum()


def binary_log_loss(y_true, y_prob, sample_weight=None):
    """Compute binary logistic loss for classification.

    This is identical to log_loss in binary classification case,
    but is kept for its use in multilabel case.

    Parameters
    ----------
    y_true : array-like or label indicator matrix
        Ground truth (correct) labels.

    y_prob : array-like of float, shape = (n_samples, 1)
        Predicted probabilities, as returned by a classifier's
        predict_proba method.

    sample_weight : array-like of shape (n_samples,), default=None
        Sample weights.

    Returns
    -------
    loss : float
        The degree to which the samples are correctly predicted.
    """
    eps = np.finfo(y_prob.dtype).eps
    y_prob = np.clip(y_prob, eps, 1 - eps)
    return -np.average(
        xlogy(y_true, y_prob) + xlogy(1 - y_true, 1 - y_prob),
        weights=sample_weight,
        axis=0,
    ).sum()

LOSS_FUNCTIONS = {
    "squared_error": squared_loss,
    "log_loss": log_loss,
    "binary_log_loss": binary_log_loss,
}


# ---- sklearn/neural_network/_multilayer_perceptron.py -----------------------------------------------------------


class BaseMultilayerPerceptron:
    """The part of sklearn's BaseMultilayerPerceptron that computes one batch's loss and gradients."""

    def __init__(self, activation, out_activation_, loss, alpha, coefs_, intercepts_):
        self.activation = activation  # hidden units: identity, logistic, tanh or relu
        self.out_activation_ = out_activation_  # softmax, logistic or identity
        self.loss = loss  # log_loss or squared_error
        self.alpha = alpha  # L2 strength: alpha / (2 n_samples) * sum ||W||^2
        self.coefs_ = coefs_  # list of (fan_in, fan_out) weight matrices
        self.intercepts_ = intercepts_  # list of (fan_out,) bias vectors
        self.n_layers_ = len(coefs_) + 1

    def _forward_pass(self, activations):
        """Perform a forward pass on the network by computing the values
        of the neurons in the hidden layers and the output layer.

        Parameters
        ----------
        activations : list, length = n_layers - 1
            The ith element of the list holds the values of the ith layer.
        """
        hidden_activation = ACTIVATIONS[self.activation]
        # Iterate over the hidden layers
        for i in range(self.n_layers_ - 1):
            activations[i + 1] = safe_sparse_dot(activations[i], self.coefs_[i])
            activations[i + 1] += self.intercepts_[i]

            # For the hidden layers
            if (i + 1) != (self.n_layers_ - 1):
                hidden_activation(activations[i + 1])

        # For the last layer
        output_activation = ACTIVATIONS[self.out_activation_]
        output_activation(activations[i + 1])

        return activations

    def _compute_loss_grad(
        self, layer, sw_sum, activations, deltas, coef_grads, intercept_grads
    ):
        """Compute the gradient of loss with respect to coefs and intercept for
        specified layer.

        This function does backpropagation for the specified one layer.
        """
        coef_grads[layer] = safe_sparse_dot(activations[layer].T, deltas[layer])
        coef_grads[layer] += self.alpha * self.coefs_[layer]
        coef_grads[layer] /= sw_sum

        intercept_grads[layer] = np.sum(deltas[layer], axis=0) / sw_sum

    def _backprop(
        self, X, y, sample_weight, activations, deltas, coef_grads, intercept_grads
    ):
        """Compute the MLP loss function and its corresponding derivatives
        with respect to each parameter: weights and bias vectors.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            The input data.

        y : ndarray of shape (n_samples,)
            The target values.

        sample_weight : array-like of shape (n_samples,), default=None
            Sample weights.

        activations : list, length = n_layers - 1
             The ith element of the list holds the values of the ith layer.

        deltas : list, length = n_layers - 1
            The ith element of the list holds the difference between the
            activations of the i + 1 layer and the backpropagated error.
            More specifically, deltas are gradients of loss with respect to z
            in each layer, where z = wx + b is the value of a particular layer
            before passing through the activation function

        coef_grads : list, length = n_layers - 1
            The ith element contains the amount of change used to update the
            coefficient parameters of the ith layer in an iteration.

        intercept_grads : list, length = n_layers - 1
            The ith element contains the amount of change used to update the
            intercept parameters of the ith layer in an iteration.

        Returns
        -------
        loss : float
        coef_grads : list, length = n_layers - 1
        intercept_grads : list, length = n_layers - 1
        """
        n_samples = X.shape[0]

        # Forward propagate
        activations = self._forward_pass(activations)

        # Get loss
        loss_func_name = self.loss
        if loss_func_name == "log_loss" and self.out_activation_ == "logistic":
            loss_func_name = "binary_log_loss"
        loss = LOSS_FUNCTIONS[loss_func_name](y, activations[-1], sample_weight)
        # Add L2 regularization term to loss
        values = 0
        for s in self.coefs_:
            s = s.ravel()
            values += np.dot(s, s)
        if sample_weight is None:
            sw_sum = n_samples
        else:
            sw_sum = sample_weight.sum()
        loss += (0.5 * self.alpha) * values / sw_sum

        # Backward propagate
        last = self.n_layers_ - 2

        # The calculation of delta[last] is as follows:
        #   delta[last] = d/dz loss(y, act(z)) = act(z) - y
        # with z=x@w + b being the output of the last layer before passing through the
        # output activation, act(z) = activations[-1].
        # The simple formula for delta[last] here works with following (canonical
        # loss-link) combinations of output activation and loss function:
        # sigmoid and binary cross entropy, softmax and categorical cross
        # entropy, and identity with squared loss
        deltas[last] = activations[-1] - y
        if sample_weight is not None:
            deltas[last] *= sample_weight.reshape(-1, 1)

        # Compute gradient for the last layer
        self._compute_loss_grad(
            last, sw_sum, activations, deltas, coef_grads, intercept_grads
        )

        inplace_derivative = DERIVATIVES[self.activation]
        # Iterate over the hidden layers
        for i in range(last, 0, -1):
            deltas[i - 1] = safe_sparse_dot(deltas[i], self.coefs_[i].T)
            inplace_derivative(activations[i], deltas[i - 1])

            self._compute_loss_grad(
                i - 1, sw_sum, activations, deltas, coef_grads, intercept_grads
            )

        return loss, coef_grads, intercept_grads


# ---- adapters in the tool's function form (ours, not scikit-learn's) --------------------------------------------
#
# sklearn's weights are (fan_in, fan_out) and used as activations @ W + b: the tool's in-out layout, as a list
# [W0, b0, W1, b1, ...] with b of shape (fan_out,). Y is one-hot (or, for the regressor, any real targets).
# sklearn owns no update here: its solvers (sgd, adam, lbfgs) are left out, the tool applies its own optimizer.

ACTIVATION = "relu"  # sklearn's default hidden units; "logistic", "tanh" and "identity" work too
ALPHA = 1e-4  # sklearn's default L2 strength; the tool's l2 must be the same number

TOOL_ACTIVATION = {"relu": "relu", "logistic": "sigmoid", "tanh": "tanh", "identity": "identity"}


def _backprop(params, X, Y, out_activation, loss):
    """One call of sklearn's own _backprop on params = [W0, b0, W1, b1, ...]; returns (loss, grads) alike."""
    coefs, intercepts = list(params[0::2]), list(params[1::2])
    mlp = BaseMultilayerPerceptron(ACTIVATION, out_activation, loss, ALPHA, coefs, intercepts)
    activations = [X] + [None] * len(coefs)  # as BaseMultilayerPerceptron._fit allocates them
    deltas = [None] * len(coefs)
    coef_grads = [np.empty_like(W) for W in coefs]
    intercept_grads = [np.empty_like(b) for b in intercepts]
    loss, coef_grads, intercept_grads = mlp._backprop(
        X, Y, None, activations, deltas, coef_grads, intercept_grads
    )
    grads = [g for pair in zip(coef_grads, intercept_grads) for g in pair]
    return loss, grads


def classifier(params, X, Y):
    """MLPClassifier on three or more classes: softmax output and log_loss (the batch mean of -sum_k Y log p).

    SETTINGS = dict(activation="relu", loss="cross_entropy", output="softmax", reduction="mean", loss_scale=1,
                    l2=1e-4, l2_norm="batch", bias=True, targets="onehot", layout="in-out")
    (sizes: any, with at least 3 outputs; activation: TOOL_ACTIVATION[ACTIVATION]; l2: ALPHA.)
    """
    return _backprop(params, X, Y, "softmax", "log_loss")


def multilabel(params, X, Y):
    """MLPClassifier on multilabel targets: logistic outputs and binary_log_loss (sum over outputs, batch mean).

    SETTINGS = dict(activation="relu", loss="bce", output="sigmoid", reduction="mean", loss_scale=1,
                    l2=1e-4, l2_norm="batch", bias=True, targets="onehot", layout="in-out")
    binary_log_loss uses the textbook -y log p - (1 - y) log(1 - p) on probabilities clipped to [eps, 1 - eps],
    not a stable form computed from z, so where a sigmoid saturates its loss carries more rounding than torch's.
    """
    return _backprop(params, X, Y, "logistic", "log_loss")  # _backprop switches to binary_log_loss itself


def regressor_multioutput(params, X, Y):
    """MLPRegressor with k output units, identity output, squared_error: BUGGY for k > 1 (issue #8349).

    The gradients are those of the per-sample loss 1/2 sum_k (a - y)^2, averaged over the batch, plus the L2
    term; the loss it returns is 1/2 mean_k (a - y)^2, averaged over the batch, plus the L2 term, i.e. its data
    part is 1/k of the function the gradients belong to. Run with the settings the gradients (and the proposed fix,
    pull request #34830, which makes the loss a sum over outputs) imply:

    SETTINGS = dict(activation="relu", loss="mse", output="identity", reduction="mean", loss_scale=1,
                    l2=1e-4, l2_norm="batch", bias=True, targets="onehot", layout="in-out")

    Then every gradient agrees and the loss differs (its data part by the factor 1/k). With loss_scale=1/k the
    loss agrees instead and every gradient differs: no convention fits both. The defect is squared_loss's
    .mean() over the outputs (the line "0.5 * np.average(...).mean()" above); with k = 1 it is correct.
    """
    return _backprop(params, X, Y, "identity", "squared_error")
