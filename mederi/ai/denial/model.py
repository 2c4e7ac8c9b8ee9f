"""The denial-risk model: smoothed denial rates of the practice's own history, combined by a small logistic model
on top of the scrubber's rules. Plain Python, no Django: the service, the tests and the evaluation share it.

A claim line is described by its payer, procedure code, modifiers, first diagnosis and place of service. The
history counts, for slices of those facts, how many lines were sent and how many the payer denied:

    payer                       Acme denied 6% of all lines
    payer + code                ... of 99214
    payer + code + modifiers    ... of 99214 with modifier 25
    payer + code + diagnosis    ... of 83036 for diagnoses in Z13
    payer + place of service    ... of lines at place of service 02
    code + modifiers            all payers denied ... of 99214 with modifier 25

Each slice's rate is shrunk toward its parent's (a slice seen 3 times says little), and each slice gives one
feature: how far its rate is from its parent's, in log-odds. The line's log-odds of denial is the rules-only
log-odds (a logistic model of the scrubber's errors and warnings) plus the weighted features. A line whose
slices were never seen has every feature 0 and gets exactly the rules-only score; a claim is denied when any
of its lines is. Every weight has a prior (rules: what a payer does with a claim breaking its edits; history:
"believe the smoothed rates"), so a small history moves the model only as far as it has evidence.

The reasons given are the slices that add most to a claim's log-odds, in words, with their counts and the
payer's most frequent reason code (CARC).
"""

from __future__ import annotations

import datetime as dt
import math
from collections import Counter
from dataclasses import dataclass, field

from mederi.billing.remittance.denials import describe as carc_text

PRIOR_STRENGTH = 8.0  # pseudo-lines of the parent's rate added to every slice
DEFAULT_LINE_RATE = 0.05  # a line's denial rate before any history ...
DEFAULT_WHOLE_CLAIM_RATE = 0.02  # ... and a claim's denied whole: about 10% of claims, a common first-pass rate
RULES_PRIOR = {"intercept": math.log(DEFAULT_LINE_RATE / (1 - DEFAULT_LINE_RATE)), "error": 3.0, "warning": 0.8}
RULES_PRIOR_WEIGHT = 4.0  # how many lines' worth of evidence each rules prior is worth (Gaussian prior precision)
HISTORY_PRIOR_WEIGHT = 20.0
KINDS = ("payer", "code", "modifiers", "diagnosis", "place", "code-all-payers")
PARENT = {"payer": None, "code": "payer", "modifiers": "code", "diagnosis": "code", "place": "payer",
          "code-all-payers": None}


@dataclass(frozen=True)
class LineFacts:
    payer: str  # the payer Organization id
    code: str  # CPT or HCPCS
    modifiers: tuple[str, ...] = ()
    diagnosis: str = ""  # the first diagnosis the line points to (ICD-10-CM, dotted)
    place: str = "11"  # place of service
    rule_error: bool = False  # a scrubber error names this line (or the whole claim)
    rule_warning: bool = False


@dataclass(frozen=True)
class Outcome:
    """One line the practice sent and what the payer did with it."""
    facts: LineFacts
    day: dt.date  # date of service
    claim: str  # the claim it was on (a claim is denied when any of its lines is)
    denied: bool
    carc: str = ""  # the payer's main reason code when denied


def slice_key(kind: str, facts: LineFacts) -> str:
    mods = "+".join(sorted(facts.modifiers))
    return {"payer": facts.payer, "code": f"{facts.payer}|{facts.code}",
            "modifiers": f"{facts.payer}|{facts.code}|{mods}",
            "diagnosis": f"{facts.payer}|{facts.code}|{facts.diagnosis[:3].upper()}",
            "place": f"{facts.payer}|{facts.place}", "code-all-payers": f"{facts.code}|{mods}"}[kind]


def _logit(p: float) -> float:
    p = min(max(p, 1e-6), 1 - 1e-6)
    return math.log(p / (1 - p))


def _sigmoid(x: float) -> float:
    return 1 / (1 + math.exp(-x)) if x >= 0 else math.exp(x) / (1 + math.exp(x))


def fit_logistic(rows: list[list[float]], labels: list[int], offsets: list[float], prior: list[float],
                 precision: float, counts: list[int] | None = None, iterations: int = 25) -> list[float]:
    """Weights maximising the likelihood of `labels` under logit = offset + w·x, with a Gaussian prior around
    `prior` (precision = how many lines' worth of evidence it is); a row may stand for `counts` identical
    lines. Newton's method: a few features only."""
    k = len(prior)
    counts = counts or [1] * len(rows)
    weights = list(prior)
    for _ in range(iterations):
        gradient = [-precision * (w - p) for w, p in zip(weights, prior, strict=True)]
        hessian = [[precision if i == j else 0.0 for j in range(k)] for i in range(k)]
        for x, y, offset, count in zip(rows, labels, offsets, counts, strict=True):
            p = _sigmoid(offset + sum(w * v for w, v in zip(weights, x, strict=True)))
            residual, curvature = count * (y - p), count * p * (1 - p)
            for i in range(k):
                if x[i]:
                    gradient[i] += residual * x[i]
                    scaled = curvature * x[i]
                    for j in range(k):
                        if x[j]:
                            hessian[i][j] += scaled * x[j]
        step = _solve(hessian, gradient)
        weights = [w + s for w, s in zip(weights, step, strict=True)]
        if max(abs(s) for s in step) < 1e-6:
            break
    return weights


def _solve(matrix: list[list[float]], vector: list[float]) -> list[float]:
    """Gaussian elimination with partial pivoting (the matrix is small and positive definite)."""
    n = len(vector)
    a = [row[:] + [vector[i]] for i, row in enumerate(matrix)]
    for col in range(n):
        pivot = max(range(col, n), key=lambda r: abs(a[r][col]))
        a[col], a[pivot] = a[pivot], a[col]
        for r in range(col + 1, n):
            factor = a[r][col] / a[col][col]
            for c in range(col, n + 1):
                a[r][c] -= factor * a[col][c]
    x = [0.0] * n
    for r in range(n - 1, -1, -1):
        x[r] = (a[r][n] - sum(a[r][c] * x[c] for c in range(r + 1, n))) / a[r][r]
    return x


@dataclass
class Reason:
    text: str
    weight: float  # what it adds to the claim's log-odds of denial
    source: str  # "rules" or "history"

    def as_dict(self) -> dict:
        return {"text": self.text, "weight": round(self.weight, 3), "source": self.source}


@dataclass
class Score:
    probability: float  # the claim is denied (any line), rules and history together
    rules_probability: float  # the scrubber's rules alone
    reasons: list[Reason] = field(default_factory=list)
    line_probabilities: list[float] = field(default_factory=list)
    from_history: bool = False  # whether any slice of the claim was seen in the history


@dataclass
class Model:
    """What training leaves: the slice counts, the weights and the window they were learned on."""
    window_start: dt.date | None = None
    window_end: dt.date | None = None
    lines: int = 0
    denied: int = 0
    claims: int = 0
    global_rate: float = DEFAULT_LINE_RATE
    rules_weights: dict = field(default_factory=lambda: dict(RULES_PRIOR))
    history_weights: dict = field(default_factory=lambda: dict.fromkeys(KINDS, 1.0))
    slices: dict = field(default_factory=dict)  # kind -> key -> [lines, denied, {carc: count}]
    payer_names: dict = field(default_factory=dict)
    whole_rate: float = DEFAULT_WHOLE_CLAIM_RATE  # claims of several lines denied whole (every line)
    whole_by_payer: dict = field(default_factory=dict)  # payer -> [claims of several lines, denied whole, {carc: n}]

    # -- storing --------------------------------------------------------------------------------

    def as_dict(self) -> dict:
        return {"window_start": self.window_start.isoformat() if self.window_start else None,
                "window_end": self.window_end.isoformat() if self.window_end else None,
                "lines": self.lines, "denied": self.denied, "claims": self.claims, "global_rate": self.global_rate,
                "rules_weights": self.rules_weights, "history_weights": self.history_weights,
                "slices": self.slices, "payer_names": self.payer_names, "whole_rate": self.whole_rate,
                "whole_by_payer": self.whole_by_payer}

    @classmethod
    def from_dict(cls, data: dict) -> Model:
        day = dt.date.fromisoformat
        return cls(day(data["window_start"]) if data.get("window_start") else None,
                   day(data["window_end"]) if data.get("window_end") else None,
                   data["lines"], data["denied"], data["claims"], data["global_rate"], data["rules_weights"],
                   data["history_weights"], data["slices"], data.get("payer_names", {}),
                   data.get("whole_rate", DEFAULT_WHOLE_CLAIM_RATE), data.get("whole_by_payer", {}))

    # -- rates and features ---------------------------------------------------------------------

    def _count(self, kind: str, facts: LineFacts) -> tuple[int, int]:
        found = self.slices.get(kind, {}).get(slice_key(kind, facts))
        return (found[0], found[1]) if found else (0, 0)

    def rate(self, kind: str | None, facts: LineFacts, leave_out: int | None = None) -> float:
        """The slice's smoothed denial rate; `leave_out` takes one line's own outcome out (training)."""
        if kind is None:
            return self.global_rate
        lines, denied = self._count(kind, facts)
        if leave_out is not None and lines:
            lines, denied = lines - 1, denied - leave_out
        parent = self.rate(PARENT[kind], facts, leave_out)
        return (denied + PRIOR_STRENGTH * parent) / (lines + PRIOR_STRENGTH)

    def features(self, facts: LineFacts, leave_out: int | None = None) -> list[float]:
        return [_logit(self.rate(kind, facts, leave_out)) - _logit(self.rate(PARENT[kind], facts, leave_out))
                for kind in KINDS]

    def rules_logit(self, facts: LineFacts) -> float:
        w = self.rules_weights
        return w["intercept"] + w["error"] * facts.rule_error + w["warning"] * facts.rule_warning

    def whole_claim_rate(self, payer: str) -> float:
        """The payer's smoothed rate of denying a claim whole (coverage ended, member not found ...)."""
        claims, whole, _ = self.whole_by_payer.get(payer, (0, 0, {}))
        return (whole + PRIOR_STRENGTH * self.whole_rate) / (claims + PRIOR_STRENGTH)

    # -- scoring --------------------------------------------------------------------------------

    def score(self, lines: list[LineFacts], rule_messages: list[tuple[str, str]] = ()) -> Score:
        """The claim's risk; `rule_messages` are the scrubber's findings as (severity, text) for the reasons.

        The claim is denied when the payer denies it whole or denies any line; the whole-claim rate of an
        unknown payer is the practice's, which the rules-only score includes too."""
        if not lines:
            raise ValueError("a claim without lines cannot be scored")
        rules_p, combined_p, contributions = [], [], {}
        seen = False
        for facts in lines:
            offset = self.rules_logit(facts)
            rules_p.append(_sigmoid(offset))
            values = self.features(facts)
            combined_p.append(_sigmoid(offset + sum(self.history_weights[k] * v for k, v in zip(KINDS, values,
                                                                                              strict=True))))
            for kind, value in zip(KINDS, values, strict=True):
                lines_seen, _ = self._count(kind, facts)
                seen = seen or lines_seen > 0
                added = self.history_weights[kind] * value
                key = (kind, slice_key(kind, facts))
                if lines_seen and added > 0.05 and added > contributions.get(key, (0, None))[0]:
                    contributions[key] = (added, facts)
        payer = lines[0].payer
        whole = self.whole_claim_rate(payer)
        added = _logit(whole) - _logit(self.whole_rate)
        if payer in self.whole_by_payer and added > 0.05:
            contributions[("whole", payer)] = (added, lines[0])
        reasons = [Reason(text, 0.0, "rules") for _, text in sorted(rule_messages, key=lambda m: m[0] != "error")]
        for (kind, _), (added, facts) in sorted(contributions.items(), key=lambda item: -item[1][0])[:3]:
            reasons.append(Reason(self.describe(kind, facts), added, "history"))
        return Score(_any(combined_p + [whole]), _any(rules_p + [self.whole_rate]), reasons, combined_p, seen)

    def describe(self, kind: str, facts: LineFacts) -> str:
        payer = self.payer_names.get(facts.payer) or facts.payer
        if kind == "whole":
            claims, denied, carcs = self.whole_by_payer[facts.payer]
            return _with_carc(f"{payer} denied {denied / claims:.0%} of claims of several lines whole ({denied} of "
                              f"{claims}, {self.window_words()})", carcs)
        lines, denied, carcs = self.slices[kind][slice_key(kind, facts)]
        mods = ", ".join(sorted(facts.modifiers))
        with_mods = f" with modifier {mods}" if mods else " without a modifier"
        what = {"payer": "of all lines", "code": f"of {facts.code}", "modifiers": f"of {facts.code}{with_mods}",
                "diagnosis": f"of {facts.code} for diagnoses {facts.diagnosis[:3].upper()}",
                "place": f"of lines at place of service {facts.place}",
                "code-all-payers": f"of {facts.code}{with_mods}"}[kind]
        who = "All payers" if kind == "code-all-payers" else payer
        return _with_carc(f"{who} denied {denied / lines:.0%} {what} ({denied} of {lines} lines, "
                          f"{self.window_words()})", carcs)

    def window_words(self) -> str:
        if not self.window_start or not self.window_end:
            return "in the history"
        months = round((self.window_end - self.window_start).days / 30.4)
        return f"in the {months} months to {self.window_end:%d %b %Y}"


def _with_carc(text: str, carcs: dict) -> str:
    if carcs:
        carc, _ = max(carcs.items(), key=lambda item: item[1])
        text += f"; most often CARC {carc}: {carc_text(carc).lower()}"
    return text + "."


def _any(probabilities: list[float]) -> float:
    """The chance that at least one of independent events happens."""
    kept = 1.0
    for p in probabilities:
        kept *= 1 - p
    return 1 - kept


class NoHistory(ValueError):
    """Nothing to learn from in the window."""


def _whole_claims(window: list[Outcome]) -> tuple[dict[str, list], set[str]]:
    """Per payer: claims of several lines, those denied whole, their reasons; and the claims denied whole.

    A claim of one line denied cannot be told from a line denied, so it counts as a line."""
    by_claim: dict[str, list[Outcome]] = {}
    for outcome in window:
        by_claim.setdefault(outcome.claim, []).append(outcome)
    counts: dict[str, list] = {}
    whole = set()
    for claim, lines in by_claim.items():
        if len(lines) < 2:
            continue
        entry = counts.setdefault(lines[0].facts.payer, [0, 0, Counter()])
        entry[0] += 1
        if all(o.denied for o in lines):
            whole.add(claim)
            entry[1] += 1
            if lines[0].carc:
                entry[2][lines[0].carc] += 1
    return {payer: [n, d, dict(c)] for payer, (n, d, c) in counts.items()}, whole


def train(history: list[Outcome], *, start: dt.date, end: dt.date, payer_names: dict | None = None) -> Model:
    """Learn from the lines with a date of service in [start, end)."""
    window = [o for o in history if start <= o.day < end]
    if not window:
        raise NoHistory(f"No remittance history with dates of service from {start} to {end}: post the payers' "
                        "835 files first (Billing → Remittance); until then claims get the rules-only score.")
    whole_by_payer, whole = _whole_claims(window)
    several = sum(n for n, _, _ in whole_by_payer.values())
    lines = [o for o in window if o.claim not in whole]  # lines judged on their own
    model = Model(start, end, len(window), sum(o.denied for o in window), len({o.claim for o in window}),
                  payer_names=dict(payer_names or {}), whole_by_payer=whole_by_payer,
                  whole_rate=(len(whole) + 1) / (several + 2) if several else DEFAULT_WHOLE_CLAIM_RATE)
    model.global_rate = (sum(o.denied for o in lines) + 1) / (len(lines) + 2)
    slices: dict[str, dict[str, list]] = {kind: {} for kind in KINDS}
    for outcome in lines:
        for kind in KINDS:
            entry = slices[kind].setdefault(slice_key(kind, outcome.facts), [0, 0, Counter()])
            entry[0] += 1
            if outcome.denied:
                entry[1] += 1
                if outcome.carc:
                    entry[2][outcome.carc] += 1
    model.slices = {kind: {key: [n, d, dict(c)] for key, (n, d, c) in found.items()} for kind, found in slices.items()}
    # The rules first (grouped: only four kinds of line), then the history on top of them.
    cells = Counter((o.facts.rule_error, o.facts.rule_warning, o.denied) for o in lines)
    rows, labels, counts = [], [], []
    for (error, warning, denied), count in cells.items():
        rows.append([1.0, float(error), float(warning)])
        labels.append(int(denied))
        counts.append(count)
    prior = [RULES_PRIOR["intercept"], RULES_PRIOR["error"], RULES_PRIOR["warning"]]
    intercept, error, warning = fit_logistic(rows, labels, [0.0] * len(rows), prior, RULES_PRIOR_WEIGHT, counts)
    model.rules_weights = {"intercept": intercept, "error": error, "warning": warning}
    offsets = [model.rules_logit(o.facts) for o in lines]
    features = [model.features(o.facts, leave_out=int(o.denied)) for o in lines]
    fitted = fit_logistic(features, [int(o.denied) for o in lines], offsets, [1.0] * len(KINDS), HISTORY_PRIOR_WEIGHT)
    model.history_weights = dict(zip(KINDS, fitted, strict=True))
    return model


def rules_only_model() -> Model:
    """The model before any history: the scrubber's rules with their prior weights."""
    return Model()
