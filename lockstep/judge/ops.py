"""The rounding bounds of single ops, for one layer alone (a check of a user's batchnorm_forward/backward pair) or
inside step_bounds(): products, sums and dot products, a batch's or a sample's mean and variance, batch norm and
layer norm (forward, running statistics, the batch-coupled backward), dropout and the embedding.

Each function takes the reference's values and the bound E of each input (|computed - exact| for any correct
implementation, underflow included) and returns its results with theirs, as the rest of the judge does (docs/
judging.md, section 5, derives each one). Arrays are float64; u is the unit roundoff of the arithmetic bounded.
"""

import numpy as np

ULPS = 8  # a library function or short formula is within ULPS u of its result (4 ulps): exp, log, sqrt, rsqrt
U64 = float(np.finfo(np.float64).eps) / 2
WELFORD = 3  # the updating (Welford) variance's error, WELFORD n kappa u of the sum of squares (Chan et al. 1983)


def gamma(n, u):
    """gamma_n = n u / (1 - n u): relative error bound of a sum or dot product of n terms, in any order (n may be
    an array: a count per row)."""
    n = np.asarray(n, dtype=np.float64)
    out = np.where(n * u < 1, n * u / np.where(n * u < 1, 1 - n * u, 1), np.inf)
    return float(out) if out.ndim == 0 else out


def tiny_for(u):
    """The smallest normal number of the format with unit roundoff u (of the finest format at least as coarse)."""
    formats = [np.finfo(t) for t in (np.float16, np.float32, np.float64, np.longdouble)]
    fits = [f for f in formats if float(f.eps) / 2 >= u]
    return float(min(fits, key=lambda f: f.eps).smallest_normal) if fits else float(formats[0].smallest_normal)


def grown(x, E):
    """|x| + 2E: the magnitude of what a computing side holds, within 2E of the reference's (through the exact)."""
    return np.abs(x) + 2 * E


def product_bound(a, Ea, b, Eb, u, tiny=0.0):
    """E of a * b (elementwise, broadcast): u (|a| + 2Ea)(|b| + 2Eb) + Ea (|b| + 2Eb) + (|a| + Ea) Eb + tiny."""
    return u * grown(a, Ea) * grown(b, Eb) + Ea * grown(b, Eb) + (np.abs(a) + Ea) * Eb + tiny


def sum_bound(t, Et, axis, u):
    """(S, E) of S = the sum of t over axis (kept), n terms: gamma_n sum (|t| + 2 Et) + sum Et. Additions never
    underflow (a sum that is subnormal is exact)."""
    n = t.shape[axis]
    S = t.sum(axis=axis, keepdims=True)
    return S, gamma(n - 1, u) * grown(t, Et).sum(axis=axis, keepdims=True) + Et.sum(axis=axis, keepdims=True)


def dot_bound(a, Ea, b, Eb, axis, u, tiny):
    """(S, E) of S = the sum over axis (kept) of a * b, n products: gamma_n sum (|a|+2Ea)(|b|+2Eb) + the inputs'
    errors sum Ea (|b| + 2Eb) + (|a| + Ea) Eb, plus n tiny for the products' underflow."""
    n = a.shape[axis] if a.ndim >= b.ndim else b.shape[axis]
    S = (a * b).sum(axis=axis, keepdims=True)
    moved = (Ea * grown(b, Eb) + (np.abs(a) + Ea) * Eb).sum(axis=axis, keepdims=True)
    return S, gamma(n, u) * (grown(a, Ea) * grown(b, Eb)).sum(axis=axis, keepdims=True) + moved + n * tiny


def mean_bound(t, Et, axis, u):
    """(mean, E, E of the rounding alone) over axis (kept): the sum's bound over n, plus the division's u."""
    n = t.shape[axis]
    S, ES = sum_bound(t, Et, axis, u)
    mean, Em = S / n, ES / n
    rounding = gamma(n - 1, u) * grown(t, Et).mean(axis=axis, keepdims=True) + u * grown(mean, Em)
    return mean, Em + u * grown(mean, Em), rounding


def moments_bounds(z, Ez, axis, u):
    """{mean, E_mean, ss, E_ss, n} of z (m, n) over axis (kept): its mean and sum of squares about the mean.

    The inputs' errors: ss = |P z|^2 with P the projection that removes the mean, so ss(z + e) - ss(z) is
    2 (z - mean) . e + e^T P e: at most 2 sum (|d| + Ez + E_mean) Ez + sum Ez^2, d = z - mean.
    The rounding, for any of the usual algorithms: the two-pass sum of (z - mean_hat)^2 is ss + n (mean_hat -
    mean)^2 (the cross term sums to 0), each square and the sum rounding by gamma_{n+2}; so gamma_{n+2} (ss +
    n r^2) + n r^2, r the rounding of mean_hat. The updating (Welford) algorithms, as torch.var and layer norm's
    kernel use, round by about n kappa u ss, kappa = sqrt(1 + n mean^2 / ss) (Chan, Golub and LeVeque 1983):
    WELFORD gamma_n sqrt(ss (ss + n mean^2)). Where |mean| is large against the spread, both terms grow with it:
    the cancellation in z - mean."""
    n = z.shape[axis]
    mean, Emean, r = mean_bound(z, Ez, axis, u)
    d = z - mean
    ss = (d * d).sum(axis=axis, keepdims=True)
    E_in = 2 * ((np.abs(d) + Ez + Emean) * Ez).sum(axis=axis, keepdims=True) + (Ez * Ez).sum(axis=axis, keepdims=True)
    big = ss + E_in
    spread = np.sqrt(big * (big + n * (np.abs(mean) + Emean) ** 2))
    E_round = gamma(n + 2, u) * (big + n * r * r) + n * r * r + WELFORD * gamma(n, u) * spread
    return dict(mean=mean, E_mean=Emean, ss=ss, E_ss=E_in + E_round, n=n)


def variance_bound(moments, divisor, u):
    """(var, E) of ss / divisor: the sum of squares' bound over the divisor, and the division's u."""
    var = moments["ss"] / divisor
    Ev = moments["E_ss"] / divisor
    return var, Ev + u * grown(var, Ev)


def rstd_bound(var, Evar, eps, u):
    """(rstd, E) of 1 / sqrt(var + eps): the addition's u (eps rounded to the dtype is within it); then rstd moves
    by at most rstd (v - 2 E_v)^(-1/2) v^(1/2) - rstd over the box of twice the error (it is convex and
    decreasing), inf where v - 2 E_v <= 0; plus the square root's and the division's ULPS u."""
    v = var + eps
    Ev = Evar + u * grown(v, Evar)
    rstd = 1 / np.sqrt(v)
    ratio = np.minimum(2 * Ev / v, 1.0)
    with np.errstate(divide="ignore", over="ignore"):
        moved = rstd * np.expm1(-0.5 * np.log1p(-ratio))  # rstd ((1 - 2 E_v / v)^(-1/2) - 1); inf at ratio 1
    return rstd, moved + ULPS * u * (rstd + moved)


def normalize_bounds(z, Ez, mean, Emean, var, Evar, eps, weight, Eweight, bias, Ebias, u, tiny):
    """{rstd, E_rstd, d, E_d, xhat, E_xhat, out, E_out} of xhat = (z - mean) rstd and out = weight xhat + bias.

    d = z - mean rounds by u |d|; xhat and weight xhat are products; out adds bias. torch's kernels compute the
    same maths as z (weight rstd) + (bias - mean weight rstd) (batch norm) or (z rstd - mean rstd) weight + bias
    (layer norm), whose roundings are within 3u (|z| + |mean|) rstd |weight| + u |bias| more: added."""
    rstd, Erstd = rstd_bound(var, Evar, eps, u)
    d = z - mean  # (m, n)
    Ed = Ez + Emean + u * grown(d, Ez + Emean)
    xhat, Exhat = d * rstd, product_bound(d, Ed, rstd, Erstd, u, tiny)
    p, Ep = weight * xhat, product_bound(weight, Eweight, xhat, Exhat, u, tiny)
    out = p + bias
    Eout = Ep + Ebias + u * (grown(p, Ep) + grown(bias, Ebias))
    forms = 3 * u * (np.abs(z) + np.abs(mean) + Ez + Emean) * (rstd + Erstd) * (np.abs(weight) + Eweight)
    Eout = Eout + forms + u * grown(bias, Ebias)
    return dict(rstd=rstd, E_rstd=Erstd, d=d, E_d=Ed, xhat=xhat, E_xhat=Exhat, out=out, E_out=Eout)


def norm_forward_bounds(kind, z, Ez, weight, bias, settings, u, tiny, running=None, Eweight=0.0, Ebias=0.0):
    """The forward of a norm in training, for z (m, n) with errors Ez: {name: (value, E)} of mean, var, xhat, out
    (and, for batch norm, running_mean and running_var after the update from `running`, the exact (mean, var)
    before it), and 'cache' for norm_backward_bounds. kind 'batchnorm' (statistics over the batch, axis 0) or
    'layernorm' (over the features, axis 1, biased); settings: bn_variance, bn_running_variance, bn_momentum,
    bn_eps, ln_eps (handmade.ModelConfig's names, torch's defaults where missing)."""
    get = lambda k, default: default if settings.get(k) is None else settings[k]  # noqa: E731
    axis = 0 if kind == "batchnorm" else 1
    mo = moments_bounds(z, Ez, axis, u)
    m = z.shape[axis]
    if kind == "batchnorm":
        divisor = m - 1 if get("bn_variance", "biased") == "unbiased" else m
        eps = get("bn_eps", 1e-5)
    else:
        divisor, eps = m, get("ln_eps", 1e-5)
    var, Evar = variance_bound(mo, divisor, u)
    f = normalize_bounds(z, Ez, mo["mean"], mo["E_mean"], var, Evar, eps, weight, Eweight, bias, Ebias, u, tiny)
    squeeze = (lambda x: x[0]) if axis == 0 else (lambda x: x)  # batch norm's statistics are (n,), layer norm's (m, 1)
    out = dict(
        mean=(squeeze(mo["mean"]), squeeze(mo["E_mean"])),
        var=(squeeze(var), squeeze(Evar)),
        xhat=(f["xhat"], f["E_xhat"]),
        out=(f["out"], f["E_out"]),
    )
    if kind == "batchnorm":
        out.update(running_bounds(mo, m, running, settings, u, tiny))
    out["cache"] = dict(f, weight=weight, axis=axis, divisor=divisor)
    return out


def running_bounds(moments, m, running, settings, u, tiny):
    """{running_mean, running_var: (value, E)} of batch norm's update running = mom batch + (1 - mom) running
    (torch's momentum), the batch's variance over m - 1 (torch's) or m (bn_running_variance 'biased'): the batch
    statistic's error times mom, and 4u of each term (two products, a sum, and mom's own rounding to the dtype)."""
    mom = 0.1 if settings.get("bn_momentum") is None else settings["bn_momentum"]
    n_run = m if settings.get("bn_running_variance") == "biased" else m - 1
    rm0, rv0 = running if running is not None else (0.0, 1.0)
    mean, Emean = moments["mean"][0], moments["E_mean"][0]
    var, Evar = variance_bound(dict(ss=moments["ss"][0], E_ss=moments["E_ss"][0]), n_run, u)
    out = {}
    for key, stat, E, old in (("running_mean", mean, Emean, rm0), ("running_var", var, Evar, rv0)):
        new = mom * stat + (1 - mom) * old
        out[key] = (new, mom * E + 4 * u * (mom * grown(stat, E) + (1 - mom) * np.abs(old)) + tiny)
    return out


def norm_backward_bounds(cache, dout, Edout, u, tiny):
    """(dz, E_dz), (E_dweight, E_dbias) of a norm's backward in training, from dout = dL/d out (m, n) with
    errors Edout and the forward's cache: with g = weight dout and N the variance's divisor, over the statistic's
    axis, dz = (g - mean(g) - xhat sum(g xhat) / N) rstd; dweight = sum over the batch of dout xhat, dbias =
    sum of dout. Each product, sum and difference is bounded as above, the computing side's operands within twice
    their errors; the closed form's other arrangements (torch's (z - mean) rstd^2 dot(z - mean, g) / N, autograd's
    three separate terms) round within ULPS u of the three terms' magnitudes more: added."""
    axis, N, weight = cache["axis"], cache["divisor"], cache["weight"]
    xhat, Exhat, rstd, Erstd = cache["xhat"], cache["E_xhat"], cache["rstd"], cache["E_rstd"]
    _, Edbias = sum_bound(dout, Edout, 0, u)
    _, Edweight = dot_bound(dout, Edout, xhat, Exhat, 0, u, tiny)
    g = weight * dout  # (m, n)
    Eg = np.abs(weight) * Edout + u * np.abs(weight) * grown(dout, Edout) + tiny
    mg, Emg, _ = mean_bound(g, Eg, axis, u)
    S, ES = dot_bound(g, Eg, xhat, Exhat, axis, u, tiny)
    s, Es = S / N, ES / N + u * grown(S / N, ES / N)
    C, EC = xhat * s, product_bound(xhat, Exhat, s, Es, u, tiny)
    T = g - mg - C
    ET = Eg + Emg + EC + 2 * u * (grown(g, Eg) + grown(mg, Emg) + grown(C, EC))
    terms = (grown(g, Eg) + grown(mg, Emg) + grown(C, EC)) * (rstd + Erstd)
    dz = T * rstd
    Edz = product_bound(T, ET, rstd, Erstd, u, tiny) + ULPS * u * terms
    return (dz, Edz), (Edweight[0], Edbias[0])


def norm_eval_bounds(z, Ez, running, Erunning, weight, Eweight, bias, Ebias, settings, u, tiny):
    """Batch norm in eval mode: {name: (value, E)} of mean and var (the running statistics, with their errors),
    xhat and out, normalised by the running statistics."""
    (rm, rv), (Erm, Erv) = running, Erunning
    eps = 1e-5 if settings.get("bn_eps") is None else settings["bn_eps"]
    f = normalize_bounds(z, Ez, rm, Erm, rv, Erv, eps, weight, Eweight, bias, Ebias, u, tiny)
    return dict(mean=(rm, Erm), var=(rv, Erv), xhat=(f["xhat"], f["E_xhat"]), out=(f["out"], f["E_out"]))


def batchnorm_bounds(z, Ez, weight, bias, dout, Edout, settings, u, running=None):
    """One batch norm layer in training, forward and backward: {name: E} of mean, var, xhat, out, running_mean,
    running_var, dz, weight (its gradient) and bias (its gradient). z, dout (m, n) with errors Ez, Edout; weight
    and bias (n,) exact; running the (mean, var) before the step."""
    return _norm_bounds("batchnorm", z, Ez, weight, bias, dout, Edout, settings, u, running)


def layernorm_bounds(z, Ez, weight, bias, dout, Edout, settings, u):
    """One layer norm layer, forward and backward: {name: E} as batchnorm_bounds (without running statistics)."""
    return _norm_bounds("layernorm", z, Ez, weight, bias, dout, Edout, settings, u, None)


def _norm_bounds(kind, z, Ez, weight, bias, dout, Edout, settings, u, running):
    tiny = tiny_for(u)
    fwd = norm_forward_bounds(kind, z, Ez, weight, bias, settings, u, tiny, running)
    (_, Edz), (Edw, Edb) = norm_backward_bounds(fwd.pop("cache"), dout, Edout, u, tiny)
    return dict({k: E for k, (_, E) in fwd.items()}, dz=Edz, weight=Edw, bias=Edb)


# -- dropout: an exact 0/1 mask times a scale ------------------------------------------------------------------------
def dropout_bounds(a, Ea, mask, p, form, train, u, tiny):
    """E of dropout's output from a (m, n) with errors Ea. In training: a * (mask / keep) (inverted) or a * mask
    (classic). The mask is exact (0 or 1), so a dropped unit is exactly 0 everywhere; a kept one is a / keep,
    two roundings at most (mask / keep, then the product; or (a * mask) / keep), or a itself (classic). At test
    time: a (inverted), or a * keep (classic: keep rounded to the dtype and the product)."""
    keep = 1 - p
    if not train:
        return Ea if form == "inverted" else keep * Ea + 2 * u * keep * grown(a, Ea) + tiny
    if form == "classic":
        return mask * Ea
    return mask * (Ea / keep + 2 * u * grown(a, Ea) / keep + tiny)


def dropout_backward_bound(dout, Edout, mask, p, form, u, tiny):
    """E of dL/da = dL/dout * scale, the same mask and 1/keep reapplied (as dropout_bounds in training)."""
    return dropout_bounds(dout, Edout, mask, p, form, True, u, tiny)


# -- the embedding: an exact gather, and a scatter-add ---------------------------------------------------------------
def embedding_backward_bound(X, dout, Edout, V, u):
    """E of dC (V, D), the scatter-add of dout's rows (m, k * D) into C's rows X (m, k): row v is a sum of the
    n_v rows where token v occurs, gamma_{n_v} of their magnitudes plus their errors (a row no token uses is
    exactly 0). The lookup C[X] itself is exact: its error is 0."""
    D = dout.shape[1] // X.shape[1]
    rows, flat = X.ravel(), dout.reshape(-1, D)  # (m * k,), (m * k, D)
    counts = np.bincount(rows, minlength=V)  # (V,)
    big, err = np.zeros((V, D)), np.zeros((V, D))
    np.add.at(big, rows, grown(flat, Edout.reshape(-1, D)))
    np.add.at(err, rows, Edout.reshape(-1, D))
    return gamma(np.maximum(counts - 1, 0), u)[:, None] * big + err
