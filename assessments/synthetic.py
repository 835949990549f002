"""Synthetic people and answers for the demo (`seed_demo`) and the benchmarks (`seed_scale`).

Everything is drawn from a seeded random generator, so the same arguments give the same data.
Scores are computed with `scoring.py`, exactly as a real submission would store them.
"""

import datetime
import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from fractions import Fraction

from django.db import transaction
from django.utils import timezone

from .models import (
    AssessmentEvent,
    AssessmentPeriod,
    AssessmentState,
    PeriodPillar,
    PillarScore,
    Rating,
    SelfAssessment,
)
from .scoring import RATING_MAX, RATING_MIN, ScoreSheet, grade_for, integrity_index, pillar_score

FIRST_NAMES = [
    "Agus", "Budi", "Citra", "Dewi", "Eko", "Fitri", "Gilang", "Hendra", "Indah", "Joko", "Kartika", "Lestari",
    "Made", "Nur", "Oktaviani", "Putu", "Rina", "Sari", "Teguh", "Utami", "Wahyu", "Yanti", "Zainal", "Ayu",
    "Bambang", "Dian", "Fajar", "Hadi", "Intan", "Ketut", "Lukman", "Maria", "Nyoman", "Ratna", "Rudi", "Siti",
    "Tri", "Wayan", "Yohanes", "Yusuf", "Andi", "Asri", "Bayu", "Dimas", "Endah", "Galih", "Herlina", "Irfan",
]
LAST_NAMES = [
    "Santoso", "Wijaya", "Pratama", "Saputra", "Hidayat", "Kusuma", "Lubis", "Nasution", "Siregar", "Simanjuntak",
    "Harahap", "Setiawan", "Gunawan", "Wibowo", "Susanto", "Rahmawati", "Purnamasari", "Handayani", "Hutapea",
    "Manurung", "Tanjung", "Sitompul", "Pane", "Matondang", "Nugroho", "Permana", "Ramadhan", "Sembiring",
    "Tarigan", "Ginting", "Wetipo", "Kambu", "Rumbiak", "Mandagi", "Pangemanan", "Daeng", "Lamba", "Sulistyo",
]
POSITIONS = [
    "Analis Kebijakan", "Pranata Komputer", "Analis Kependudukan", "Arsiparis", "Pengelola Keuangan",
    "Penata Layanan Operasional", "Analis SDM Aparatur", "Auditor", "Perencana", "Pengadministrasi Perkantoran",
    "Analis Hukum", "Pranata Humas",
]

NOTE_TEXTS = {
    1: "Masih perlu perbaikan; sudah saya bahas dengan atasan.",
    5: "Didukung catatan kegiatan dan laporan triwulan.",
}


def person_name(rng: random.Random) -> str:
    return f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}"


def nip_for(rng: random.Random, taken: set[str]) -> str:
    """Return a structurally valid NIP not in `taken`, and add it there."""
    while True:
        birth = datetime.date(1966, 1, 1) + datetime.timedelta(days=rng.randrange(0, 365 * 34))
        appointed = (min(birth.year + rng.randint(21, 32), 2025), rng.randint(1, 12))
        nip = f"{birth:%Y%m%d}{appointed[0]:04d}{appointed[1]:02d}{rng.choice('12')}{rng.randrange(1, 1000):03d}"
        if nip not in taken:
            taken.add(nip)
            return nip


@dataclass
class UnitProfile:
    """How a unit tends to answer: its mean rating and a bias per pillar (weak spots)."""

    mean: float
    pillar_bias: dict[int, float] = field(default_factory=dict)


def unit_profile(rng: random.Random, pillar_ids: Sequence[int]) -> UnitProfile:
    bias = {pk: 0.0 for pk in pillar_ids}
    for pk in rng.sample(list(pillar_ids), k=rng.choice([0, 1, 1, 2])):
        bias[pk] = -rng.uniform(0.5, 1.3)
    return UnitProfile(mean=rng.uniform(3.1, 4.5), pillar_bias=bias)


def questionnaire_layout(questionnaire: list[PeriodPillar]) -> list[tuple[int, list[tuple[int, bool]]]]:
    """Return the questionnaire as plain tuples: [(Pillar id, [(PeriodIndicator id, note required
    at a 1 or a 5), ...]), ...]. Drawing from these instead of the prefetched model managers
    saves a queryset clone per pillar and person, which dominates at province scale."""
    return [
        (pillar.pillar_id, [(i.pk, i.note_required_at_extremes) for i in pillar.indicators.all()])
        for pillar in questionnaire
    ]


def draw_answers(rng: random.Random, layout: list[tuple[int, list[tuple[int, bool]]]], profile: UnitProfile, drift: float = 0.0):
    """Return {PeriodIndicator id: (score, note)} for one person (`layout` from questionnaire_layout)."""
    person = rng.gauss(profile.mean + drift, 0.45)
    answers = {}
    for pillar_id, indicators in layout:
        centre = person + profile.pillar_bias.get(pillar_id, 0.0)
        for indicator_id, note_at_extremes in indicators:
            score = min(5, max(1, round(rng.gauss(centre, 0.6))))
            note = NOTE_TEXTS[score] if note_at_extremes and score in (RATING_MIN, RATING_MAX) else ""
            answers[indicator_id] = (score, note)
    return answers


def draw_ratings(rng: random.Random, questionnaire: list[PeriodPillar], profile: UnitProfile, drift: float = 0.0):
    """Return {PeriodIndicator id: (score, note)} for one person."""
    return draw_answers(rng, questionnaire_layout(questionnaire), profile, drift)


@dataclass
class AssessmentSpec:
    employee_id: int
    user_id: int
    unit_id: int
    state: str
    answers: dict  # PeriodIndicator id -> (score, note)
    at: datetime.datetime  # submitted (a draft: last saved)
    reviewer_id: int | None = None
    return_note: str = ""  # a returned assessment: what the reviewer asked to correct


def questionnaire_weights(questionnaire: list[PeriodPillar]) -> dict:
    return {pillar.pk: (pillar.weight, [(i.pk, i.weight) for i in pillar.indicators.all()]) for pillar in questionnaire}


class Scorer:
    """`scoring.score_sheet` for one period's questionnaire, with each pillar score remembered
    by its ratings: a pillar has a few indicators rated 1-5, so the same combinations recur and
    the exact (fraction) arithmetic runs once per combination instead of once per person. The
    results are the very fractions score_sheet would return."""

    def __init__(self, questionnaire: list[PeriodPillar]):
        self.pillars = [
            (pk, Fraction(weight), [i for i, _w in items], [Fraction(w) for _i, w in items])
            for pk, (weight, items) in questionnaire_weights(questionnaire).items()
        ]
        self._pillar_scores: dict[tuple, Fraction] = {}

    def sheet(self, answers: dict) -> ScoreSheet:
        """Score {PeriodIndicator id: (score, note)}; every indicator must be rated."""
        scores = {}
        for pk, _weight, indicator_ids, weights in self.pillars:
            key = (pk, *(answers[i][0] for i in indicator_ids))
            score = self._pillar_scores.get(key)
            if score is None:
                score = self._pillar_scores[key] = pillar_score(zip(weights, key[1:], strict=True))
            scores[pk] = score
        index = integrity_index((weight, scores[pk]) for pk, weight, _ids, _weights in self.pillars)
        return ScoreSheet(pillar_scores=scores, index=index, grade=grade_for(index))


# Version after the usual path (services): a draft saved once is 1, submit adds one, a review one.
STATE_VERSIONS = {
    AssessmentState.DRAFT: 1,
    AssessmentState.SUBMITTED: 2,
    AssessmentState.APPROVED: 3,
    AssessmentState.RETURNED: 3,
}
DRAFT_LEAD = datetime.timedelta(days=1)  # a draft is started the day before it is handed in
REVIEW_DELAY = datetime.timedelta(days=2)  # and reviewed two days after


@dataclass
class AssessmentRows:
    """The rows one assessment puts in the database, as plain values (ids of the assessment
    itself and of its children are the caller's to assign)."""

    assessment: dict  # SelfAssessment field (attname) -> value
    ratings: list[tuple[int, int, str]]  # (PeriodIndicator id, score, note)
    pillar_scores: list[tuple[int, float]]  # (PeriodPillar id, score)
    events: list[tuple[int | None, str, str, str, datetime.datetime]]  # (actor id, from, to, note, at)


def assessment_rows(spec: AssessmentSpec, period_id: int, scorer: Scorer) -> AssessmentRows:
    """Return what services would have stored for `spec` after its state changes: drafts have
    ratings only; submitted, returned and approved ones are scored with scoring.py (a returned
    one keeps its index, grade and pillar scores, as `services.assessment_return` does)."""
    state = spec.state
    handed_in = state != AssessmentState.DRAFT
    reviewed = state in (AssessmentState.APPROVED, AssessmentState.RETURNED)
    sheet = scorer.sheet(spec.answers) if handed_in else None
    reviewed_at = spec.at + REVIEW_DELAY if reviewed else None
    started = spec.at - DRAFT_LEAD
    events = [(spec.user_id, "", AssessmentState.DRAFT.value, "", started)]
    if handed_in:
        events.append((spec.user_id, AssessmentState.DRAFT.value, AssessmentState.SUBMITTED.value, "", spec.at))
    if reviewed:
        note = spec.return_note if state == AssessmentState.RETURNED else ""
        events.append((spec.reviewer_id, AssessmentState.SUBMITTED.value, str(state), note, reviewed_at))
    assessment = {
        "employee_id": spec.employee_id,
        "period_id": period_id,
        "unit_id": spec.unit_id,
        "state": str(state),
        "version": STATE_VERSIONS[state],
        "index_score": float(sheet.index) if sheet else None,
        "grade": str(sheet.grade) if sheet else "",
        "created_at": started,
        "updated_at": events[-1][4] if handed_in else spec.at,
        "submitted_at": spec.at if handed_in else None,
        "reviewed_at": reviewed_at,
        "reviewed_by_id": spec.reviewer_id if reviewed else None,
        "return_note": spec.return_note if state == AssessmentState.RETURNED else "",
        "return_deadline": None,
    }
    return AssessmentRows(
        assessment=assessment,
        ratings=[(indicator_id, score, note) for indicator_id, (score, note) in spec.answers.items()],
        pillar_scores=[(pk, float(score)) for pk, score in sheet.pillar_scores.items()] if sheet else [],
        events=events,
    )


def bulk_create_assessments(*, period: AssessmentPeriod, specs: Iterable[AssessmentSpec], batch_size: int = 500) -> int:
    """Insert assessments with their ratings, pillar scores and state log in batches; returns
    how many. Drafts get ratings only; submitted, returned and approved ones are scored with
    scoring.py. Summary tables are not touched: call summaries.summary_rebuild afterwards."""
    scorer = Scorer(period.questionnaire())
    created = 0
    batch: list[AssessmentSpec] = []

    def flush():
        nonlocal created
        if not batch:
            return
        with transaction.atomic():
            rows = [assessment_rows(spec, period.pk, scorer) for spec in batch]
            assessments = SelfAssessment.objects.bulk_create([SelfAssessment(**row.assessment) for row in rows])
            ratings, scores, events = [], [], []
            for assessment, row in zip(assessments, rows, strict=True):
                ratings += [Rating(assessment=assessment, indicator_id=i, score=s, note=n) for i, s, n in row.ratings]
                scores += [PillarScore(assessment=assessment, pillar_id=pk, score=s) for pk, s in row.pillar_scores]
                events += [
                    AssessmentEvent(assessment=assessment, actor_id=actor, from_state=old, to_state=new, note=note, at=at)
                    for actor, old, new, note, at in row.events
                ]
            Rating.objects.bulk_create(ratings, batch_size=5000)
            PillarScore.objects.bulk_create(scores, batch_size=5000)
            AssessmentEvent.objects.bulk_create(events, batch_size=5000)
        created += len(batch)
        batch.clear()

    for spec in specs:
        batch.append(spec)
        if len(batch) >= batch_size:
            flush()
    flush()
    return created


def moment_in(period: AssessmentPeriod, rng: random.Random, latest: datetime.date | None = None) -> datetime.datetime:
    """Return a working-hours moment between the period's opening and closing (or `latest`)."""
    last = min(period.closes_on, latest) if latest else period.closes_on
    span = max((last - period.opens_on).days, 0)
    day = period.opens_on + datetime.timedelta(days=rng.randint(0, span))
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time(rng.randint(8, 15), rng.randint(0, 59))))
