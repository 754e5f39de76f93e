"""The results of a run as typed records: what the engine and the judge measure (StepRecord, Drift, Note, Verdict,
Element, Divergence, NonFinite), what the findings say (Finding), and what lockstep.check() returns (Result).

The report, the findings, the command line and the tests read their fields. Only to_dict() makes the JSON: its keys
are the JSON's, and a key that a kind of report does not have (`blow_up` of a run that did not blow up, the user's
terms of a divergence that was never described) is left out rather than written as null.
"""

from dataclasses import dataclass, field, replace


def _dict(x):
    """x.to_dict() for a record, a list of them, or None; anything else as it is."""
    if isinstance(x, list):
        return [_dict(v) for v in x]
    return x.to_dict() if hasattr(x, "to_dict") else x


@dataclass
class StepRecord:
    """One step: both losses, the largest errors under the fixed tolerance (inf where a value was NaN or inf), the
    largest relative error of each phase, how many tensors were compared, whether all agreed, and whether the twin
    was re-anchored after it (the judge called the excess rounding)."""

    step: int
    loss_side: float  # the side under test's loss ('handmade' in the JSON, whatever the side)
    loss_ref: float
    max_abs_err: float
    max_rel_err: float
    phase_rel_err: dict  # phase -> largest relative error
    tensors: int
    ok: bool
    drift: bool = False

    def to_dict(self):
        return dict(
            step=self.step,
            loss=dict(handmade=self.loss_side, reference=self.loss_ref),
            max_abs_err=self.max_abs_err,
            max_rel_err=self.max_rel_err,
            phase_rel_err=self.phase_rel_err,
            tensors=self.tensors,
            ok=self.ok,
            drift=self.drift,
        )


@dataclass
class Drift:
    """A step where the twin was re-anchored to the side under test, and why: 'accumulated' (the step re-run from
    one state agreed), 'rounding' (within the step's own rounding bound), 'own_rounding' (the side's own rounding,
    shown by extended precision) or 'float32_only' (an isolated float32 excess that float64 does not have)."""

    step: int
    kind: str
    local_rel_err: float

    def to_dict(self):
        return dict(step=self.step, kind=self.kind, local_rel_err=self.local_rel_err)


@dataclass
class Note:
    """A difference beyond torch's float64 rounding that vanished in extended precision: the side's own rounding."""

    step: int
    phase: str
    tensor: str
    rel_err: float
    tensors: list  # every tensor of the step that was beyond the bound, as 'phase name'


@dataclass
class Verdict:
    """One tensor's judgement: its relative error, the relative difference it is held to (the tolerance, or the
    rounding bound where the judge ran), and whether it agrees."""

    phase: str
    name: str
    rel_err: float
    threshold: float
    ok: bool
    how: str  # 'tolerance', 'rounding bound', 'extended precision'

    def to_dict(self):
        return dict(
            phase=self.phase,
            tensor=self.name,
            rel_err=self.rel_err,
            threshold=self.threshold,
            ok=self.ok,
            judged_by=self.how,
        )


@dataclass
class Element:
    """One element of a tensor, among its worst: where, both values, and the errors (rel_err = |difference| / the
    larger of the two values, 0 where both are 0); in_your_terms once the side has named it in the user's layout."""

    index: list
    side: float  # 'handmade' in the JSON
    ref: float
    abs_err: float
    rel_err: float
    in_your_terms: str | None = None
    described: bool = False

    def to_dict(self):
        out = dict(index=self.index, handmade=self.side, reference=self.ref, abs_err=self.abs_err, rel_err=self.rel_err)
        if self.described:
            out["in_your_terms"] = self.in_your_terms
        return out


@dataclass
class Divergence:
    """Where the side under test and the twin part: the first tensor that fails the judge, its worst elements, which
    tensors still agreed before it, which phases agree at that step, how it was checked, and every tensor's
    judgement (the step panel). describe() adds the tensor in the user's terms and the source line."""

    step: int
    phase: str
    tensor: str
    max_abs_err: float
    max_rel_err: float
    worst: list  # [Element], worst first
    agreeing_before: list  # ['phase name' (or 'loss')] of the tensors compared before it
    checked: str  # how: the dtype, and whether both sides started from one state
    phases: dict  # phase -> 'agree' or 'diverge'
    tensors: list  # [Verdict] in computation order
    float32_only: bool = False
    note: str | None = None  # what the ladder could not do, or why a float32 difference is not rounding
    in_your_terms: str | None = None
    source: dict | None = None  # the line of the user's file (lockstep/trace/) or the planted bug's
    described: bool = False  # in_your_terms and source were asked for (the first divergence of a report)

    @property
    def head(self):
        """The worst element, or an empty one (a tensor of the wrong shape has none)."""
        return self.worst[0] if self.worst else Element([], None, None, None, None)

    def describe(self, side, source):
        """A copy of this divergence in the user's terms (side.describe), with its source line, as a report shows it."""
        return replace(
            self,
            described=True,
            in_your_terms=side.describe(self.tensor, phase=self.phase) if self.phase != "loss" else None,
            source=source,
            worst=[
                replace(row, described=True, in_your_terms=side.describe(self.tensor, row.index, self.phase))
                for row in self.worst
            ],
        )

    def to_dict(self):
        h = self.head
        out = dict(
            step=self.step,
            phase=self.phase,
            tensor=self.tensor,
            index=h.index,
            handmade=h.side,
            reference=h.ref,
            abs_err=h.abs_err,
            rel_err=h.rel_err,
            max_abs_err=self.max_abs_err,
            max_rel_err=self.max_rel_err,
            worst=_dict(self.worst),
            agreeing_before=self.agreeing_before,
            checked=self.checked,
            float32_only=self.float32_only,
            phases=self.phases,
            note=self.note,
            tensors=_dict(self.tensors),
        )
        if self.described:
            out.update(in_your_terms=self.in_your_terms, source=self.source)
        return out


@dataclass
class NonFiniteAt:
    """The first non-finite tensor of one side, and the largest finite magnitude before it in that step."""

    phase: str
    tensor: str
    largest_before: tuple | None = None  # (tensor, value)

    def to_dict(self):
        big = self.largest_before
        return dict(phase=self.phase, tensor=self.tensor, largest_before=big and dict(tensor=big[0], value=big[1]))


@dataclass
class NonFinite:
    """The first NaN or inf of a run: where (the first of either side), on which side, whether the batch itself was
    finite, whether both sides went non-finite at the same tensor (a blow-up of training, with the step's record),
    and, for the float64 side alone, whether the same code stays finite in extended precision."""

    step: int
    phase: str
    tensor: str
    side: NonFiniteAt | None  # 'handmade' in the JSON
    ref: NonFiniteAt | None
    inputs_finite: bool
    same_place: bool
    blow_up: Divergence | None = None  # the step's record, when both blew up alike
    extended: dict | None = None  # {finite, value} or {skipped: why}, for the float64 side alone
    domain: bool = False  # one side only, where rounding may take any correct side out of a formula's domain
    range: bool = False  # one float32 side only, where the exact values reach float32's largest (judge.at_range_edge)

    def to_dict(self):
        out = dict(
            step=self.step,
            phase=self.phase,
            tensor=self.tensor,
            handmade=_dict(self.side),
            reference=_dict(self.ref),
            inputs_finite=self.inputs_finite,
            same_place=self.same_place,
        )
        if self.blow_up is not None:
            out["first_divergence"] = self.blow_up.to_dict()
        if self.extended is not None:
            out["extended"] = self.extended
        if self.domain:
            out["domain"] = True
        if self.range:
            out["range"] = True
        return out


@dataclass
class Finding:
    """What a measurement means: its code (lockstep/findings/findings.py lists them), one message for a person, the
    catalogue bug it names (suspect, bug_not_exposed) and the measured facts behind it, by the JSON's names."""

    code: str
    message: str
    bug: str | None = None
    facts: dict = field(default_factory=dict)

    def to_dict(self):
        out = dict(self.facts, code=self.code)
        if self.bug is not None:
            out["bug"] = self.bug
        out["message"] = self.message
        return out


@dataclass
class Identity:
    """How the report names the side under test: side ('handmade', 'handmade+bug' or 'candidate'), side_name,
    side_label (its column in the text report), the planted bug and the candidate (spec, form, layout, ...)."""

    side: str
    side_name: str
    side_label: str
    bug: str | None = None
    candidate: dict | None = None

    def to_dict(self):
        return dict(
            side=self.side, side_name=self.side_name, side_label=self.side_label, bug=self.bug, candidate=self.candidate
        )


@dataclass
class Result:
    """Everything lockstep.check() measured: the verdict and exit status, who was checked and how (the settings as
    used, the tolerance, the data), every step, the first divergence, the findings, the re-anchored steps, the
    detection floor per phase, both test accuracies and the time of each backend."""

    identity: Identity
    check: dict  # tensors (a step), phases
    config: dict  # the settings as used (Config.resolved)
    tolerance: dict  # loss, tensor
    data: dict  # name, n_train, n_test
    version: str
    verdict: str | None = None  # 'agree', 'diverge', 'blew_up' or 'inconclusive'
    exit_code: int | None = None
    first_divergence: Divergence | None = None
    findings: list = field(default_factory=list)  # [Finding]
    steps: list = field(default_factory=list)  # [StepRecord]
    drift: list = field(default_factory=list)  # [Drift]
    detection_floor: dict = field(default_factory=dict)  # phase -> the smallest relative difference it could see
    accuracy: dict = field(default_factory=dict)  # handmade, reference
    timing: dict = field(default_factory=dict)  # handmade_s, reference_s
    blow_up: Divergence | None = None  # the step where both blew up alike

    @property
    def dtype(self):
        return self.config["dtype"]

    def to_dict(self):
        out = dict(verdict=self.verdict, exit_code=self.exit_code, **self.identity.to_dict())
        out.update(
            check=self.check,
            config=self.config,
            tolerance=self.tolerance,
            data=self.data,
            version=self.version,
            first_divergence=_dict(self.first_divergence),
            findings=_dict(self.findings),
            steps=_dict(self.steps),
            drift=_dict(self.drift),
            detection_floor=self.detection_floor,
            accuracy=self.accuracy,
            timing=self.timing,
        )
        if self.blow_up is not None:
            out["blow_up"] = self.blow_up.to_dict()
        return out


# -- one piece at a time: a layer's forward/backward pair (lockstep/pieces/) -------------------------------------
@dataclass
class PieceVerdict:
    """One output of a piece (out, dx, dw, loss, ...) on one input case in one dtype: its relative error (as the
    tolerance measures it), the relative difference it was held to, whether it agrees, and how it was judged
    ('tolerance', 'rounding bound', 'extended precision', 'shape', 'non-finite')."""

    case: str
    dtype: str
    output: str
    rel_err: float
    threshold: float
    ok: bool
    how: str
    float32_only: bool = False
    note: str | None = None

    def to_dict(self):
        return dict(
            case=self.case,
            dtype=self.dtype,
            output=self.output,
            rel_err=self.rel_err,
            threshold=self.threshold,
            ok=self.ok,
            judged_by=self.how,
            float32_only=self.float32_only,
            note=self.note,
        )


@dataclass
class PieceDeparture:
    """Where one output of a piece first departs from torch's: the case and dtype, the shapes when they differ, the
    worst elements (both values), the judgement, the line of the user's file (lockstep/pieces/locate.py) and the
    suspect that fits (a Finding), if any."""

    output: str
    case: str
    dtype: str
    verdict: PieceVerdict
    worst: list  # [Element]
    shapes: tuple | None = None  # (yours, torch's) when they differ
    source: dict | None = None
    suspect: Finding | None = None

    @property
    def head(self):
        return self.worst[0] if self.worst else Element([], None, None, None, None)

    def to_dict(self):
        h = self.head
        return dict(
            output=self.output,
            case=self.case,
            dtype=self.dtype,
            index=h.index,
            yours=h.side,
            torch=h.ref,
            worst=[
                dict(index=w.index, yours=w.side, torch=w.ref, abs_err=w.abs_err, rel_err=w.rel_err) for w in self.worst
            ],
            shapes=None if self.shapes is None else [list(s) for s in self.shapes],
            rel_err=self.verdict.rel_err,
            threshold=self.verdict.threshold,
            judged_by=self.verdict.how,
            float32_only=self.verdict.float32_only,
            note=self.verdict.note,
            source=self.source,
            suspect=_dict(self.suspect),
        )


@dataclass
class PieceResult:
    """What checking one piece found: who it is (file, stem, kind, its functions, the torch op), the verdict and
    exit status, every output's judgement on every case and dtype, the first departure of each output that
    departs, the findings, the detection floor per output, and the error of a piece that could not run."""

    piece: dict  # file, name, kind, forward, backward (or loss), op
    verdict: str  # 'agree', 'diverge', 'inconclusive', 'error' or 'skipped'
    exit_code: int
    cases: list = field(default_factory=list)  # the input cases' names
    dtypes: list = field(default_factory=list)
    verdicts: list = field(default_factory=list)  # [PieceVerdict]
    departures: list = field(default_factory=list)  # [PieceDeparture], one per departing output, in output order
    findings: list = field(default_factory=list)  # [Finding]
    detection_floor: dict = field(default_factory=dict)  # dtype -> output -> the smallest relative difference seen
    error: str | None = None  # why the piece could not be checked (bad input, or a kind left out)

    def outputs(self):
        """{output: 'agree' or 'diverge'} in the order the piece returns them."""
        out = {}
        for v in self.verdicts:
            out[v.output] = "diverge" if not v.ok or out.get(v.output) == "diverge" else "agree"
        return out

    def to_dict(self):
        return dict(
            verdict=self.verdict,
            exit_code=self.exit_code,
            piece=self.piece,
            cases=self.cases,
            dtypes=self.dtypes,
            outputs=self.outputs(),
            departures=_dict(self.departures),
            findings=_dict(self.findings),
            detection_floor=self.detection_floor,
            verdicts=_dict(self.verdicts),
            error=self.error,
        )
