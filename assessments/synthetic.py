"""Synthetic people and answers for the demo (`seed_demo`) and the benchmarks (`seed_scale`).

Everything is drawn from a seeded random generator, so the same arguments give the same data.
Scores are computed with `scoring.py`, exactly as a real submission would store them.
"""

import datetime
import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

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
from .scoring import score_sheet

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


def draw_ratings(rng: random.Random, questionnaire: list[PeriodPillar], profile: UnitProfile, drift: float = 0.0):
    """Return {PeriodIndicator id: (score, note)} for one person."""
    person = rng.gauss(profile.mean + drift, 0.45)
    answers = {}
    for pillar in questionnaire:
        bias = profile.pillar_bias.get(pillar.pillar_id, 0.0)
        for indicator in pillar.indicators.all():
            score = min(5, max(1, round(rng.gauss(person + bias, 0.6))))
            note = NOTE_TEXTS[score] if indicator.note_required_for(score) else ""
            answers[indicator.pk] = (score, note)
    return answers


@dataclass
class AssessmentSpec:
    employee_id: int
    user_id: int
    unit_id: int
    state: str
    answers: dict  # PeriodIndicator id -> (score, note)
    at: datetime.datetime
    reviewer_id: int | None = None


def questionnaire_weights(questionnaire: list[PeriodPillar]) -> dict:
    return {pillar.pk: (pillar.weight, [(i.pk, i.weight) for i in pillar.indicators.all()]) for pillar in questionnaire}


def bulk_create_assessments(*, period: AssessmentPeriod, specs: Iterable[AssessmentSpec], batch_size: int = 500) -> int:
    """Insert assessments with their ratings, pillar scores and state log in batches; returns
    how many. Drafts get ratings only; submitted and approved ones are scored with scoring.py.
    Summary tables are not touched: call services.summary_rebuild afterwards."""
    questionnaire = period.questionnaire()
    weights = questionnaire_weights(questionnaire)
    created = 0
    batch: list[AssessmentSpec] = []

    def flush():
        nonlocal created
        if not batch:
            return
        with transaction.atomic():
            assessments = []
            sheets = []
            for spec in batch:
                handed_in = spec.state != AssessmentState.DRAFT
                sheet = None
                if handed_in:
                    sheet = score_sheet(
                        {
                            pk: (weight, [(w, spec.answers[i][0]) for i, w in items])
                            for pk, (weight, items) in weights.items()
                        }
                    )
                sheets.append(sheet)
                assessments.append(
                    SelfAssessment(
                        employee_id=spec.employee_id,
                        period=period,
                        unit_id=spec.unit_id,
                        state=spec.state,
                        version=2 if handed_in else 1,
                        index_score=float(sheet.index) if sheet else None,
                        grade=sheet.grade if sheet else "",
                        submitted_at=spec.at if handed_in else None,
                        reviewed_at=spec.at + datetime.timedelta(days=2) if spec.state == AssessmentState.APPROVED else None,
                        reviewed_by_id=spec.reviewer_id if spec.state == AssessmentState.APPROVED else None,
                    )
                )
            SelfAssessment.objects.bulk_create(assessments)
            ratings, scores, events = [], [], []
            for assessment, spec, sheet in zip(assessments, batch, sheets, strict=True):
                for indicator_id, (score, note) in spec.answers.items():
                    ratings.append(Rating(assessment=assessment, indicator_id=indicator_id, score=score, note=note))
                events.append(AssessmentEvent(assessment=assessment, actor_id=spec.user_id, from_state="", to_state=AssessmentState.DRAFT, at=spec.at - datetime.timedelta(days=1)))
                if sheet:
                    scores += [PillarScore(assessment=assessment, pillar_id=pk, score=float(s)) for pk, s in sheet.pillar_scores.items()]
                    events.append(AssessmentEvent(assessment=assessment, actor_id=spec.user_id, from_state=AssessmentState.DRAFT, to_state=AssessmentState.SUBMITTED, at=spec.at))
                if spec.state == AssessmentState.APPROVED:
                    events.append(AssessmentEvent(assessment=assessment, actor_id=spec.reviewer_id, from_state=AssessmentState.SUBMITTED, to_state=AssessmentState.APPROVED, at=spec.at + datetime.timedelta(days=2)))
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
