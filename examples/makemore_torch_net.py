"""A network written as makemore's "backprop ninja" lecture writes it: torch tensors, no autograd, the forward pass cut
into small steps and the backward pass written out by hand. Linear, tanh, linear, cross-entropy on integer labels;
W (in, out), used as x @ W + b.

    python compare.py --candidate examples/makemore_torch_net.py:loss_and_grads --sizes 784,64,10 \
        --activation tanh --momentum 0 --lr 0.1
    python compare.py --candidate examples/makemore_torch_net.py:loss_and_grads_tanh_at_z --sizes 784,64,10 \
        --activation tanh --momentum 0 --lr 0.1

The tool hands the function torch tensors of the run's dtype (it finds that NumPy arrays fail, and that integer
labels are what it takes) and the parameters [W1, b1, W2, b2] in the in-out layout. loss_and_grads is correct;
loss_and_grads_tanh_at_z takes tanh's derivative at the pre-activation instead of at h, the slip the lecture's
exercise invites.
"""

import torch
import torch.nn.functional as F


def forward(params, Xb, Yb):
    """The forward pass, one small step a line, and the loss (a 0-d tensor)."""
    W1, b1, W2, b2 = params
    n = Xb.shape[0]
    hpreact = Xb @ W1 + b1  # (n, n_hidden)
    h = torch.tanh(hpreact)  # (n, n_hidden)
    logits = h @ W2 + b2  # (n, n_out)
    shifted = logits - logits.max(1, keepdim=True).values  # the row's largest logit is 0: exp cannot overflow
    counts = shifted.exp()
    probs = counts / counts.sum(1, keepdim=True)
    logprobs = probs.log()
    loss = -logprobs[torch.arange(n), Yb].mean()
    return loss, (hpreact, h, logits)


def loss_and_grads(params, Xb, Yb):
    W1, b1, W2, b2 = params
    n = Xb.shape[0]
    loss, (hpreact, h, logits) = forward(params, Xb, Yb)
    # cross_entropy backpropagated in one go: softmax minus the one-hot targets, over n
    dlogits = F.softmax(logits, 1) - F.one_hot(Yb, logits.shape[1])
    dlogits = dlogits / n
    dh = dlogits @ W2.T  # (n, n_hidden)
    dW2 = h.T @ dlogits
    db2 = dlogits.sum(0)
    dhpreact = (1.0 - h**2) * dh  # tanh'(x) = 1 - tanh(x)^2
    dW1 = Xb.T @ dhpreact
    db1 = dhpreact.sum(0)
    return loss, [dW1, db1, dW2, db2]


def loss_and_grads_tanh_at_z(params, Xb, Yb):
    W1, b1, W2, b2 = params
    n = Xb.shape[0]
    loss, (hpreact, h, logits) = forward(params, Xb, Yb)
    dlogits = (F.softmax(logits, 1) - F.one_hot(Yb, logits.shape[1])) / n
    dh = dlogits @ W2.T
    dW2 = h.T @ dlogits
    db2 = dlogits.sum(0)
    dhpreact = (1.0 - hpreact**2) * dh  # the derivative taken at the pre-activation
    dW1 = Xb.T @ dhpreact
    db1 = dhpreact.sum(0)
    return loss, [dW1, db1, dW2, db2]
