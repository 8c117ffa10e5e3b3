"""Chapter 4, classification: a stable softmax, cross-entropy from logits, the N a bound needs,
the N a guarantee needs (a prediction), a double softmax diagnosed from a training record, and
a choice about MSE on examples the model gets confidently wrong.

References are in :mod:`course_utils.classification`. Each :class:`Mistake` is a wrong
answer students commonly write; when a result matches it, the verdict names it. Results
with NaN or inf where the reference is finite get a hint of their own, since a NaN never
"matches" anything; which hint depends on the case: exp can only overflow when a logit is
large, so on small logits a NaN or inf is named for what it then is (0/0, a log of a
negative number, a division by 0). A comparison sees only values, not the case, so those
case-aware hints are mistakes that return a marker (:func:`_non_finite_marker`) on the
cases where they apply.
"""
import math

import numpy as np
import torch

from ... import classification as cl
from ..cases import coin, integer, normal, record_case, uniform
from ..compare import Difference, close_number, same_int, same_label, same_tensor
from ..registry import Case, Exercise, Mistake, choice_exercise, label_mistakes

NOTEBOOK = "04_classification"

#: exp(y) is inf in float32 for y above about 88.7; a case whose logits all stay below this cannot overflow.
EXP_LIMIT = 88.0

OVERFLOW_HINT = ("exp overflowed: exp(y) is inf for y above about 89 in float32, and inf/inf is NaN. "
                 "Subtract each row's max first: exp(y − max y) gives the same softmax and never overflows")
SOFTMAX_INF_HINT = ("exp overflowed: exp(y) is inf for y above about 89 in float32 (a softmax takes no log, so "
                    "an inf can only come from an exp or a division by 0). Subtract each row's max from the logits "
                    "before exp, in the numerator as well as in the sum: every exp(y − max y) is then at most 1")
EXP_AFTER_HINT = ("subtract the max from the logits, before exp: exp(y) has already overflowed to inf for a large "
                  "logit, and inf − inf is NaN; exp(y) − max exp(y) is not the same softmax anyway")
NUMERATOR_HINT = ("subtract the row's max in the numerator too: exp(y) / Σ exp(y − max y) is the softmax times "
                  "exp(max y), and exp(y) alone overflows to inf for a large logit")
NAN_SMALL_SOFTMAX_HINT = ("nothing in this case can overflow: every logit is small, so every exp is finite. This NaN "
                          "is 0/0, inf − inf, or the log of a negative number, e.g. log Σ(y − max y) with the exp "
                          "left out (y − max y ≤ 0). A softmax needs no log, and its sum Σ exp(y − max y) is at "
                          "least 1 (the max's own term is e⁰ = 1), never 0")
INF_SMALL_SOFTMAX_HINT = ("nothing in this case can overflow: every logit is small, so every exp is finite. An inf "
                          "here is a division by 0: divide by Σ exp(y − max y), which is at least 1")
NO_EXP_HINT = ("softmax divides exp(y) by Σ exp(y), not y by Σ y: without the exp the values are not probabilities "
               "(they can be negative), and a row whose logits sum to 0 gives x/0 = inf and 0/0 = NaN")
LOG_OF_ZERO_HINT = ("a probability underflowed to 0 and its log is −inf: do not take log(softmax(y)); "
                    "compute −y_c + log Σ exp(y) with log-sum-exp (max y + log Σ exp(y − max y))")
LSE_OVERFLOW_HINT = ("log Σ exp(y) overflowed: exp(y) is inf for y above about 89 in float32, and log(inf) = inf. "
                     "Compute it as max y + log Σ exp(y − max y) (log-sum-exp)")
CE_INF_HINT = ("an inf in cross-entropy is either log Σ exp(y) computed as written (exp(y) overflows above about 89: "
               "use max y + log Σ exp(y − max y)), or the log of a probability that underflowed to 0 (do not take "
               "log(softmax(y)): −y_c + log Σ exp(y) needs no log of a probability)")
NAN_SMALL_CE_HINT = ("nothing in this case can overflow: every logit is small. This NaN is the log of a negative "
                     "number: logits are not probabilities (they can be negative), so log of a logit, or log Σ(y − m) "
                     "with the exp left out, is NaN. e = −y_c + log Σ exp(y) takes the log of a sum of exps only")
INF_SMALL_CE_HINT = ("nothing in this case can overflow: every logit is small. An inf here is log 0 or a division by "
                     "0: logits are not probabilities, so do not take the log of a logit; e = −y_c + log Σ exp(y)")
LOG_OF_LOGIT_HINT = ("you took the log of the right class's logit: logits are not probabilities (they can be 0 or "
                     "negative, where the log is −inf or NaN). The loss is e = −ln y′_c with y′ the softmax, i.e. "
                     "−y_c + log Σ exp(y)")


def _non_finite(tensor):
    """'nan', 'inf' or None: what is wrong with a float tensor's values, if anything."""
    if not (isinstance(tensor, torch.Tensor) and tensor.is_floating_point()) or torch.isfinite(tensor).all():
        return None
    return "nan" if torch.isnan(tensor).any() else "inf"


def _non_finite_marker(kind, reference):
    """A mistake for the cases whose logits are all too small for exp to overflow: there it returns the
    reference's shape filled with NaN (``kind="nan"``) or +inf (``"inf"``), a marker that the comparison lets
    match any answer of that shape and dtype with a NaN (or with an inf and no NaN). On the other cases it
    returns None, which matches nothing. (As an answer, it is one that returns NaN or inf on small logits.)"""
    fill = math.nan if kind == "nan" else math.inf

    def answer(logits, *rest):
        if not bool(logits.abs().max() < EXP_LIMIT):
            return None
        return torch.full_like(reference(logits, *rest), fill)

    answer.__name__ = f"{kind}_on_small_logits"
    return answer


def _overflow_aware(inf_hint):
    """A comparison: same_tensor, with a specific hint when the answer is NaN or inf where the reference is
    finite (``inf_hint`` for an inf, the overflow hint for a NaN; the marker mistakes refine both).

    ``expected`` is only non-finite when a known mistake is compared with the answer. A tensor
    wholly NaN (or wholly +inf) is a marker of :func:`_non_finite_marker`: it matches any answer
    of its shape and dtype with a NaN (or an inf and no NaN). Otherwise NaN matches NaN, so a
    mistake that overflows is recognised and named. None (a marker that does not apply to this
    case) matches nothing.
    """

    def compare(expected, got, rtol, atol):
        if expected is None:
            return Difference("this known mistake does not apply to this case")
        if isinstance(expected, torch.Tensor) and expected.is_floating_point() and not torch.isfinite(expected).all():
            if not (isinstance(got, torch.Tensor) and got.shape == expected.shape and got.dtype == expected.dtype):
                return Difference("the answer differs from this known mistake")
            if torch.isnan(expected).all() or torch.isposinf(expected).all():   # a marker
                same = _non_finite(got) == ("nan" if torch.isnan(expected).all() else "inf")
            else:
                same = torch.allclose(got, expected, rtol=rtol, atol=atol, equal_nan=True)
            return None if same else Difference("the answer differs from this known mistake")
        difference = same_tensor(expected, got, rtol, atol)
        if (difference is not None and isinstance(got, torch.Tensor) and got.shape == expected.shape
                and torch.isfinite(expected).all() and _non_finite(got)):
            difference.hint = OVERFLOW_HINT if _non_finite(got) == "nan" else inf_hint
        return difference

    return compare


# --- references, with exactly the arguments the student's functions take ----------------------


def stable_softmax(logits):
    """softmax over the last dimension, computed as exp(y − max y) / Σ exp(y − max y)."""
    return cl.softmax(logits, dim=-1)


def cross_entropy(logits, targets):
    """Mean over the examples of −y_c + log Σⱼ exp(yⱼ), for logits (N, C) and class indices (N,)."""
    return cl.cross_entropy(logits, targets)


# --- cases ---------------------------------------------------------------------------------


def _logits_case(rng):
    n, c = integer(rng, 2, 5), integer(rng, 2, 6)
    scale = 300.0 if coin(rng) else 3.0     # every other case has logits big enough to overflow exp
    return Case((normal(rng, n, c, scale=scale),))


def _cross_entropy_case(rng):
    (logits,) = _logits_case(rng).args
    return Case((logits, torch.randint(0, logits.shape[1], (logits.shape[0],), generator=rng)))


def _samples_case(rng):
    return Case((uniform(rng, 0.02, 0.3), uniform(rng, 0.01, 0.2), int(4 ** integer(rng, 1, 6))))


# --- typical wrong answers (the short ones stand beside their hints, in EXERCISES) -------------


def _naive_softmax(logits):
    e = logits.exp()
    return e / e.sum(dim=-1, keepdim=True)


def _naive_cross_entropy(logits, targets):
    return -_naive_softmax(logits)[torch.arange(len(targets)), targets].log().mean()


def _softmax_global_max(logits):
    e = (logits - logits.max()).exp()
    return e / e.sum(dim=-1, keepdim=True)


def _softmax_exp_then_subtract(logits):
    e = logits.exp()
    e = e - e.max(dim=-1, keepdim=True).values
    return e / e.sum(dim=-1, keepdim=True)


def _softmax_numerator_unshifted(logits):
    return logits.exp() / (logits - logits.max(dim=-1, keepdim=True).values).exp().sum(dim=-1, keepdim=True)


def _cross_entropy_naive_log_sum_exp(logits, targets):
    return (logits.exp().sum(dim=1).log() - logits[torch.arange(len(targets)), targets]).mean()


# --- exercise 4, a prediction: the N the bound needs for a guarantee ------------------------------


def samples_for_guarantee(problem):
    """The smallest N for which the chapter's bound promises L(h_train, D_all) ≤ L(h_all, D_all) + δ with
    probability at least ``confidence``: |H|·2·exp(−2Nε²) ≤ p with ε = δ/2 and p = 1 − confidence."""
    eps, p_bad = problem["delta"] / 2, 1 - problem["confidence"]
    return cl.samples_needed(eps, p_bad, problem["h_size"])


def _guarantee_problem(rng):
    confidence = (0.9, 0.95, 0.99)[integer(rng, 0, 2)]
    return Case(({"delta": uniform(rng, 0.1, 0.4), "confidence": confidence, "h_size": integer(rng, 2, 300)},))


def _n_from(problem, eps=None, p_bad=None, h_size=None, log=math.log, power=2):
    """The bound's N with one piece changed: what a student gets from that misreading."""
    eps = problem["delta"] / 2 if eps is None else eps
    p_bad = 1 - problem["confidence"] if p_bad is None else p_bad
    h_size = problem["h_size"] if h_size is None else h_size
    return math.ceil(log(2 * h_size / p_bad) / (2 * eps ** power))


# --- exercise 5, a diagnosis: was the loss given logits or probabilities? -------------------------

LABELS = ("logits", "probabilities")


def loss_band(classes):
    """(floor, ceiling): the least and the greatest cross-entropy that inputs in [0, 1] allow with C classes,
    ln(1 + (C − 1)/e) (all of the input on the right class) and ln(C − 1 + e) (all of it on a wrong one)."""
    return math.log(1 + (classes - 1) / math.e), math.log(classes - 1 + math.e)


def diagnose_loss_input(record):
    """'probabilities' when every epoch's loss lies in the band a loss given probabilities is held to, else
    'logits' (the records are drawn so that a run given logits always leaves it)."""
    floor, ceiling = loss_band(record["classes"])
    inside = all(floor - 1e-3 <= loss <= ceiling + 1e-3 for loss in record["loss"])
    return "probabilities" if inside else "logits"


def _epoch(rng, classes, accuracy, right_margin, wrong_margin, examples=200):
    """Outputs of a model on one epoch's examples: the right class wins for a fraction ``accuracy`` of them by
    ``right_margin``; the others put ``wrong_margin`` on a wrong class. Returns NumPy (logits, labels): the
    record is computed in NumPy, whose small operations stay quick on a busy machine."""
    labels = torch.randint(0, classes, (examples,), generator=rng).numpy()
    right = torch.rand(examples, generator=rng).numpy() < accuracy
    shift = torch.randint(1, classes, (examples,), generator=rng).numpy()
    winner = np.where(right, labels, (labels + shift) % classes)
    logits = 0.3 * torch.randn(examples, classes, generator=rng, dtype=torch.float64).numpy()
    logits[np.arange(examples), winner] += np.where(right, right_margin, wrong_margin)
    return logits, labels


def _cross_entropy_np(inputs, labels):
    """The mean of −x_c + log Σ exp(x) (what nn.CrossEntropyLoss computes from its inputs x)."""
    top = inputs.max(axis=1)
    log_sum_exp = top + np.log(np.exp(inputs - top[:, None]).sum(axis=1))
    return float((log_sum_exp - inputs[np.arange(len(labels)), labels]).mean())


def _softmax_np(logits):
    e = np.exp(logits - logits.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def _training_record(rng, kind):
    """One run's record: per epoch, the loss the training minimised and the training accuracy.

    kind 0: logits, a run that trains well (its loss ends below the band's floor);
    kind 1: logits, a short run from a confidently wrong start (its loss starts above the band's ceiling);
    kind 2: probabilities (a softmax in the model and another in the loss), a run whose accuracy ends high.
    """
    classes = integer(rng, 2, 10)
    floor, ceiling = loss_band(classes)
    while True:
        epochs = integer(rng, 3, 6) if kind == 1 else integer(rng, 8, 15)
        chance = 1 / classes
        if kind == 1:   # a short run: it ends half-trained
            end_accuracy, end_margin = uniform(rng, 0.5, 0.85), uniform(rng, 1.0, 2.5)
        else:
            end_accuracy, end_margin = uniform(rng, 0.9, 0.99), uniform(rng, 4.0, 8.0)
        start_accuracy, start_wrong = (uniform(rng, 0.0, 0.05), uniform(rng, 6.0, 10.0)) if kind == 1 else (chance, 0.0)
        losses, accuracies = [], []
        for t in range(epochs + 1):
            progress = 1 - math.exp(-3 * t / epochs)
            accuracy = start_accuracy + (end_accuracy - start_accuracy) * progress
            right_margin = end_margin * progress
            wrong_margin = start_wrong * (1 - progress) + 0.3 * right_margin * progress
            logits, labels = _epoch(rng, classes, accuracy, right_margin, wrong_margin)
            fed = _softmax_np(logits) if kind == 2 else logits
            losses.append(round(_cross_entropy_np(fed, labels), 4))
            accuracies.append(round(float((logits.argmax(axis=1) == labels).mean()), 3))
        outside = [loss < floor - 0.05 or loss > ceiling + 0.05 for loss in losses]
        if kind == 1:
            fits = outside[0] and floor + 0.05 < losses[-1] < ceiling - 0.05
        elif kind == 0:
            fits = any(outside)
        else:
            fits = all(floor + 0.005 < loss < ceiling - 0.005 for loss in losses)
        if fits:
            return {"classes": classes, "loss": losses, "accuracy": accuracies}


#: One record of each kind, always the same: the visible cases cover every kind of run.
FIXED_RECORDS = [Case((_training_record(torch.Generator().manual_seed(seed), kind),))
                 for seed, kind in ((0, 0), (9, 1), (2, 2), (12, 2), (22, 1))]   # C = 10, 3, 2, 8, 4


# --- exercise 6, a choice: MSE on examples the model gets confidently wrong -------------------------

MSE_WHY_NOT = {
    "a": "that is cross-entropy's behaviour, whose gradient y′ − ŷ is about ±1 on a confidently wrong example. "
         "With MSE on a saturated softmax every term of the gradient carries a factor y′ᵢ ≈ 0 or the difference "
         "of two numbers ≈ 1: the examples with the largest loss get almost no gradient",
    "c": "the learning rate that would move them (the absurd η printed in section 4) is the same for every example "
         "and every step: it would throw every example that is not saturated far off. The flat region is a "
         "property of the surface, which a single η cannot fix; an optimiser that rescales each step (Adam) "
         "gets out, slowly",
    "d": "the same minimum does not mean the same path: from the flat region plain gradient descent does not "
         "get there at all (section 4: after 100 updates it had not left the corner), and the experiment with the digits shows "
         "MSE slower and more dependent on the seed",
}


EXERCISES = [
    Exercise(
        "classification.stable_softmax", stable_softmax, draw=_logits_case,
        compare=_overflow_aware(SOFTMAX_INF_HINT),
        fixed=[Case((torch.tensor([[3.0, 1.0, -3.0]]),)),
               Case((torch.tensor([[1.0, 2.0, 3.0], [0.5, 0.5, -1.0]]),)),
               Case((torch.tensor([[1000.0, 0.0, -1000.0], [1.0, 2.0, 3.0]]),)),
               Case((torch.tensor([[900.0, 899.0], [0.0, 1.0]]),))],
        mistakes=[
            Mistake(OVERFLOW_HINT, _naive_softmax),
            Mistake(EXP_AFTER_HINT, _softmax_exp_then_subtract),
            Mistake(NUMERATOR_HINT, _softmax_numerator_unshifted),
            Mistake(NO_EXP_HINT, lambda logits: logits / logits.sum(dim=-1, keepdim=True)),
            Mistake("divide by the row's sum: exp(y − max y) alone does not sum to 1 (its largest value is 1)",
                    lambda logits: (logits - logits.max(dim=-1, keepdim=True).values).exp()),
            Mistake("softmax was applied twice: the values are the softmax of the right probabilities",
                    lambda logits: cl.softmax(cl.softmax(logits))),
            Mistake("normalise each row (each example) over its classes: sum over dim=-1, not dim=0",
                    lambda logits: cl.softmax(logits, dim=0)),
            Mistake("subtract each row's own max (max(dim=-1, keepdim=True)), not the max of the whole tensor: "
                    "a row far below it underflows to 0/0",
                    _softmax_global_max),
            Mistake(NAN_SMALL_SOFTMAX_HINT, _non_finite_marker("nan", stable_softmax)),
            Mistake(INF_SMALL_SOFTMAX_HINT, _non_finite_marker("inf", stable_softmax)),
        ],
        error_hints={"must match the size": "keep the reduced dimension so the max broadcasts against each row: "
                                            "logits.max(dim=-1, keepdim=True).values"},
    ),
    Exercise(
        "classification.cross_entropy", cross_entropy, draw=_cross_entropy_case,
        compare=_overflow_aware(CE_INF_HINT),
        fixed=[Case((torch.tensor([[3.0, 1.0, -3.0]]), torch.tensor([0]))),
               Case((torch.tensor([[2.0, 0.0, 1.0], [0.5, 1.5, -1.0]]), torch.tensor([2, 1]))),
               Case((torch.tensor([[1e4, 0.0, -1e4], [-1e4, 1e4, 0.0]]), torch.tensor([0, 1]))),
               Case((torch.tensor([[1e4, 0.0], [0.0, 1.0]]), torch.tensor([1, 1])))],
        mistakes=[
            Mistake(LOG_OF_ZERO_HINT,   # before the naive one: both give inf on case 4
                    lambda logits, targets: -cl.softmax(logits).log()[torch.arange(len(targets)), targets].mean()),
            Mistake(LOG_OF_LOGIT_HINT,   # caught on case 1, where it is finite
                    lambda logits, targets: -logits[torch.arange(len(targets)), targets].log().mean()),
            Mistake(LSE_OVERFLOW_HINT, _cross_entropy_naive_log_sum_exp),
            Mistake(OVERFLOW_HINT, _naive_cross_entropy),
            Mistake("the loss is the mean over the examples, L = (1/N) Σₙ eₙ: use .mean(), not .sum()",
                    lambda logits, targets: cl.cross_entropy(logits, targets, reduction="sum")),
            Mistake("you applied softmax before the cross-entropy: cross_entropy takes logits and contains "
                    "the softmax, so that is a second softmax",
                    lambda logits, targets: cl.cross_entropy(cl.softmax(logits), targets)),
            Mistake("cross-entropy is −ln y′_c, a positive number: you left out the minus sign",
                    lambda logits, targets: -cl.cross_entropy(logits, targets)),
            Mistake("pick one logit per example, logits[torch.arange(N), targets]; logits[:, targets] "
                    "picks every target's column for every example",
                    lambda logits, targets: -torch.log_softmax(logits, dim=1)[:, targets].mean()),
            Mistake(NAN_SMALL_CE_HINT, _non_finite_marker("nan", cross_entropy)),
            Mistake(INF_SMALL_CE_HINT, _non_finite_marker("inf", cross_entropy)),
        ],
    ),
    Exercise(
        "classification.samples_needed", cl.samples_needed, draw=_samples_case, compare=same_int,
        fixed=[Case((0.1, 0.05, 1)), Case((0.1, 0.05, 1000)), Case((0.05, 0.01, 64)), Case((0.25, 0.1, 4))],
        mistakes=[
            Mistake("round up with math.ceil: N must be at least ln(2|H|/p)/(2ε²), and int() or // round down",
                    lambda eps, p_bad, h_size: int(math.log(2 * h_size / p_bad) / (2 * eps ** 2))),
            Mistake("Hoeffding's bound is 2·exp(−2Nε²): the 2 in front gives ln(2|H|/p), not ln(|H|/p)",
                    lambda eps, p_bad, h_size: math.ceil(math.log(h_size / p_bad) / (2 * eps ** 2))),
            Mistake("the exponent is −2Nε²: divide by 2ε², not by ε²",
                    lambda eps, p_bad, h_size: math.ceil(math.log(2 * h_size / p_bad) / eps ** 2)),
            Mistake("the union bound multiplies by |H|: the logarithm is ln(2|H|/p)",
                    lambda eps, p_bad, h_size: math.ceil(math.log(2 / p_bad) / (2 * eps ** 2))),
            Mistake("ε is squared in the bound: divide by 2ε², not by 2ε",
                    lambda eps, p_bad, h_size: math.ceil(math.log(2 * h_size / p_bad) / (2 * eps))),
        ],
    ),
    Exercise(
        "classification.samples_for_guarantee", samples_for_guarantee, draw=_guarantee_problem, kind="value",
        compare=close_number, rtol=0.005, atol=1.0,
        hint="the guarantee holds on a good training set, and the bound says how likely a bad one is: set "
             "|H|·2·exp(−2Nε²) ≤ p and solve for N, with ε and p read off the problem's δ and confidence",
        mistakes=[
            Mistake("ε in Hoeffding's bound is δ/2, not δ: a good set keeps every h within δ/2, so that training "
                    "ends within δ/2 + δ/2 = δ of the best. With ε = δ the guarantee is only 2δ",
                    lambda p: _n_from(p, eps=p["delta"])),
            Mistake("p is the probability of a bad training set, 1 − confidence; you used the confidence itself",
                    lambda p: _n_from(p, p_bad=p["confidence"])),
            Mistake("ε = δ/2 and p = 1 − confidence: you used δ for ε and the confidence for p",
                    lambda p: _n_from(p, eps=p["delta"], p_bad=p["confidence"])),
            Mistake("a set is bad if it is bad for any of the |H| hypotheses: the union bound multiplies by |H|, "
                    "so the logarithm is ln(2|H|/p)", lambda p: _n_from(p, h_size=1)),
            Mistake("Hoeffding's bound is 2·exp(−2Nε²): keep the 2 in ln(2|H|/p)",
                    lambda p: _n_from(p, h_size=p["h_size"] / 2)),
            Mistake("the bound has the natural logarithm (it undoes exp): math.log, not math.log10",
                    lambda p: _n_from(p, log=math.log10)),
            Mistake("ε is squared in the exponent −2Nε²: divide by 2ε², not by 2ε",
                    lambda p: _n_from(p, power=1)),
        ],
    ),
    Exercise(
        "classification.diagnose_loss_input", diagnose_loss_input, draw=record_case(_training_record, range(3)),
        fixed=FIXED_RECORDS, compare=same_label(LABELS), visible_random_cases=6,
        mistakes=label_mistakes(diagnose_loss_input, {
            ("logits", "probabilities"):
                "this loss leaves the band that inputs in [0, 1] hold it to: between ln(1 + (C − 1)/e) (all of "
                "the input on the right class) and ln(C − 1 + e) (all of it on a wrong one). Somewhere in this "
                "record it is below that floor or above that ceiling, which only logits can do: a loss that "
                "starts high or ends half-trained is no sign of a second softmax",
            ("probabilities", "logits"):
                "every epoch's loss stays inside the band of a loss given probabilities, ln(1 + (C − 1)/e) to "
                "ln(C − 1 + e) for this record's C, and never gets below the floor although the accuracy is high: "
                "a second softmax leaves the predicted class unchanged (so the accuracy can be good) but holds "
                "the loss, and its gradients, in that band",
        }),
    ),
    choice_exercise("classification.mse_confidently_wrong", "b", MSE_WHY_NOT),
]
