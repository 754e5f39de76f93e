"""Update rules in the Coursera Deep Learning Specialization's form (course 2, week 2): functions over dicts of the
parameters W1 (n_1, n_0), b1 (n_1, 1), ... and their gradients dW1, db1, ..., with the state in dicts keyed dW1,
db1 that start at zeros; t counts the updates from 1.

    mlp-crosscheck update examples/coursera_optim.py:update_parameters_with_adam --sizes 784,32,10 --steps 30
    mlp-crosscheck update examples/coursera_optim.py:update_parameters_with_momentum --momentum-form ema
"""

import numpy as np


def update_parameters_with_momentum(parameters, grads, v, beta, learning_rate):
    """v = beta v + (1 - beta) dW, a moving average of the gradients; W = W - learning_rate v."""
    for key in parameters:
        d = "d" + key
        v[d] = beta * v[d] + (1 - beta) * grads[d]
        parameters[key] = parameters[key] - learning_rate * v[d]
    return parameters, v


def update_parameters_with_adam(parameters, grads, v, s, t, learning_rate=0.01, beta1=0.9, beta2=0.999, epsilon=1e-8):
    """Adam over every parameter: the moments v and s, both bias-corrected with t."""
    for key in parameters:
        d = "d" + key
        v[d] = beta1 * v[d] + (1 - beta1) * grads[d]
        s[d] = beta2 * s[d] + (1 - beta2) * np.square(grads[d])
        v_hat = v[d] / (1 - beta1**t)
        s_hat = s[d] / (1 - beta2**t)
        parameters[key] = parameters[key] - learning_rate * v_hat / (np.sqrt(s_hat) + epsilon)
    return parameters, v, s
