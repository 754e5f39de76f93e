"""The classic course's network: Theta matrices (out, in + 1) whose column 0 holds the biases (bias-first-col).

One hidden layer of sigmoid units, sigmoid outputs, the cost -1/m sum [y log h + (1 - y) log(1 - h)] plus
LAM/(2m) times the sum of the squared non-bias columns, vectorised as the course's nnCostFunction. nn_cost is
correct; nn_cost_reg_bias regularises the bias column too (a wrong bias gradient).
"""

import numpy as np

LAM = 1.0


def sigmoid(z):
    return 1 / (1 + np.exp(-z))


def sigmoid_gradient(z):
    g = sigmoid(z)
    return g * (1 - g)


def nn_cost(Thetas, X, Y):
    Theta1, Theta2 = Thetas
    m = X.shape[0]
    a1 = np.hstack([np.ones((m, 1)), X])  # (m, n0 + 1)
    z2 = a1 @ Theta1.T  # (m, n1)
    a2 = np.hstack([np.ones((m, 1)), sigmoid(z2)])  # (m, n1 + 1)
    z3 = a2 @ Theta2.T  # (m, n2)
    h = sigmoid(z3)
    J = -np.sum(Y * np.log(h) + (1 - Y) * np.log(1 - h)) / m
    J += LAM / (2 * m) * (np.sum(Theta1[:, 1:] ** 2) + np.sum(Theta2[:, 1:] ** 2))
    d3 = h - Y  # (m, n2)
    d2 = (d3 @ Theta2)[:, 1:] * sigmoid_gradient(z2)  # (m, n1)
    Delta1 = d2.T @ a1  # (n1, n0 + 1)
    Delta2 = d3.T @ a2  # (n2, n1 + 1)
    Theta1_grad = Delta1 / m
    Theta2_grad = Delta2 / m
    Theta1_grad[:, 1:] += LAM / m * Theta1[:, 1:]
    Theta2_grad[:, 1:] += LAM / m * Theta2[:, 1:]
    return J, [Theta1_grad, Theta2_grad]


def nn_cost_reg_bias(Thetas, X, Y):
    Theta1, Theta2 = Thetas
    m = X.shape[0]
    a1 = np.hstack([np.ones((m, 1)), X])
    z2 = a1 @ Theta1.T
    a2 = np.hstack([np.ones((m, 1)), sigmoid(z2)])
    z3 = a2 @ Theta2.T
    h = sigmoid(z3)
    J = -np.sum(Y * np.log(h) + (1 - Y) * np.log(1 - h)) / m
    J += LAM / (2 * m) * (np.sum(Theta1[:, 1:] ** 2) + np.sum(Theta2[:, 1:] ** 2))
    d3 = h - Y
    d2 = (d3 @ Theta2)[:, 1:] * sigmoid_gradient(z2)
    Delta1 = d2.T @ a1
    Delta2 = d3.T @ a2
    Theta1_grad = Delta1 / m
    Theta2_grad = Delta2 / m
    Theta1_grad += LAM / m * Theta1  # the bug: the bias column is regularised too
    Theta2_grad += LAM / m * Theta2
    return J, [Theta1_grad, Theta2_grad]
