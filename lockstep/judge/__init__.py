"""What a difference means: the fixed tolerance (tolerance.py), the judge of a step with an excess (judge.py), the
running-error bounds it holds each element to (bounds.py), and the finite-difference gradient check
(gradcheck.py)."""
