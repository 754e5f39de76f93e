"""Update rules in the Holberton School's form (supervised_learning/0x03-optimization): one variable at a time,
the hyperparameters first, then the variable, its gradient and its state, returned updated.

    mlp-crosscheck update examples/holberton_optim.py:update_variables_RMSProp --lr 1e-3 --alpha 0.9
"""

import numpy as np


def update_variables_momentum(alpha, beta1, var, grad, v):
    """v = beta1 v + (1 - beta1) grad, then var - alpha v."""
    v = beta1 * v + (1 - beta1) * grad
    return var - alpha * v, v


def update_variables_RMSProp(alpha, beta2, epsilon, var, grad, s):
    s = beta2 * s + (1 - beta2) * grad**2
    return var - alpha * grad / (np.sqrt(s) + epsilon), s


def update_variables_Adam(alpha, beta1, beta2, epsilon, var, grad, v, s, t):
    v = beta1 * v + (1 - beta1) * grad
    s = beta2 * s + (1 - beta2) * grad**2
    v_hat, s_hat = v / (1 - beta1**t), s / (1 - beta2**t)
    return var - alpha * v_hat / (np.sqrt(s_hat) + epsilon), v, s
