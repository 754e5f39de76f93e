"""What an optimizer computes on the way to its update, for the tracer of an update rule (lockstep/pieces/locate.py):
the gradient, the new state (torch's own tensors of the step), and the textbook intermediates in between (the
bias-corrected moments, the square root, the denominator, the step), each of one parameter, in torch's layout."""

import numpy as np

from ..config import optimizer_settings


def known(cfg, hyper, name, pre, ref, grad):
    """{intermediate: array} of parameter `name` at the step whose state before is pre (torch's keys) and whose
    tensors the twin holds in ref ('layers.0.weight', 'layers.0.weight.exp_avg', ...); grad the gradient the rule
    was given."""
    f = lambda a: np.asarray(a, dtype=np.float64)  # noqa: E731
    g, p0, lr = f(grad), f(pre["params"][name]), hyper["lr"]
    out = {"grad": g, "new": f(ref[name]), "grad^2": g * g, "lr*grad": lr * g}
    state = {k[len(name) + 1 :]: f(v) for k, v in ref.items() if k.startswith(name + ".") and np.ndim(v) > 0}
    out.update(state)
    before = pre["state"].get(name) or {}
    t = float(ref.get(f"{name}.step", 0.0) or 0.0)
    if cfg.optimizer in ("adam", "adamw"):
        (b1, b2), eps = hyper["betas"], hyper["eps"]
        m, v = state["exp_avg"], state["exp_avg_sq"]
        m_hat, v_hat = m / (1 - b1**t), v / (1 - b2**t)
        denom = np.sqrt(v_hat) + eps
        out.update(
            m_hat=m_hat,
            v_hat=v_hat,
            sqrt_v_hat=np.sqrt(v_hat),
            denom=denom,
            direction=m_hat / denom,
            step=lr * m_hat / denom,
            new_m_term=(1 - b1) * g,
            new_v_term=(1 - b2) * g * g,
            sqrt_v=np.sqrt(v),
        )
        for key, beta in (("exp_avg", b1), ("exp_avg_sq", b2)):
            if key in before:
                out[f"{key} kept"] = beta * f(before[key])
    elif cfg.optimizer == "rmsprop":
        s, eps = state["square_avg"], hyper["eps"]
        out.update(sqrt_s=np.sqrt(s), denom=np.sqrt(s) + eps, direction=g / (np.sqrt(s) + eps))
        out.update(step=lr * g / (np.sqrt(s) + eps), new_s_term=(1 - hyper["alpha"]) * g * g)
    elif cfg.optimizer == "adagrad":
        s, eps = state["sum"], hyper["eps"]
        out.update(sqrt_s=np.sqrt(s), denom=np.sqrt(s) + eps, direction=g / (np.sqrt(s) + eps))
    else:
        mu = optimizer_settings(cfg)["momentum"]
        out.update(step=p0 - out["new"], momentum_term=mu * f(next(iter(before.values()), np.zeros_like(g))))
    return out


# -- mistakes of update rules that the bug catalogue has no run for: predicted from the twin's step -------------
def _rmsprop_without_sqrt(cfg, h, p0, g, state):
    if cfg.optimizer != "rmsprop" or h.get("centered") or h.get("momentum"):
        return None
    return p0 - h["lr"] * g / (state["square_avg"] + h["eps"])


def _adam_t_stuck(cfg, h, p0, g, state):
    if cfg.optimizer != "adam" or h.get("weight_decay"):
        return None
    (b1, b2), t = h["betas"], 1 + float(optimizer_settings(cfg)["adam_t0"])
    m_hat, v_hat = state["exp_avg"] / (1 - b1**t), state["exp_avg_sq"] / (1 - b2**t)
    return p0 - h["lr"] * m_hat / (np.sqrt(v_hat) + h["eps"])


UPDATE_SUSPECTS = [  # (name, what the code does, prediction of the new parameter or None where it cannot apply)
    (
        "rmsprop-without-sqrt",
        "RMSprop divides by s + eps, not by sqrt(s) + eps: the square root of the cache is missing",
        _rmsprop_without_sqrt,
    ),
    (
        "adam-t-never-incremented",
        "Adam's bias correction uses the same t at every step: its counter is never incremented (t += 1 missing)",
        _adam_t_stuck,
    ),
]
