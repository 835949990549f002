"""Verification by the internal assessment team (Tim Penilai Internal, TPI): the sample, the
queue, and the verified scores (docs/RULES.md, verification).

The sample is drawn per unit and period, from the counted (submitted or approved) assessments
not yet queued: in each unit, max(ceil(VERIFICATION_SAMPLE_FRACTION × n), VERIFICATION_SAMPLE_MIN)
of its n, or all n when there are fewer. Within a unit each assessment is drawn with a weight:
1, or VERIFICATION_FLAGGED_WEIGHT (3) when it has a credibility signal, so a flagged one is three
times as likely to come first; the weighted draw without replacement uses the keys u^(1/w) of
Efraimidis and Spirakis, with u from random.Random(seed) in the order of unit id and assessment
id. The seed is stored with the draw: the same seed and settings give the same sample.
"""

import math
import random
import secrets
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import PurePath

from django.conf import settings
from django.db import transaction
from django.db.models import Count, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from . import credibility, notifications, scoring, structure, summaries
from .errors import ServiceError, StaleDraft
from .models import (
    COUNTED_STATES,
    AssessmentPeriod,
    PillarScore,
    Rating,
    SelfAssessment,
    Verification,
    VerificationDraw,
    VerifiedPillarScore,
    VerifiedRating,
    WorkUnit,
)
from .validators import evidence_extension


def sample_size(n: int, fraction: float, minimum: int) -> int:
    """How many of a unit's n counted assessments are drawn."""
    return min(n, max(math.ceil(fraction * n), minimum))


def weighted_pick(rng: random.Random, ids: list[int], weights: dict[int, int], k: int) -> list[int]:
    """k of `ids` (in the given order) without replacement, each with its weight."""
    keys = [(rng.random() ** (1 / weights.get(pk, 1)), pk) for pk in ids]
    return [pk for _key, pk in sorted(keys, reverse=True)[:k]]


def sample_plan(*, period: AssessmentPeriod, seed: int, fraction: float, minimum: int, flagged_weight: int) -> dict[int, list[int]]:
    """{unit id: [assessment ids drawn]} for `period` (a pure function of the database and the
    arguments: what `sample_draw` writes)."""
    counted = SelfAssessment.objects.filter(period=period, state__in=COUNTED_STATES, verification__isnull=True)
    by_unit: dict[int, list[int]] = defaultdict(list)
    for pk, unit_id in counted.order_by("unit_id", "pk").values_list("pk", "unit_id"):
        by_unit[unit_id].append(pk)
    weights = {pk: flagged_weight for pk in credibility.flagged_assessments(period)}
    rng = random.Random(seed)
    return {
        unit_id: weighted_pick(rng, ids, weights, sample_size(len(ids), fraction, minimum))
        for unit_id, ids in sorted(by_unit.items())
    }


@transaction.atomic
def sample_draw(*, period: AssessmentPeriod, actor=None, seed: int | None = None) -> VerificationDraw:
    """Draw the sample of `period` (closed, or on demand) and queue it. Returns the draw, with
    its seed (a new random one unless given)."""
    seed = secrets.randbelow(2**53) if seed is None else seed
    draw = VerificationDraw.objects.create(
        period=period,
        seed=seed,
        fraction=settings.VERIFICATION_SAMPLE_FRACTION,
        minimum=settings.VERIFICATION_SAMPLE_MIN,
        flagged_weight=settings.VERIFICATION_FLAGGED_WEIGHT,
        drawn_by=actor,
    )
    plan = sample_plan(period=period, seed=seed, fraction=draw.fraction, minimum=draw.minimum, flagged_weight=draw.flagged_weight)
    ids = [pk for picked in plan.values() for pk in picked]
    flagged = credibility.flagged_assessments(period)
    Verification.objects.bulk_create(
        Verification(
            assessment_id=pk, period=period, unit_id=unit_id, origin=Verification.Origin.SAMPLED, draw=draw, flagged=pk in flagged
        )
        for unit_id, picked in plan.items()
        for pk in picked
    )
    draw.drawn = len(ids)
    draw.save(update_fields=["drawn"])
    return draw


def verification_add(*, assessment: SelfAssessment, actor) -> Verification:
    """Queue one assessment in the verifier's scope by hand (the caller checks the scope)."""
    if assessment.state not in COUNTED_STATES:
        raise ServiceError(_("Only a submitted assessment can be verified."), code="not_counted")
    verification, _created = Verification.objects.get_or_create(
        assessment=assessment,
        defaults={
            "period": assessment.period,
            "unit": assessment.unit,
            "origin": Verification.Origin.ADDED,
            "flagged": bool(credibility.assessment_signals(assessment)),
        },
    )
    return verification


def _locked(verification: Verification, version: int) -> Verification:
    locked = Verification.objects.select_for_update().get(pk=verification.pk)
    if locked.version != version:
        raise StaleDraft(_("This verification was changed in another tab or by another team member. Reload it to see the latest decisions; nothing was saved."))
    if locked.state == Verification.State.DONE:
        raise ServiceError(_("This verification is finished and can no longer be changed."), code="done")
    return locked


@transaction.atomic
def decisions_save(*, verification: Verification, version: int, decisions: dict[int, tuple[str, int | None, str]], actor) -> Verification:
    """Save the decisions {rating id: (decision, score, reason)} given (the others stay),
    refusing a stale version (two tabs). Asking for evidence sets the verification waiting."""
    locked = _locked(verification, version)
    ratings = {r.pk: r for r in Rating.objects.filter(assessment_id=locked.assessment_id, pk__in=list(decisions))}
    if len(ratings) != len(decisions):
        raise ServiceError(_("An answer does not belong to this assessment."), code="foreign_rating")
    _items_write(locked, ratings, decisions)
    waiting = locked.items.filter(decision=VerifiedRating.Decision.EVIDENCE).exists()
    if waiting and locked.state != Verification.State.EVIDENCE:
        assessment = SelfAssessment.objects.select_related("employee__user", "period").get(pk=locked.assessment_id)
        notifications.send_after_commit("evidence_requested", assessment)
    locked.state = Verification.State.EVIDENCE if waiting else Verification.State.PENDING
    locked.version += 1
    locked.verifier = actor
    locked.save(update_fields=["state", "version", "verifier"])
    return locked


def _items_write(locked: Verification, ratings: dict[int, Rating], decisions: dict) -> None:
    """Create or change the decisions in two statements, whatever their number (an autosave
    carries every answer of the page)."""
    existing = {item.rating_id: item for item in VerifiedRating.objects.filter(verification=locked, rating_id__in=list(decisions))}
    new, changed, now = [], [], timezone.now()
    for rating_id, (decision, score, reason) in decisions.items():
        if decision == VerifiedRating.Decision.ADJUST and (score is None or not reason.strip()):
            raise ServiceError(_("An adjusted score needs the score (1 to 5) and a reason."), code="reason_required")
        values = (decision, ratings[rating_id].score if decision == VerifiedRating.Decision.AGREE else score, reason.strip())
        item = existing.get(rating_id)
        if item is None:
            new.append(VerifiedRating(verification=locked, rating_id=rating_id, decision=values[0], score=values[1], reason=values[2]))
        elif (item.decision, item.score, item.reason) != values:
            item.decision, item.score, item.reason, item.updated_at = (*values, now)
            changed.append(item)
    VerifiedRating.objects.bulk_create(new)
    VerifiedRating.objects.bulk_update(changed, ["decision", "score", "reason", "updated_at"])


@transaction.atomic
def verification_complete(*, verification: Verification, version: int, actor) -> Verification:
    """Finish: every answer decided (agreed or adjusted), then the verified pillar scores and
    index computed with the same scoring functions as the self-assessment, and stored."""
    locked = _locked(verification, version)
    items = {i.rating_id: i for i in locked.items.all()}
    ratings = list(Rating.objects.filter(assessment_id=locked.assessment_id).select_related("indicator__pillar"))
    undecided = [r for r in ratings if r.pk not in items or items[r.pk].decision == VerifiedRating.Decision.EVIDENCE]
    if undecided:
        raise ServiceError(
            _("%(n)s answers still need a decision (agree or adjust) before the verification can be finished.") % {"n": len(undecided)},
            code="undecided",
        )
    sheet = verified_sheet(ratings, {pk: item.score for pk, item in items.items()})
    locked.index_score = float(sheet.index)
    locked.grade = sheet.grade.value
    locked.state = Verification.State.DONE
    locked.completed_at = timezone.now()
    locked.verifier = actor
    locked.version += 1
    locked.save()
    summaries.rollups_touch(locked.period_id)  # cached figures of the period are stale now
    VerifiedPillarScore.objects.filter(verification=locked).delete()
    VerifiedPillarScore.objects.bulk_create(
        VerifiedPillarScore(verification=locked, pillar_id=pillar_id, score=float(score)) for pillar_id, score in sheet.pillar_scores.items()
    )
    return locked


def verified_sheet(ratings: list[Rating], scores: dict[int, int]) -> scoring.ScoreSheet:
    """The score sheet of the verified answers: each rating's verified score in place of its own."""
    pillars: dict[int, tuple] = {}
    for rating in ratings:
        pillar = rating.indicator.pillar
        weight, answers = pillars.setdefault(pillar.pk, (pillar.weight, []))
        answers.append((rating.indicator.weight, scores[rating.pk]))
    return scoring.score_sheet(pillars)


# --- Figures: self and verified side by side -----------------------------------------------------


@dataclass
class VerifiedRollup:
    """The verified assessments of a subtree in a period: how many, their self and verified
    index sums, and per pillar (period pillar's framework pillar id) [n, self sum, verified sum]."""

    counted: int = 0
    self_sum: float = 0.0
    verified_sum: float = 0.0
    pillars: dict = field(default_factory=dict)
    withheld: bool = False

    @property
    def shown(self) -> bool:
        return self.counted >= settings.PRIVACY_MIN_GROUP and not self.withheld

    @property
    def self_mean(self) -> float | None:
        return self.self_sum / self.counted if self.shown else None

    @property
    def verified_mean(self) -> float | None:
        return self.verified_sum / self.counted if self.shown else None

    @property
    def gap(self) -> float | None:
        """Self minus verified: how much the self-assessments ran high."""
        return self.self_mean - self.verified_mean if self.shown else None

    @property
    def flagged(self) -> bool:
        """The self index exceeds the verified index by more than VERIFICATION_GAP_FLAG."""
        return self.gap is not None and self.gap > settings.VERIFICATION_GAP_FLAG

    def pillar_gap(self, pillar_id: int) -> tuple[float, float, float] | None:
        """(self mean, verified mean, gap) of one pillar, or None."""
        n, self_sum, verified_sum = self.pillars.get(pillar_id, (0, 0.0, 0.0))
        if not self.shown or not n:
            return None
        return self_sum / n, verified_sum / n, (self_sum - verified_sum) / n


def verified_rollups(*, units: list, period: AssessmentPeriod) -> dict:
    """{unit id: VerifiedRollup} of each of `units` (None: the organisation), each covering its
    subtree in the period's tree: four queries however many units."""
    done = Verification.objects.filter(period=period, state=Verification.State.DONE)
    own: dict[int, VerifiedRollup] = defaultdict(VerifiedRollup)
    for unit_id, n, self_sum, verified_sum in done.values("unit_id").annotate(
        n=Count("pk"), s=Sum("assessment__index_score"), v=Sum("index_score")
    ).values_list("unit_id", "n", "s", "v").order_by():
        own[unit_id].counted, own[unit_id].self_sum, own[unit_id].verified_sum = n, self_sum or 0.0, verified_sum or 0.0
    verified = VerifiedPillarScore.objects.filter(verification__in=done).values_list(
        "verification__unit_id", "pillar__pillar_id"
    ).annotate(n=Count("pk"), v=Sum("score")).order_by()
    for unit_id, pillar_id, n, total in verified:
        own[unit_id].pillars[pillar_id] = [n, 0.0, total]
    selfs = PillarScore.objects.filter(assessment__verification__in=done).values_list(
        "assessment__unit_id", "pillar__pillar_id"
    ).annotate(s=Sum("score")).order_by()
    for unit_id, pillar_id, total in selfs:
        own[unit_id].pillars.setdefault(pillar_id, [0, 0.0, 0.0])[1] = total
    tree = structure.PeriodTree(period)
    paths = dict(tree.rows().values_list("id" if tree.live else "unit_id", "path"))
    wanted = {paths[unit.pk]: unit.pk for unit in units if unit is not None and unit.pk in paths}
    result = {unit.pk if unit is not None else None: VerifiedRollup() for unit in units}
    for unit_id, figures in own.items():
        if None in result:
            _add(result[None], figures)
        for ancestor in WorkUnit.chain_paths(paths.get(unit_id, "")):  # each unit adds to those above it
            if ancestor in wanted:
                _add(result[wanted[ancestor]], figures)
    return result


def _add(total: VerifiedRollup, part: VerifiedRollup) -> None:
    total.counted += part.counted
    total.self_sum += part.self_sum
    total.verified_sum += part.verified_sum
    for pillar_id, (n, self_sum, verified_sum) in part.pillars.items():
        sums = total.pillars.setdefault(pillar_id, [0, 0.0, 0.0])
        sums[0] += n
        sums[1] += self_sum
        sums[2] += verified_sum


@transaction.atomic
def requested_evidence_add(*, item: VerifiedRating, upload, actor) -> VerifiedRating:
    """The person adds the evidence the team asked for, while the verification is open; it
    replaces the answer's file (the old one is deleted after the commit). The verification's
    version moves on, so a team member's open tab reloads before deciding."""
    locked = Verification.objects.select_for_update().get(pk=item.verification_id)
    item = VerifiedRating.objects.select_related("rating").get(pk=item.pk)
    if locked.state == Verification.State.DONE or item.decision != VerifiedRating.Decision.EVIDENCE:
        raise ServiceError(_("The team is no longer asking for evidence on this answer."), code="not_asked")
    rating = item.rating
    old = rating.evidence.name if rating.evidence else ""
    rating.evidence.save("evidence" + (evidence_extension(upload) or ""), upload, save=False)
    rating.evidence_name = PurePath(upload.name).name[-255:]
    rating.save(update_fields=["evidence", "evidence_name"])
    locked.version += 1
    locked.save(update_fields=["version"])
    if old:
        storage = Rating._meta.get_field("evidence").storage
        transaction.on_commit(lambda: storage.delete(old))
    return item


def person_view(assessment: SelfAssessment) -> dict | None:
    """What the person sees of their verification: the state, the verified index once done,
    and each answer the team adjusted or asked evidence for, with its reason."""
    found = Verification.objects.filter(assessment=assessment).first()
    if found is None:
        return None
    items = found.items.filter(decision__in=[VerifiedRating.Decision.ADJUST, VerifiedRating.Decision.EVIDENCE]).select_related(
        "rating__indicator__indicator"
    ).order_by("rating__indicator__pillar__order", "rating__indicator__order")
    return {"verification": found, "items": list(items), "open": found.state != Verification.State.DONE}
