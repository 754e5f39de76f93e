"""Token data for a network with an embedding (--embedding V:D): integer inputs X (n, k), a context of k tokens, and
the next token y (n,). No corpus ships with the tool; these build one.

    X, y = next_char(["emma", "olivia", ...], k=3)        # makemore's character-level set: '.' and a-z, V = 27
    X, y = markov(2000, k=3, vocabulary=27, seed=0)        # a seeded Markov chain over V tokens
    numpy.savez("tokens.npz", X=X, y=y)                    # then: --data tokens.npz --embedding 27:10 --sizes 30,...
"""

import string

import numpy as np

ALPHABET = "." + string.ascii_lowercase  # token 0, '.', starts and ends every word (makemore's convention)


def next_char(words, k=3):
    """makemore's data set: for every character of every word (and the '.' that ends it), the k characters before
    it (padded with '.') as X (n, k) and its index as y (n,), both int64, over ALPHABET (V = 27)."""
    index = {c: i for i, c in enumerate(ALPHABET)}
    X, y = [], []
    for word in words:
        context = [0] * k
        for ch in word.lower() + ".":
            if ch not in index:
                raise ValueError(f"next_char takes words of the letters a-z, got {word!r}")
            X.append(context)
            y.append(index[ch])
            context = context[1:] + [index[ch]]
    return np.array(X, dtype=np.int64).reshape(-1, k), np.array(y, dtype=np.int64)


def markov(n, k=3, vocabulary=27, seed=0):
    """n samples of a first-order Markov chain over `vocabulary` tokens (each row of its transition matrix a sparse
    Dirichlet draw mixed with 10% uniform, from `seed`): X (n, k) the windows of k consecutive tokens, y (n,) the
    token after each. Every token occurs in y (the chain starts with each of them once)."""
    if n < vocabulary:
        raise ValueError(f"markov needs n >= vocabulary ({vocabulary}) samples so that every token is a target")
    rng = np.random.default_rng(seed)
    P = 0.9 * rng.dirichlet(np.full(vocabulary, 0.3), size=vocabulary) + 0.1 / vocabulary  # (V, V) rows sum to 1
    seq = np.empty(n + k, dtype=np.int64)
    seq[:k] = rng.integers(0, vocabulary, k)
    seq[k : k + vocabulary] = rng.permutation(vocabulary)
    cumulative = P.cumsum(axis=1)
    draws = rng.random(n + k)
    for t in range(k + vocabulary, n + k):  # one draw a token: the chain is short
        seq[t] = min(int(np.searchsorted(cumulative[seq[t - 1]], draws[t])), vocabulary - 1)
    windows = np.lib.stride_tricks.sliding_window_view(seq, k + 1)  # (n, k + 1)
    return windows[:, :k].copy(), windows[:, k].copy()
