"""How far from the exact value can a correct implementation of one training step be? A per-element bound.

step_bounds() computes, for every tensor of one step and every element, a bound E on |computed - exact| that any
correct implementation in arithmetic of unit roundoff u satisfies, by running error analysis from the twin's own
tensors (Higham, ch. 3): two correct sides satisfy |ours - ref| <= E_ours + E_ref, and excess() measures how far
beyond that a difference is. Each op's rule (matmul, the activations and their derivatives, softmax, the losses
(svm, mse on a softmax), the penalties, the optimizers and their step caps, clipping, underflow; the norms,
dropout, the embedding and the eval pass, whose per-op parts are lockstep/judge/ops.py), what is rigorous and what
is assumed, and a worked example: docs/judging.md, section 5.
"""

import inspect
from functools import partial
from itertools import product

import numpy as np

from handmade import layers
from handmade.config import l2_divisor
from handmade.losses import svm_margins

from . import ops
from .ops import U64, ULPS, grown, tiny_for

IN = 2  # intermediate roundings inside an activation's derivative, as a relative perturbation of z and a


def gamma(n, u):
    """gamma_n = n u / (1 - n u): relative error bound of a sum or dot product of n terms, in any order."""
    return n * u / (1 - n * u) if n * u < 1 else np.inf


def matmul_bound(A, B, u, tiny, c=None, EA=0.0, EB=0.0):
    """E of C = A B (+ c) (A (m, n), B (n, k), c broadcast to (m, k)), the rule every affine layer of step_bounds
    follows: gamma_n' (|A| + 2 E_A)(|B| + 2 E_B) + E_A (|B| + 2 E_B) + (|A| + E_A) E_B, n' = n (+ 1 with c, whose
    |c| joins the gamma term), plus the underflow floor (n' + 1) tiny. Exact inputs (E_A = E_B = 0) leave
    gamma_n' |A||B|: Higham's Lemma 3.5, in any order of summation, with or without FMA."""
    A, B = np.abs(np.asarray(A, dtype=np.float64)), np.abs(np.asarray(B, dtype=np.float64))
    EA, EB = np.broadcast_to(np.asarray(EA, np.float64), A.shape), np.broadcast_to(np.asarray(EB, np.float64), B.shape)
    n = A.shape[-1] + (c is not None)
    g = gamma(n, u)
    E = g * (A + 2 * EA) @ (B + 2 * EB) + EA @ (B + 2 * EB) + (A + EA) @ EB
    if c is not None:
        E = E + g * np.abs(np.asarray(c, dtype=np.float64))
    return E + (n + 1) * tiny


def activation(name, slope):
    """handmade's (forward, backward) pair of `name`, with leaky_relu's negative slope bound where the table's
    functions take a `slope` (today's handmade fixes it at LEAKY_SLOPE)."""
    forward, backward = layers.ACTIVATIONS[name]
    if "slope" in inspect.signature(forward).parameters:
        return partial(forward, slope=slope), partial(backward, slope=slope)
    if name == "leaky_relu" and slope != layers.LEAKY_SLOPE:
        raise ValueError(f"this handmade's leaky_relu has slope {layers.LEAKY_SLOPE}, not {slope}")
    return forward, backward


def spread(fun, args, errs, work):
    """(|fun(*args)|, dev): dev = the largest |fun(corner) - fun(centre)| over the corners of the box args +- errs,
    how far fun moves when each argument moves within its error (exactly, for fun monotone in each argument).
    Evaluated in `work` precision, all corners in one call of fun on a stacked array (fun is elementwise)."""
    args = [np.asarray(x, work) for x in args]
    centre = fun(*args)
    corners = np.array(list(product((-1, 1), repeat=len(args))), dtype=work)  # (2^n, n)
    stack = (-1,) + (1,) * centre.ndim
    moved = fun(*[x + corners[:, j].reshape(stack) * e for j, (x, e) in enumerate(zip(args, errs))])
    return np.abs(centre).astype(np.float64), np.abs(moved - centre).max(axis=0).astype(np.float64)


def elementwise(fun, args, errs, u, work):
    """(E, |fun(*args)|): the input errors' effect, the op's own rounding (ULPS u) and the evaluation's (work)."""
    uw = float(np.finfo(work).eps) / 2
    size, dev = spread(fun, args, errs, work)
    return dev * (1 + 2 * ULPS * uw) + ULPS * (u + 2 * uw) * size, size


def backward_bound(backward, da, Eda, fda, z, Ez, a, Ea, u, tiny, work):
    """(E, floor) of dz = backward(da, z, a) = da * g(z, a): |da| E_g + E_da (|g| + E_g) + the product's rounding.
    Ez and Ea include their floors; fda is da's. The box is twice the errors: see the module docstring."""
    errs = [2 * (Ez + IN * u * np.abs(z)), 2 * (Ea + IN * u * np.abs(a))]
    Eg, g = elementwise(lambda z, a: backward(np.ones_like(z), z, a), [z, a], errs, u, work)
    Edz = np.abs(da) * Eg + Eda * (g + Eg) + u * np.abs(da) * g
    return Edz, tiny + fda * float(np.max(g + Eg, initial=0)) + ULPS * tiny * float(np.max(np.abs(da), initial=0))


def softmax_bound(z, a, Ez, u):
    """E of a = softmax(z) (m, k) for logit errors Ez, log softmax(z) (m, k), and the absolute rounding of each."""
    shifted = z - z.max(axis=1, keepdims=True)  # (m, k)
    logS = np.log(np.exp(shifted).sum(axis=1, keepdims=True))  # (m, 1)
    norm = gamma(z.shape[1], u) + 2 * ULPS * u * (1 + logS)  # (m, 1) relative: the sum, log S, the division
    delta = Ez + 2 * u * np.abs(shifted) + ULPS * u  # (m, k) logit moves: input error, the shift's and exp's rounding
    s = (a * delta).sum(axis=1, keepdims=True)  # (m, 1)
    move = a * np.maximum((1 - a) * delta + s - a * delta, 0) * np.exp(4 * delta.max(axis=1, keepdims=True))
    return np.minimum(move, 1) + a * norm, shifted - logS, 2 * u * np.abs(shifted) + norm


def setting(spec, key, default):
    """spec[key], or the convention's default where it is missing or None."""
    return default if spec.get(key) is None else spec[key]


def penalty_divisor(spec, m):
    """d of the penalties l1 / d sum |p| + l2 / (2d) sum p^2: spec's l2_divisor, else by l2_norm: 'batch' (the
    default) m, 'dataset' spec's n_train, 'none' 1."""
    if spec.get("l2_divisor"):
        return spec["l2_divisor"]
    return l2_divisor(spec.get("l2_norm") or "batch", m, spec.get("n_train"))


def penalty_bound(spec, penalized, d, u, tiny):
    """E of the penalties' value l2/(2d) sum p^2 + l1/d sum |p| over the penalised arrays, and of adding them to the
    data loss: each sum of N terms rounds by gamma_N of its size, the scalars and each addition by a few u."""
    l1, l2 = setting(spec, "l1", 0.0), setting(spec, "l2", 0.0)
    n, terms = sum(p.size for p in penalized) + len(penalized), bool(l1) + bool(l2)
    value = l2 / (2 * d) * sum(np.vdot(p, p) for p in penalized) + l1 / d * sum(np.abs(p).sum() for p in penalized)
    return (gamma(n, u) + (3 + terms) * u) * value + terms * len(penalized) * tiny


def penalty_grad_bound(spec, d, p, G, E, u):
    """E of a gradient G (the reference's, penalties included) whose data part has error E, plus the penalties'
    (l2/d) p + (l1/d) sign(p): each term's rounding (the scalar, the product) and the additions. sign(p) needs no
    box: the parameters are the step's exact inputs, so every side sees the same sign, and at exactly 0 the
    subgradient is torch's sign(0) = 0. A side that takes +1 there (the ones with -1 where p < 0 of Neural
    Networks from Scratch) differs by l1/d, far beyond this bound."""
    l1, l2 = setting(spec, "l1", 0.0), setting(spec, "l2", 0.0)
    nonzero = p != 0
    E = E + 3 * u * (l2 / d) * np.abs(p) + 2 * u * (l1 / d) * nonzero
    if l1 and l2:  # two additions: the first one's sum is at most |G| plus both terms
        return E + 2 * u * (np.abs(G) + 2 * ((l2 / d) * np.abs(p) + (l1 / d) * nonzero) + E)
    return E + u * (np.abs(G) + E)


def svm_bounds(z, Ez, Y, rF, u, tiny):
    """(E of the data loss, E of dL/dz (m, k)) of the multiclass SVM sum_{j != y} max(0, 1 - z_y + z_j).
    A margin m_j = (1 - z_y) + z_j carries E_m = E_z_j + E_z_y + the two roundings. Its subgradient is a step
    at 0, like relu's: where |m_j| <= 2 E_m the two sides may fall on either side of it, so E_dz there holds the
    whole jump, rF for z_j and rF for each such j at the target's column. Elsewhere dz = rF (indicators, and their
    negated count at the target) rounds only in the scalings (torch's 1/k then k) and the count's sum."""
    m, k = z.shape
    margins, target = svm_margins(z, Y)  # (m, k)
    y = Y.argmax(axis=1)[:, None]
    zy, Ezy = np.take_along_axis(z, y, axis=1), np.take_along_axis(Ez, y, axis=1)  # (m, 1)
    Em = Ez + Ezy + u * (np.abs(1 - zy) + np.abs(margins))  # (m, k)
    active, kink = (margins > 0) & ~target, (np.abs(margins) <= 2 * Em) & ~target
    value = float(np.sum(margins * active))
    EL = rF * (np.sum(Em * (active | kink)) + (gamma(m * k, u) + 2 * u) * value) + 4 * u * rF * value
    dz = rF * (active - target * active.sum(axis=1, keepdims=True))  # (m, k)
    Edz = rF * (kink + target * kink.sum(axis=1, keepdims=True)) + (gamma(k, u) + 4 * u) * np.abs(dz) + tiny
    return EL + m * k * tiny, Edz


def softmax_backward_bound(g, Eg, a, Ea, u, tiny):
    """(E, floor) of dz = a (g - s), s = sum_k g_k a_k, softmax's full Jacobian applied to g = dL/da (m, k): a
    dot product of k terms, a difference and a product, each as a matmul's terms are bounded (the computing side's
    operands within twice their errors of the reference's)."""
    k = a.shape[1]
    A, G = np.abs(a) + 2 * Ea, np.abs(g) + 2 * Eg
    s = (g * a).sum(axis=1, keepdims=True)  # (m, 1)
    Es = (gamma(k, u) * G * A + Eg * A + (np.abs(g) + Eg) * Ea).sum(axis=1, keepdims=True)
    t = g - s  # (m, k)
    Et = Eg + Es + u * (np.abs(g) + np.abs(s) + Eg + Es)
    Edz = u * A * (np.abs(t) + 2 * Et) + Ea * (np.abs(t) + 2 * Et) + (np.abs(a) + Ea) * Et
    return Edz, (k + 2) * tiny


def output_bounds(spec, z, a, Ez, Ea, Y, u, tiny, work):
    """(E of the data loss, E of dL/dz at the output (m, k), E of dL/da for mse or None); Ez, Ea with floors."""
    m, k = z.shape
    rF = abs(setting(spec, "loss_scale", 1.0)) / (m if setting(spec, "reduction", "mean") == "mean" else 1)
    g = gamma(m * k, u)
    if spec["loss"] == "svm":
        return (*svm_bounds(z, Ez, Y, rF, u, tiny), None)
    if spec["loss"] in ("cross_entropy", "bce"):
        if spec["loss"] == "cross_entropy":
            _, logp, rho = softmax_bound(z, a, Ez, u)
            value, rounding = -np.vdot(Y, logp), np.sum(np.abs(Y) * rho) + g * np.sum(np.abs(Y * logp))
        else:  # per element: max(z,0) - zY + log1p(e^-|z|) (handmade) or (1-Y) z - log_sigmoid(z) (torch)
            per = np.maximum(z, 0) - z * Y + np.log1p(np.exp(-np.abs(z)))  # (m, k)
            value = per.sum()
            rounding = u * np.sum(3 * np.abs(z) + 2 * np.abs(z * Y) + per + 2 * ULPS + 1) + g * value
        EL = rF * (np.sum((np.abs(a - Y) + Ea) * Ez) + rounding) + 4 * u * rF * abs(value)  # 3 scalings, the + l2
        if setting(spec, "prob_clip", None):  # the value on clipped probabilities; the gradient stays a - Y
            EL = clipped_loss_bound(spec["loss"], a, Ea, Y, spec["prob_clip"], u, rF)
        Edz = rF * (Ea + 2 * u * (np.abs(a) + np.abs(Y))) + 4 * u * rF * np.abs(a - Y) + tiny
        return EL + m * k * tiny, Edz, None
    d = a - Y  # (m, k)
    Ed = Ea + u * np.abs(d)
    EL = rF * 0.5 * (np.sum((2 * np.abs(d) + Ed) * Ed) + (g + u + 4 * u) * np.vdot(d, d))
    Eda = rF * Ed + 4 * u * rF * np.abs(d) + tiny
    if spec["output"] == "softmax":
        Edz, fdz = softmax_backward_bound(rF * d, Eda, a, Ea, u, tiny)
        return EL + m * k * tiny, Edz + fdz, Eda
    backward = activation(spec["output"], setting(spec, "leaky_slope", layers.LEAKY_SLOPE))[1]
    Edz, fdz = backward_bound(backward, rF * d, Eda, 0.0, z, Ez, a, Ea, u, tiny, work)
    return EL + m * k * tiny, Edz + fdz, Eda


def clipped_loss_bound(loss, a, Ea, Y, p, u, rF):
    """E of the loss value on probabilities c = clip(a, p, 1 - p) (prob_clip, NNFS's and scikit-learn's): the sum of
    -w log x over (w, x) = (Y, c) and, for bce, (1 - Y, 1 - c). clip is 1-Lipschitz (its limits rounded to the
    dtype: u more), and log moves by E_x / min(x, x') <= E_x / max(x - E_x, p); log's own rounding ULPS u |log x|,
    the sum's gamma_n. rF is the reduction and loss scale; 4u of them for the scalings and the + l2."""
    c = np.clip(a, p, 1 - p)  # (m, k)
    Ec = Ea + u * c
    terms = [(Y, c, Ec)] + ([(1 - Y, 1 - c, Ec + u * (1 - c))] if loss == "bce" else [])
    value = moved = size = 0.0
    for w, x, Ex in terms:
        logx = np.log(x)
        value -= np.vdot(w, logx)
        moved += np.sum(np.abs(w) * (Ex / np.maximum(x - Ex, p * (1 - 4 * u)) + (ULPS + 1) * u * np.abs(logx)))
        size += np.sum(np.abs(w * logx))
    return rF * (moved + gamma(len(terms) * a.size, u) * size) + 4 * u * rF * abs(value)


def magnitude(*terms):
    """sum of c |x| over the (c, x) pairs, accumulated in place (the optimizer's arrays are the model's size)."""
    total = 0.0
    for c, x in terms:
        if c:
            t = np.abs(x)
            t *= c
            total = t if np.isscalar(total) else np.add(total, t, out=total)
    return total


def decayed(h, p, G, EG, fG, u, tiny):
    """(g, E_g, floor) of g = grad + weight_decay p (torch's coupled weight decay; g = grad without it)."""
    wd = h.get("weight_decay", 0)
    if not wd:
        return G, EG, fG + tiny
    return G + wd * p, magnitude((1, EG), (3 * u * wd, p), (3 * u, G)), fG + tiny


def sgd_bounds(h, p, G, EG, fG, state, u, tiny, form="torch"):
    """({state key: (E, floor)}, (E, floor) of the new parameter) of SGD: torch's, or one of the courses' momentum
    forms (config.MOMENTUM_FORMS). Each line's rounding is bounded by a few u times its terms' magnitudes
    (|a + b| <= |a| + |b| throughout); a state missing before the step is zero (torch's first buffer is g).
      torch     buf = mu old + (1 - tau) g (buf = g first), g = g + mu buf with nesterov, p - lr g
      ema       v = mu old + (1 - mu) g: E_v = (1 - mu) E_g + 3u(mu |old| + (1 - mu) |g|); p - lr v
      velocity  v = mu old - lr g: E_v = lr E_g + 3u(mu |old| + lr |g|); p + v: E_v + u(|p| + |v|)"""
    lr, mu, tau = h["lr"], h.get("momentum", 0), h.get("dampening", 0)
    g, Eg, fg = decayed(h, p, G, EG, fG, u, tiny)
    if form in ("ema", "velocity"):
        key = "exp_avg" if form == "ema" else "velocity"
        old = state.get(key)
        old = np.zeros_like(g) if old is None else old
        if form == "ema":
            v = mu * old + (1 - mu) * g
            Ev, fv = magnitude((1 - mu, Eg), (3 * u * mu, old), (3 * u * (1 - mu), g)), (1 - mu) * fg + tiny
            return {key: (Ev, fv)}, (magnitude((lr, Ev), (3 * u * lr, v), (u, p)), lr * fv + tiny)
        v = mu * old - lr * g
        Ev, fv = magnitude((lr, Eg), (3 * u * mu, old), (3 * u * lr, g)), lr * fg + tiny
        return {key: (Ev, fv)}, (magnitude((1, Ev), (u, p), (u, v)), fv + tiny)
    keys = {}
    if mu:
        old = state.get("momentum_buffer")
        if old is None:  # the first step: buf = g, no dampening
            b, Eb, fb = g, Eg.copy(), fg
        else:  # buf = mu old + (1 - tau) g
            b = mu * old + (1 - tau) * g
            Eb, fb = magnitude((1 - tau, Eg), (3 * u * mu, old), (3 * u * (1 - tau), g)), (1 - tau) * fg + tiny
        keys["momentum_buffer"] = (Eb, fb)
        if h.get("nesterov"):  # g = g + mu buf
            Eg, fg = magnitude((1, Eg), (mu, Eb), (2 * u, g), (2 * u * mu, b)), fg + mu * fb + tiny
            g = g + mu * b
        else:
            g, Eg, fg = b, Eb, fb
    return keys, (magnitude((lr, Eg), (3 * u * lr, g), (u, p)), lr * fg + tiny)  # p - lr g


def sqrt_bound(v, Ev, fv, u):
    """(sqrt(v), E, floor) for v >= 0 within Ev: E = min(E_v / (sqrt(v - E_v) + sqrt(v - 2 E_v)), sqrt(E_v)), plus
    sqrt's own rounding. sqrt is not Lipschitz at 0, so where v is rounding noise (E_v ~ v) the bound is ~ sqrt(v)
    itself: an optimizer dividing by it turns that noise into a full step, and the bound says so. The floor's
    share is at most 1.5 sqrt(floor of v)."""
    r = np.sqrt(v)
    Er = np.minimum(Ev / (np.sqrt(np.maximum(v - Ev, 0)) + np.sqrt(np.maximum(v - 2 * Ev, 0))), np.sqrt(Ev))
    Er = np.where(Ev > 0, Er, 0.0)  # an exact v (a gradient exactly 0, as at a blank pixel): not 0/0
    Er += 2 * u * r
    return r, Er, 1.5 * np.sqrt(fv)


def quotient(n, En, fn, D, ED, fD, u):
    """(n / D, E, floor) for a denominator D > 0 within ED (+ fD): (E_n + |q| E_D) / (the smallest D can be) + u|q|;
    inf where D may reach 0."""
    q = n / D
    low = D - ED - fD  # the smallest the denominator can be
    Eq = np.where(low > 0, (En + np.abs(q) * ED) / np.where(low > 0, low, 1), np.inf) + u * np.abs(q)
    fq = (fn + float(np.max(np.abs(q), initial=0)) * fD) / float(np.min(np.where(low > 0, low, np.inf), initial=1))
    return q, Eq, fq


def squares(old, rate, g, Eg, fg, u, tiny):
    """(s, E, floor) of s = keep old + rate g^2 with old >= 0: every term is positive, so the roundings of the
    products and the sum are 4u s at most; the error of g moves g^2 by (2|g| + E_g) E_g."""
    keep = 1.0 if rate == 1 else 1 - rate
    s = keep * old + rate * g * g
    Es = rate * (2 * np.abs(g) + Eg) * Eg + 4 * u * s
    return s, Es, rate * (2 * float(np.max(np.abs(g) + Eg, initial=0)) + fg) * fg + tiny


def rmsprop_bounds(h, p, G, EG, fG, state, u, tiny):
    """({state key: (E, floor)}, new parameter's (E, floor), domain) of torch's RMSprop:
    s = alpha s + (1 - alpha) g^2; centered: a = a + (1 - alpha)(g - a) (a lerp, as Adam's m) and w = s - a^2,
    whose cancellation rounds by 3u(s + a^2); d = sqrt(w) + eps; q = g / d; then p - lr q, or with momentum
    buf = mu buf + q (from 0) and p - lr buf. w >= 0 exactly, but where it is within rounding of 0 (a gradient
    constant over many steps, as clipping by value makes it: s and a^2 then agree to their last bits), any correct
    side may round it below 0 and take sqrt of a negative: `domain` marks those elements (None uncentered)."""
    lr, alpha, eps, mu = h["lr"], h["alpha"], h["eps"], h.get("momentum", 0)
    g, Eg, fg = decayed(h, p, G, EG, fG, u, tiny)
    zero = np.zeros_like(g)
    s, Es, fs = squares(_get(state, "square_avg", zero), 1 - alpha, g, Eg, fg, u, tiny)
    keys, (w, Ew, fw), domain = {"square_avg": (Es, fs)}, (s, Es, fs), None
    if h.get("centered"):
        a0 = _get(state, "grad_avg", zero)
        a = a0 + (1 - alpha) * (g - a0)
        Ea = magnitude((1 - alpha, Eg), (3 * u * max(alpha, 1 - alpha), g - a0), (3 * u * alpha, a0), (3 * u, g))
        fa = (1 - alpha) * fg + tiny
        keys["grad_avg"] = (Ea, fa)
        w = s - a * a
        Ew = Es + (2 * np.abs(a) + Ea) * Ea + 3 * u * (s + a * a)
        fw = fs + (2 * float(np.max(np.abs(a) + Ea, initial=0)) + fa) * fa + tiny
        domain = w - 2 * (Ew + fw) <= 0  # the sides' w are within 2 E_w of each other, through the exact one
    r, Er, fr = sqrt_bound(w, Ew, fw, u)
    D = r + eps
    q, Eq, fq = quotient(g, Eg, fg, D, Er + u * D, fr, u)
    if not h.get("centered"):  # s >= (1 - alpha) g^2 from its zero start: |q| <= 1 / sqrt(1 - alpha)
        Eq, fq = step_cap(Eq, fq, 2 / np.sqrt(1 - alpha) if alpha < 1 else np.inf, u, everywhere=True)
    if mu > 0:  # buf = mu buf + q, p - lr buf
        b0 = _get(state, "momentum_buffer", zero)
        Eq, fq = magnitude((1, Eq), (3 * u * mu, b0), (3 * u, q)), fq + tiny
        q = mu * b0 + q
        keys["momentum_buffer"] = (Eq, fq)
    return keys, (magnitude((lr, Eq), (3 * u * lr, q), (u, p)), lr * fq + tiny), domain


def adagrad_bounds(h, p, G, EG, fG, state, u, tiny):
    """({'sum': (E, floor)}, new parameter's (E, floor)) of torch's Adagrad: s = s + g^2; q = g / (sqrt(s) + eps);
    p - clr q with clr = lr / (1 + (t - 1) lr_decay) in Python floats (a few us relative)."""
    us = min(u, U64)
    t = float(state.get("step", 0)) + 1
    clr = h["lr"] / (1 + (t - 1) * h.get("lr_decay", 0))
    g, Eg, fg = decayed(h, p, G, EG, fG, u, tiny)
    s, Es, fs = squares(_get(state, "sum", np.zeros_like(g)), 1, g, Eg, fg, u, tiny)
    r, Er, fr = sqrt_bound(s, Es, fs, u)
    D = r + h["eps"]
    q, Eq, fq = quotient(g, Eg, fg, D, Er + u * D, fr, u)
    if h.get("initial_accumulator_value", 0) >= 0:  # s >= g^2: |q| <= 1
        Eq, fq = step_cap(Eq, fq, 2.0, u, everywhere=True)
    return {"sum": (Es, fs)}, (magnitude((clr, Eq), ((3 * u + 3 * us) * clr, q), (u, p)), clr * fq + tiny), None


def _get(state, key, zero):
    value = state.get(key)
    return zero if value is None else value


def step_cap(Eq, fq, cap, u, everywhere):
    """(E, floor) of an adaptive optimizer's quotient g / (sqrt(s) + eps), capped by `cap`, twice the largest
    |quotient| the optimizer's recurrence allows, plus its rounding: whatever rounding chose, a correct side's step
    is no longer than that (about lr; docs/judging.md). Where the gradient is pure rounding the quotient's own bound
    is larger, or infinite (the denominator's lower bound reaches 0). `everywhere` False: the cap holds only for a
    state built from zero (Adam's), so it replaces only the infinite bounds."""
    cap = cap * (1 + ULPS * u)
    if everywhere:
        return np.minimum(Eq, cap), min(fq, cap)
    return np.where(np.isfinite(Eq), Eq, cap), fq if np.isfinite(fq) else cap


def adam_ratio(b1, b2, t):
    """K_t, the largest |m_hat| / sqrt(v_hat) after t steps from zero moments: by Cauchy-Schwarz, |m_t| <= (1 - b1)
    sqrt(sum_j (b1^2 / b2)^j) sqrt(v_t / (1 - b2)), so K_t = (1 - b1) / (1 - b1^t) sqrt((1 - b2^t) / (1 - b2))
    sqrt(sum_{j<t} (b1^2 / b2)^j) (1 at t = 1; 7.3 for torch's betas as t grows)."""
    if b2 >= 1 or b1 >= 1:
        return np.inf
    r = b1 * b1 / b2
    terms = t if abs(r - 1) < 1e-12 else (1 - r**t) / (1 - r)
    return (1 - b1) / (1 - b1**t) * np.sqrt((1 - b2**t) / (1 - b2) * terms)


def adam_quotient(a, alpha, b, beta, c2, eps, g):
    """q(g) = (a + alpha g) / (sqrt(b + beta g^2) / c2 + eps): Adam's m / (sqrt(v) / c2 + eps) as a function of the
    step's gradient g alone, the state before the step (a = b1 m0, b = b2 v0) being exact."""
    return (a + alpha * g) / (np.sqrt(b + beta * g * g) / c2 + eps)


def adam_quotient_bound(b1, b2, m0, v0, g, Eg, c2, rel_c2, eps, u):
    """E of Adam's quotient q = m / (sqrt(v) / c2 + eps), with m = b1 m0 + (1 - b1) g and v = b2 v0 + (1 - b2) g^2,
    from one gradient g within Eg. m and sqrt(v) move together with g (at t = 1, q = (1 - b1) g / (|g| + eps) is
    sign(g) (1 - b1) whatever |g| is), so bounding their errors apart adds what cancels. Instead: q is a function of
    g alone (the state before the step is exact), and a correct side's g lies within 2 Eg of the reference's. Over
    that interval q is smooth, and its stationary points solve q'(g) = 0, i.e. alpha b + alpha c2 eps S = a beta g
    (S = sqrt(b + beta g^2)), whose squares give the quadratic (a^2 beta^2 - alpha^2 c2^2 eps^2 beta) g^2 - 2 a alpha b
    beta g + alpha^2 b (b - c2^2 eps^2) = 0: the range of q is its range over the interval's ends and those roots
    (clipped into it; a spurious root only adds a point of the interval). Plus the formula's rounding from the
    computing side's g: m's 3u of its terms over the smallest denominator of the interval, and D's relative rounding
    rho (v's 4u, halved by the square root, the square root's 2u, c2's, the division and + eps) of |q|; and 2 ULPS
    U64 |q| for evaluating q here in float64."""
    alpha, beta, a, b = 1 - b1, 1 - b2, b1 * np.asarray(m0, np.float64), b2 * np.asarray(v0, np.float64)
    a, b = np.broadcast_to(a, np.shape(g)), np.broadcast_to(b, np.shape(g))
    w = 2 * Eg * (1 + 4 * U64) + 2 * U64 * np.abs(g)
    lo, hi = g - w, g + w
    ce2 = (c2 * eps) ** 2
    A = beta * (a * a * beta - alpha * alpha * ce2)
    B = -2 * a * alpha * b * beta
    C = alpha * alpha * b * (b - ce2)
    with np.errstate(all="ignore"):
        root = np.sqrt(np.maximum(B * B - 4 * A * C, 0))
        candidates = [lo, hi]
        for r in ((-B + root) / (2 * A), (-B - root) / (2 * A), -C / np.where(B != 0, B, np.inf)):
            candidates.append(np.clip(np.where(np.isfinite(r), r, lo), lo, hi))
        values = np.stack([adam_quotient(a, alpha, b, beta, c2, eps, x) for x in candidates])
    q = adam_quotient(a, alpha, b, beta, c2, eps, g)
    top = np.abs(values).max(axis=0)
    moved = np.maximum(values.max(axis=0) - q, q - values.min(axis=0))
    low_g = np.where((lo <= 0) & (hi >= 0), 0.0, np.minimum(np.abs(lo), np.abs(hi)))
    Dmin = np.sqrt(b + beta * low_g * low_g) / c2 + eps
    Em = 3 * u * (np.abs(a) + alpha * (np.abs(g) + w) + max(b1, alpha) * (np.abs(g) + w + np.abs(m0)))
    rho = 4 * u + rel_c2 + 3 * u
    out = moved + Em / (Dmin * (1 - rho)) + top * rho / (1 - rho) + u * top + 2 * ULPS * U64 * top
    return np.where(np.isfinite(out), out, np.inf)


def adam_bounds(h, decoupled, p, G, EG, fG, state, u, tiny, from_zero=False):
    """(E, floor) of exp_avg, exp_avg_sq and the new parameter, torch's Adam (AdamW) single-tensor formulas. A
    counter started at t0 (--adam-t0) is the state's 'step' before the first step. from_zero: the moments were
    built from zero by the optimizer itself (the lockstep's), so every step is at most lr K_t (adam_ratio)."""
    lr, (b1, b2), eps, wd = h["lr"], h["betas"], h["eps"], h.get("weight_decay", 0)
    us = min(u, U64)  # scalar arithmetic is Python floats
    t = float(state.get("step", 0)) + 1
    m0, v0 = state.get("exp_avg", 0.0), state.get("exp_avg_sq", 0.0)
    p1, Ep1, g, Eg, fg = p, 0.0, G, EG, fG + tiny
    if wd and decoupled:  # p = p (1 - lr wd)
        p1 = p * (1 - lr * wd)
        Ep1 = 3 * u * np.abs(p1)
    elif wd:  # g = grad + wd p
        g = G + wd * p
        Eg = magnitude((1, EG), (3 * u * wd, p), (3 * u, G))
    # m = m0 + (1 - b1)(g - m0), torch's lerp (or its other branch, or b1 m0 + (1 - b1) g)
    m = m0 + (1 - b1) * (g - m0)
    Em = magnitude((1 - b1, Eg), (3 * u * max(b1, 1 - b1), g - m0), (3 * u * b1, m0), (3 * u * (1 - b1), g))
    v = b2 * v0 + (1 - b2) * g * g
    Ev = (1 - b2) * (2 * np.abs(g) + Eg) * Eg + 4 * u * v  # v0 >= 0: every term of v is positive
    fm = (1 - b1) * fg + tiny
    fv = (1 - b2) * (2 * float(np.max(np.abs(g) + Eg, initial=0)) + fg) * fg + tiny
    bc1, bc2 = 1 - b1**t, 1 - b2**t
    rel1, rel2 = us + ULPS * us * b1**t / bc1, us + ULPS * us * b2**t / bc2  # 1 - beta^t: pow, then cancellation
    c2, rel_c2 = np.sqrt(bc2), rel2 / 2 + us + u
    r, Er, fr = sqrt_bound(v, Ev, fv, u)
    D = r / c2 + eps  # the denominator
    q, Eq, fq = quotient(m, Em, fm, D, Er / c2 + r / c2 * (rel_c2 + u) + u * D, fr / c2, u)
    Eq = np.minimum(Eq, adam_quotient_bound(b1, b2, m0, v0, g, Eg, c2, rel_c2, eps, u))
    Eq, fq = step_cap(Eq, fq, 2 * adam_ratio(b1, b2, t) * bc1, u, from_zero)  # |m / (sqrt(v)/c2 + eps)| <= K_t bc1
    s = lr / bc1
    Enew = Ep1 + s * Eq + s * np.abs(q) * (rel1 + us + 3 * u) + u * (np.abs(p1) + s * np.abs(q))
    return (Em, fm), (Ev, fv), (Enew, s * fq + tiny)


def clipped_grads(spec, names, grads, u, tiny):
    """{name: (g, E, floor)} of the gradients after clipping (spec's clip_value or clip_norm), from the raw
    ones {name: (G, E, floor)}, as the update reads them.
      clip_value  clamp(g, -C, C) is 1-Lipschitz and lands in [-C, C]: E stays, at most 2C, and 0 where every
                  correct side's g is beyond C on the same side (|g| - 2E > C); plus u|g| for C's rounding.
      clip_norm   g c, c = min(1, M / (N + 1e-6)), N the 2-norm of all gradients: every element moves with the
                  norm. N is within ||E||_2 (the triangle inequality) plus its rounding (gamma_n + 3u) N; c within
                  c E_d / (d - E_d) + u c for d = N + 1e-6 (E_d = E_N + u d); min(1, .) is 1-Lipschitz, and exact
                  (0) where c is beyond 1 by more than its error. E' = c E + E_c (|g| + E) + u c |g|."""
    C, M = setting(spec, "clip_value", None), setting(spec, "clip_norm", None)
    if C is not None:
        return {
            n: (np.clip(G, -C, C), np.minimum(E, 2 * C) + u * np.minimum(np.abs(G), C), f)
            for n, (G, E, f) in grads.items()
        }
    if M is None:
        return grads
    N = float(np.sqrt(sum(np.vdot(G, G) for G, _, _ in grads.values())))
    n = sum(G.size for G, _, _ in grads.values())
    EN = float(np.sqrt(sum(np.vdot(E + f, E + f) for _, E, f in grads.values())))
    EN += (gamma(n, u) + 3 * u) * N + np.sqrt(n) * tiny
    d = N + 1e-6
    Ed = EN + u * d
    c_raw = M / d
    Ec = c_raw * Ed / (d - Ed) + u * c_raw if d > Ed else np.inf
    c, Ec = (1.0, 0.0) if c_raw - Ec > 1 else (min(c_raw, 1.0), Ec)
    return {
        n: (c * G, c * E + Ec * (np.abs(G) + E) + u * c * np.abs(G), c * f + Ec * f + tiny)
        for n, (G, E, f) in grads.items()
    }


def step_bounds(spec, pre, X, Y, ref, u, domain=None, zeros=None):
    """spec: dict(sizes, activation, output, loss, l2, l1, l2_divisor, bias_penalty, reduction, loss_scale, bias,
                  leaky_slope, norm, bn_momentum, bn_variance, bn_running_variance, bn_eps, ln_eps, dropout,
                  dropout_form, embedding, optimizer, hyper, momentum_form, clip_value, clip_norm, prob_clip) --
                  the model's settings are handmade.ModelConfig's (a missing layer setting: no such layer); hyper
                  is torch's param_groups[0] without 'params' (lr, momentum, dampening, nesterov, weight_decay; or
                  lr, betas, eps, weight_decay, amsgrad False, maximize False; or rmsprop's lr, alpha, eps,
                  momentum, centered, weight_decay; or adagrad's lr, lr_decay, eps, weight_decay); momentum_form
                  'torch' (the default), 'ema' or 'velocity' for sgd; clip_value or clip_norm (None: no clipping)
                  the gradient clipping before the update; prob_clip the loss value's probability clipping (None);
                  moments_from_zero True when Adam's state was built by Adam from zero moments (a lockstep run's)
    pre:  {'params': {name: array}, 'state': {name: {key: array or float}}, 'buffers': {name: array}}  the exact
          state before the step (torch state keys: momentum_buffer; step, exp_avg, exp_avg_sq; square_avg,
          grad_avg; sum; the momentum forms' exp_avg, velocity; the buffers the norms' running statistics, init
          0 and 1 where missing)
    X (m, n_in), or integer tokens (m, k) with an embedding, and Y (m, k) one-hot floats: exact inputs
    ref:  the reference's tensors after the step, as the twin's reference_tensors() gives them: every recorded
          tensor of docs/layers.md by name ('layers.{i}.z', 'layers.{i}.norm.xhat', 'layers.{i}.dropout.mask',
          'embedding.out', ..., 'layers.{i}.dz', 'layers.{i}.da', 'layers.{i}.norm.dout', ...), 'loss' (float),
          the gradients 'grad:NAME', the new parameters by name and their state 'NAME.KEY', and the eval-mode
          forward 'eval:NAME' (with a norm or dropout)
    u:    unit roundoff of the arithmetic to bound (np.finfo(dtype).eps / 2)
    Returns {(phase, name): E} for every tensor of lockstep.sides.plan (forward, loss, backward tensors and the
    gradients by parameter name, optimizer state 'NAME.KEY', updated parameters, eval), each E a float64 array of
    the tensor's shape (a float for the loss). Also ('backward', 'layers.{i}.da') of every hidden layer. Where an
    input is NaN or inf, E is inf.
    output is the resolved output activation; l2_divisor None means the batch size m (or l2_norm 'batch',
    'dataset' with n_train, 'none' may be given instead), the divisor of both penalties; bias_penalty puts them on
    the biases too; reduction 'mean' or 'sum'; leaky_slope is leaky_relu's.
    The reference's 'loss' is not needed. domain, a dict if given, receives {(phase, name): bool array} of the
    elements where rounding may take any correct implementation out of a formula's domain (a NaN there is a blow-up
    of the formula, not a difference: centered RMSprop's sqrt(s - a^2)). zeros, a dict if given, receives {('update',
    name): bool array} of the weights whose gradient is exactly 0 by construction at this step: an affine layer
    before a batch norm, from an exact input (X, the embedding's rows) constant over the batch, x_j = c, has dW[:, j]
    = c sum dz = 0 as its bias has (no penalty or coupled weight decay adding to it); what a side's update does
    there is rounding's choice (judge.bound_floor)."""
    h = spec["hyper"]
    if h.get("maximize") or h.get("amsgrad"):
        raise NotImplementedError("maximize and amsgrad are not bounded")
    f64 = lambda x: np.ascontiguousarray(x, dtype=np.float64)  # noqa: E731  (one layout: fast elementwise work)
    tiny, work = tiny_for(u), np.float64 if u >= U64 else np.longdouble
    L, m, bias = len(spec["sizes"]) - 1, len(X), setting(spec, "bias", True)
    slope = setting(spec, "leaky_slope", layers.LEAKY_SLOPE)
    hidden_fwd, hidden_bwd = activation(spec["activation"], slope)
    norm, p_drop = setting(spec, "norm", "none"), setting(spec, "dropout", 0.0)
    form, embedding = setting(spec, "dropout_form", "inverted"), spec.get("embedding")
    P = {name: f64(p) for name, p in pre["params"].items()}
    buffers = pre.get("buffers") or {}
    Y = f64(Y)
    E, floor, act, absW, inputs, norms = {}, {}, {}, {}, {}, {}  # E without the underflow floors; floor: a number
    with np.errstate(all="ignore"):
        if embedding:  # C[X]: a gather, exact
            x, Ex, fx = f64(ref["embedding.out"]), None, 0.0
            E["forward", "embedding.out"], floor["forward", "embedding.out"] = np.zeros_like(x), 0.0
        else:
            x, Ex, fx = f64(X), None, 0.0  # layer input (m, n_in), its error and floor
        for i in range(L):  # forward
            inputs[i] = (x, Ex, fx)
            name, hidden = f"layers.{i}", i < L - 1
            z, a = f64(ref[f"{name}.z"]), f64(ref[f"{name}.a"])
            absW[i] = np.abs(P[f"{name}.weight"])  # (n_i, n_{i-1})
            n = absW[i].shape[1] + bias
            g = gamma(n, u)
            Ez = (g * np.abs(x) if Ex is None else g * np.abs(x) + (1 + 2 * g) * Ex) @ absW[i].T  # (m, n_i)
            Ez += g * np.abs(P[f"{name}.bias"]) if bias else 0
            fz = (n + 1) * tiny + (1 + 2 * g) * fx * float(absW[i].sum(axis=1).max())
            E["forward", f"{name}.z"], floor["forward", f"{name}.z"] = Ez, fz
            v, Ev = z, Ez + fz  # what the activation takes
            if norm != "none" and hidden:  # the norm's statistics, xhat and out (and running statistics)
                before = (buffers.get(f"{name}.norm.running_mean", 0.0), buffers.get(f"{name}.norm.running_var", 1.0))
                got = ops.norm_forward_bounds(
                    norm, z, Ev, P[f"{name}.norm.weight"], P[f"{name}.norm.bias"], spec, u, tiny, before
                )
                norms[i] = got.pop("cache")
                for key, (_, Ek) in got.items():
                    E["forward", f"{name}.norm.{key}"], floor["forward", f"{name}.norm.{key}"] = Ek, 0.0
                v, Ev = f64(ref[f"{name}.norm.out"]), got["out"][1]
            if hidden or spec["output"] != "softmax":
                fwd = hidden_fwd if hidden else activation(spec["output"], slope)[0]
                Ea = elementwise(fwd, [v], [Ev], u, work)[0]
            else:
                Ea = softmax_bound(v, a, Ev, u)[0]
            E["forward", f"{name}.a"], floor["forward", f"{name}.a"] = Ea, ULPS * tiny
            act[i] = (v, Ev, a, Ea + ULPS * tiny)
            x, Ex, fx = a, Ea, ULPS * tiny
            if p_drop and hidden:  # an exact mask, and a scale
                mask = f64(ref[f"{name}.dropout.mask"])
                E["forward", f"{name}.dropout.mask"], floor["forward", f"{name}.dropout.mask"] = 0 * mask, 0.0
                Eo = ops.dropout_bounds(a, Ea + fx, mask, p_drop, form, True, u, tiny)
                E["forward", f"{name}.dropout.out"], floor["forward", f"{name}.dropout.out"] = Eo, 0.0
                x, Ex, fx = f64(ref[f"{name}.dropout.out"]), Eo, 0.0

        z, Ez, a, Ea = act[L - 1]
        EL, Edz, Eda = output_bounds(spec, z, a, Ez, Ea, Y, u, tiny, work)
        fdz = 0.0
        d = penalty_divisor(spec, m)
        penalties = setting(spec, "l1", 0.0) or setting(spec, "l2", 0.0)
        biases = bias and setting(spec, "bias_penalty", False)
        penalized = [f"layers.{i}.{k}" for i in range(L) for k in (("weight", "bias") if biases else ("weight",))]
        if penalties:  # the penalties, and the rounding of adding them to the data loss
            EL += penalty_bound(spec, [P[name] for name in penalized], d, u, tiny)
        E["loss", "loss"], floor["loss", "loss"] = EL, 0.0
        if Eda is not None:
            E["backward", f"layers.{L - 1}.da"], floor["backward", f"layers.{L - 1}.da"] = Eda, 0.0

        for i in range(L - 1, -1, -1):  # backward
            W, dz = P[f"layers.{i}.weight"], f64(ref[f"layers.{i}.dz"])
            x, Ex, fx = inputs[i]
            g = gamma(m, u)
            T = g * np.abs(dz) + (1 + 2 * g) * Edz  # (m, n_i)
            absx = np.abs(x)  # (m, n_{i-1})
            before_bn = i in norms and norm == "batchnorm"
            if before_bn:  # dz sums to exactly 0 over the batch: its errors reach dW only through x - mean(x)
                z_i = f64(ref[f"layers.{i}.z"])
                Ez_i = E["forward", f"layers.{i}.z"] + floor["forward", f"layers.{i}.z"]
                dh = f64(ref[f"layers.{i}.norm.dout"])
                Edh = E["backward", f"layers.{i}.norm.dout"] + floor["backward", f"layers.{i}.norm.dout"]
                B = ops.batchnorm_sum_bound(norms[i], dh, Edh, z_i, Ez_i, u, tiny)
                EdW, Edb = ops.batchnorm_affine_grad_bounds(B, dz, Edz, x, Ex, u)
                coupled = spec["optimizer"] != "adamw" and not h.get("decoupled_weight_decay")
                bare = not penalties and not (coupled and h.get("weight_decay"))
                if zeros is not None and Ex is None and bare:  # a constant input feature: its column's dW is 0
                    constant = np.ptp(x, axis=0) == 0  # (n_{i-1},)
                    if constant.any():
                        zeros["update", f"layers.{i}.weight"] = np.broadcast_to(constant, W.shape)
            else:
                EdW, Edb = T.T @ absx, T.sum(axis=0)  # (n_i, n_{i-1}), (n_i,)
                if Ex is not None:
                    EdW += (2 * T + np.abs(dz) + Edz).T @ Ex
            fdW = (m + 2) * tiny + (1 + 2 * g) * fdz * float(absx.sum(axis=0).max(initial=0))
            if Ex is not None:
                fdW += (1 + 2 * g) * fdz * 2 * float(Ex.sum(axis=0).max()) + fx * float(
                    (2 * T + np.abs(dz) + Edz).sum(axis=0).max()
                )
            if penalties:
                EdW = penalty_grad_bound(spec, d, W, f64(ref[f"grad:layers.{i}.weight"]), EdW, u)
            E["backward", f"layers.{i}.dz"], floor["backward", f"layers.{i}.dz"] = Edz, fdz
            E["backward", f"layers.{i}.weight"], floor["backward", f"layers.{i}.weight"] = EdW, fdW
            if bias:
                E["backward", f"layers.{i}.bias"] = Edb
                if penalties and biases:
                    b = P[f"layers.{i}.bias"]
                    G = f64(ref[f"grad:layers.{i}.bias"])
                    E["backward", f"layers.{i}.bias"] = penalty_grad_bound(spec, d, b, G, Edb, u)
                floor["backward", f"layers.{i}.bias"] = (m + 1) * tiny + (1 + 2 * g) * m * fdz
            go = gamma(W.shape[0], u)
            Eda = (go * np.abs(dz) + (1 + 2 * go) * Edz) @ absW[i]  # (m, n_{i-1}): dL/d(the layer's input)
            fda = (W.shape[0] + 1) * tiny + (1 + 2 * go) * fdz * float(absW[i].sum(axis=0).max())
            if not i:
                if embedding:  # dL/d embedding.out, and its scatter-add into C's rows
                    E["backward", "embedding.dout"], floor["backward", "embedding.dout"] = Eda, fda
                    dout = f64(ref["embedding.dout"])
                    EdC = ops.embedding_backward_bound(np.asarray(X), dout, Eda + fda, embedding[0], u)
                    E["backward", "embedding.weight"], floor["backward", "embedding.weight"] = EdC, 0.0
                continue
            below = f"layers.{i - 1}"
            if p_drop:  # dL/d dropout.out, then the mask and 1/keep reapplied
                E["backward", f"{below}.dropout.dout"], floor["backward", f"{below}.dropout.dout"] = Eda, fda
                mask, dout = f64(ref[f"{below}.dropout.mask"]), f64(ref[f"{below}.dropout.dout"])
                Eda, fda = ops.dropout_backward_bound(dout, Eda + fda, mask, p_drop, form, u, tiny), 0.0
            da = f64(ref[f"{below}.da"]) if f"{below}.da" in ref else dz @ W
            E["backward", f"{below}.da"], floor["backward", f"{below}.da"] = Eda, fda
            Edz, fdz = backward_bound(hidden_bwd, da, Eda, fda, *act[i - 1], u, tiny, work)
            if i - 1 in norms:  # dL/d norm.out, then the batch-coupled backward
                E["backward", f"{below}.norm.dout"], floor["backward", f"{below}.norm.dout"] = Edz, fdz
                dh = f64(ref[f"{below}.norm.dout"])
                (_, Edz), (Edw, Edb) = ops.norm_backward_bounds(norms[i - 1], dh, Edz + fdz, u, tiny)
                fdz = 0.0
                E["backward", f"{below}.norm.weight"], floor["backward", f"{below}.norm.weight"] = Edw, 0.0
                E["backward", f"{below}.norm.bias"], floor["backward", f"{below}.norm.bias"] = Edb, 0.0

        names = [name for name in P if ("backward", name) in E]  # every parameter, in torch's order
        grads = {name: (f64(ref[f"grad:{name}"]), E["backward", name], floor["backward", name]) for name in names}
        grads = clipped_grads(spec, names, grads, u, tiny)  # the update reads the clipped gradients
        new = {}
        for name in names:  # optimizer, then update
            p, state = P[name], pre["state"].get(name, {})
            state = {k: (f64(v) if k != "step" and v is not None else v) for k, v in state.items()}
            if spec["optimizer"] == "sgd":
                keys, new[name] = sgd_bounds(
                    h, p, *grads[name], state, u, tiny, setting(spec, "momentum_form", "torch")
                )
            elif spec["optimizer"] in OPTIMIZER_BOUNDS:
                keys, new[name], risk = OPTIMIZER_BOUNDS[spec["optimizer"]](h, p, *grads[name], state, u, tiny)
                if domain is not None and risk is not None:  # where a correct side may leave a formula's domain
                    domain["update", name] = risk
                    domain.update({("optimizer", f"{name}.{key}"): risk for key in keys if key == "momentum_buffer"})
            else:
                decoupled = spec["optimizer"] == "adamw" or bool(h.get("decoupled_weight_decay"))
                from_zero = bool(spec.get("moments_from_zero"))
                mom, sq, new[name] = adam_bounds(h, decoupled, p, *grads[name], state, u, tiny, from_zero)
                keys = {"exp_avg": mom, "exp_avg_sq": sq}
            for key, (Ek, fk) in keys.items():
                E["optimizer", f"{name}.{key}"], floor["optimizer", f"{name}.{key}"] = Ek, fk
        for name in names:
            E["update", name], floor["update", name] = new[name]

        params = set(names)
        for (phase, name), value in E.items():  # add the floor; inf where the bound or the reference is not finite
            key = f"grad:{name}" if phase == "backward" and name in params else name
            tensor = np.asarray(ref.get(key, 0.0))
            value = value + floor[phase, name] if phase == "loss" else np.add(value, floor[phase, name], out=value)
            if not (np.isfinite(np.sum(value)) and np.isfinite(np.sum(tensor))):  # a sum is NaN or inf if any is
                value = np.where(np.isfinite(value) & np.isfinite(tensor), value, np.inf)
            E[phase, name] = float(value) if phase == "loss" else value
        if norm != "none" or p_drop:
            for key, value in eval_bounds(spec, X, ref, E, u, tiny, work).items():
                tensor = np.asarray(ref.get(f"eval:{key[1]}", 0.0))
                E[key] = np.where(np.isfinite(tensor) & ~np.isnan(value), value, np.inf)
    return E


def eval_bounds(spec, X, ref, E, u, tiny, work):
    """{('eval', name): E} of the eval-mode forward after the step (running statistics, no dropout), as predict()
    computes it: from the updated parameters and running statistics, whose bounds E holds, and the exact X."""
    f64 = lambda x: np.ascontiguousarray(x, dtype=np.float64)  # noqa: E731
    L, bias, slope = len(spec["sizes"]) - 1, setting(spec, "bias", True), setting(spec, "leaky_slope", 0.01)
    norm, p_drop, form = setting(spec, "norm", "none"), setting(spec, "dropout", 0.0), spec.get("dropout_form")
    hidden_fwd = activation(spec["activation"], slope)[0]
    out = {}
    if spec.get("embedding"):  # the updated table's rows: a gather of their bounds
        tokens = np.asarray(X)
        x = f64(ref["eval:embedding.out"])
        Ex = E["update", "embedding.weight"][tokens].reshape(x.shape)
        out["eval", "embedding.out"] = Ex
    else:
        x, Ex = f64(X), np.zeros(np.shape(X))
    for i in range(L):
        name, hidden = f"layers.{i}", i < L - 1
        W, EW = f64(ref[f"{name}.weight"]), E["update", f"{name}.weight"]
        g = gamma(W.shape[1] + bias, u)
        Wg = np.abs(W) + 2 * EW
        Ez = (g * grown(x, Ex) + Ex) @ Wg.T + (np.abs(x) + Ex) @ EW.T + (W.shape[1] + 2) * tiny  # (m, n_i)
        if bias:
            b, Eb = f64(ref[f"{name}.bias"]), E["update", f"{name}.bias"]
            Ez += g * grown(b, Eb) + Eb
        z, a = f64(ref[f"eval:{name}.z"]), f64(ref[f"eval:{name}.a"])
        out["eval", f"{name}.z"] = Ez
        h, Eh = z, Ez
        if norm != "none" and hidden:
            weight, bias_ = (f64(ref[f"{name}.norm.{k}"]) for k in ("weight", "bias"))
            Ew, Eb = E["update", f"{name}.norm.weight"], E["update", f"{name}.norm.bias"]
            if norm == "batchnorm":
                keys = (f"{name}.norm.running_mean", f"{name}.norm.running_var")
                running = tuple(f64(ref[k]) for k in keys)
                got = ops.norm_eval_bounds(
                    z, Ez, running, [E["forward", k] for k in keys], weight, Ew, bias_, Eb, spec, u, tiny
                )
            else:
                got = ops.norm_forward_bounds(norm, z, Ez, weight, bias_, spec, u, tiny, None, Ew, Eb)
                got.pop("cache")
            out.update({("eval", f"{name}.norm.{k}"): Ek for k, (_, Ek) in got.items()})
            h, Eh = f64(ref[f"eval:{name}.norm.out"]), got["out"][1]
        if hidden or spec["output"] != "softmax":
            fwd = hidden_fwd if hidden else activation(spec["output"], slope)[0]
            Ea = elementwise(fwd, [h], [Eh], u, work)[0] + ULPS * tiny
        else:
            Ea = softmax_bound(h, a, Eh, u)[0] + ULPS * tiny
        out["eval", f"{name}.a"] = Ea
        x, Ex = a, Ea
        if p_drop and hidden:
            Ex = out["eval", f"{name}.dropout.out"] = ops.dropout_bounds(a, Ea, None, p_drop, form, False, u, tiny)
            x = f64(ref[f"eval:{name}.dropout.out"])
    return out


# optimizer -> (h, p, G, E_G, floor, state, u, tiny) -> (states' bounds, the update's, its domain mask or None)
OPTIMIZER_BOUNDS = {"rmsprop": rmsprop_bounds, "adagrad": adagrad_bounds}  # sgd and adam/adamw: above


def excess(ours, ref, E_ours, E_ref):
    """max over elements of |ours - ref| / (E_ours + E_ref), with 0/0 = 0 and x/0 = inf for x > 0."""
    ours, ref = np.asarray(ours), np.asarray(ref)
    bound = np.asarray(E_ours, dtype=np.float64) + np.asarray(E_ref, dtype=np.float64)
    with np.errstate(all="ignore"):
        ratio = np.abs(ours - ref) / bound
        worst = float(np.max(ratio, initial=0.0))
        if np.isfinite(worst):  # no NaN (0/0, inf - inf) and no x/0 anywhere
            return worst
        diff = np.where(ours == ref, 0.0, np.abs(ours - ref))  # equal infs differ by nothing
        diff = np.where(np.isnan(diff), np.inf, diff)
        ratio = np.where(diff == 0, 0.0, np.where(bound > 0, diff / np.where(bound > 0, bound, 1), np.inf))
    return float(np.max(ratio, initial=0.0))


def detection_floor(E_ours, E_ref, ref):
    """max (E_ours + E_ref) / max |ref|: the smallest relative difference of the tensor that cannot be rounding."""
    scale = float(np.max(np.abs(np.asarray(ref, dtype=np.float64)), initial=0.0))
    worst = float(np.max(np.asarray(E_ours, dtype=np.float64) + np.asarray(E_ref, dtype=np.float64), initial=0.0))
    return worst / scale if scale > 0 else np.inf
