"""Load the demo organisation: a ministry-like unit tree, about 300 staff, closed quarters of
assessments (the first of them with non-default weights) and the current quarter open.
Idempotent: a second run changes nothing."""

import random
from contextlib import contextmanager, nullcontext
from decimal import Decimal

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone

from assessments import periods, permissions, summaries, verification
from assessments.models import (
    AssessmentPeriod,
    AssessmentState,
    Employee,
    Indicator,
    OfficeAdminAssignment,
    Pillar,
    Rating,
    SupervisorAssignment,
    Verification,
    VerifierAssignment,
    WorkUnit,
)
from assessments.synthetic import (
    POSITIONS,
    AssessmentSpec,
    bulk_create_assessments,
    draw_ratings,
    moment_in,
    nip_for,
    person_name,
    unit_profile,
)

DEMO_PASSWORD = "asn-demo-2026"
ROOT_CODE = "KEMENDAGRI"

# (code, name, children): 1 root, 5 echelon-I units, 31 units in all, 4 levels.
TREE = (
    ROOT_CODE, "Kementerian Dalam Negeri", [
        ("SETJEN", "Sekretariat Jenderal", [
            ("SETJEN-RO-UM", "Biro Umum", [("SETJEN-RO-UM-TU", "Bagian Tata Usaha", [])]),
            ("SETJEN-RO-KEU", "Biro Keuangan dan Barang Milik Negara", []),
            ("SETJEN-RO-ORG", "Biro Organisasi dan Tata Laksana", []),
            ("SETJEN-RO-HKM", "Biro Hukum", []),
        ]),
        ("ITJEN", "Inspektorat Jenderal", [
            ("ITJEN-IR1", "Inspektorat Wilayah I", []),
            ("ITJEN-IR2", "Inspektorat Wilayah II", []),
            ("ITJEN-IR3", "Inspektorat Wilayah III", []),
            ("ITJEN-IRK", "Inspektorat Khusus", []),
        ]),
        ("DUKCAPIL", "Direktorat Jenderal Kependudukan dan Pencatatan Sipil", [
            ("DUKCAPIL-PDP", "Direktorat Pendaftaran Penduduk", [
                ("DUKCAPIL-PDP-IDN", "Subdirektorat Identitas Penduduk", []),
                ("DUKCAPIL-PDP-PIN", "Subdirektorat Pindah Datang Penduduk", []),
            ]),
            ("DUKCAPIL-CAPIL", "Direktorat Pencatatan Sipil", [
                ("DUKCAPIL-CAPIL-KLH", "Subdirektorat Kelahiran dan Kematian", []),
            ]),
            ("DUKCAPIL-PIAK", "Direktorat Pengelolaan Informasi Administrasi Kependudukan", [
                ("DUKCAPIL-PIAK-SIAK", "Subdirektorat Sistem Informasi Administrasi Kependudukan", []),
            ]),
        ]),
        ("ADWIL", "Direktorat Jenderal Bina Administrasi Kewilayahan", [
            ("ADWIL-TAPUM", "Direktorat Kawasan, Perkotaan dan Batas Negara", []),
            ("ADWIL-PPD", "Direktorat Polisi Pamong Praja dan Pelindungan Masyarakat", [
                ("ADWIL-PPD-LINMAS", "Subdirektorat Pelindungan Masyarakat", []),
            ]),
            ("ADWIL-DAMKAR", "Direktorat Manajemen Penanggulangan Bencana dan Kebakaran", []),
            ("ADWIL-TAPEM", "Direktorat Toponimi dan Batas Daerah", []),
        ]),
        ("OTDA", "Direktorat Jenderal Otonomi Daerah", [
            ("OTDA-FKDPRD", "Direktorat Fasilitasi Kepala Daerah dan DPRD", []),
            ("OTDA-EKPD", "Direktorat Evaluasi Kinerja dan Peningkatan Kapasitas Daerah", [
                ("OTDA-EKPD-EVA", "Subdirektorat Evaluasi Kinerja", []),
            ]),
            ("OTDA-PENATAAN", "Direktorat Penataan Daerah, Otonomi Khusus dan DPOD", []),
        ]),
    ],
)

# The first closed quarter was opened with Anti-Korupsi weighted 1.5 among the pillars and AK-3
# (no unofficial fees) weighted 3 within it, so the weighted formulas run on real past data.
WEIGHTED_PILLARS = {"AK": Decimal("1.5")}
WEIGHTED_INDICATORS = {"AK-3": Decimal("3")}

# The demo logins of the README: `atasan` heads DUKCAPIL; `pegawai` works two levels below it;
# `adminopd` administers DUKCAPIL's units and staff (Admin OPD).
ATASAN_UNIT = "DUKCAPIL"
PEGAWAI_UNIT = "DUKCAPIL-PDP-IDN"
ADMINOPD_UNIT = "DUKCAPIL"


@contextmanager
def framework_weights(pillars: dict[str, Decimal], indicators: dict[str, Decimal]):
    """Give the framework's pillars and indicators (by code) these weights, and their own back
    on leaving. Saved one by one, so the framework's history shows the change and the change back."""
    changed = [
        *((pillar, pillar.weight) for pillar in Pillar.objects.filter(code__in=pillars)),
        *((indicator, indicator.weight) for indicator in Indicator.objects.filter(code__in=indicators)),
    ]
    weights = pillars | indicators
    for row, _old in changed:
        row.weight = weights[row.code]
        row.save(update_fields=["weight"])
    try:
        yield
    finally:
        for row, old in changed:
            row.weight = old
            row.save(update_fields=["weight"])


def _walk(node, parent=None):
    code, name, children = node
    yield code, name, parent
    for child in children:
        yield from _walk(child, code)


def _reviewer_for(employee, units, heads) -> int | None:
    """The user id of the head of the nearest unit above the person (not themselves)."""
    for path in reversed(WorkUnit.chain_paths(employee.unit.path)):  # nearest unit first
        for code, head in heads.items():
            if units[code].path == path and head.pk != employee.pk:
                return head.user_id
    return None


def _period_opened(year: int, quarter: int, *, weighted: bool) -> AssessmentPeriod:
    """Create and open a quarter. The first one (always closed) is opened with non-default
    weights on the framework: period_open is the one place that freezes a questionnaire, so
    that period's rows hold what the framework held when it opened, as for any real period,
    and no frozen row is edited after the fact. The defaults are back before the next one."""
    opens_on, closes_on = periods.quarter_dates(year, quarter)
    period = AssessmentPeriod.objects.create(year=year, quarter=quarter, opens_on=opens_on, closes_on=closes_on)
    with framework_weights(WEIGHTED_PILLARS, WEIGHTED_INDICATORS) if weighted else nullcontext():
        periods.period_open(period=period, loads_history=True)
    period.refresh_from_db()  # its status and the visibility it opened with
    return period


def _demo_state(rng, *, is_current: bool, is_pegawai: bool) -> str | None:
    """A person's state in a demo quarter (None: not started). pegawai has approved every
    closed quarter and has not started the current one: the demo journey."""
    if is_pegawai and is_current:
        return None
    roll = rng.random()  # drawn for pegawai too, so every other person's draws stay the same
    if is_pegawai:
        return AssessmentState.APPROVED
    if is_current:
        return AssessmentState.SUBMITTED if roll < 0.35 else AssessmentState.APPROVED if roll < 0.45 else AssessmentState.DRAFT if roll < 0.6 else None
    return None if roll < 0.1 else AssessmentState.SUBMITTED if roll < 0.25 else AssessmentState.APPROVED


class Command(BaseCommand):
    help = "Load demo data (units, about 300 staff, 2026-Q1 to Q3 closed, the current quarter open). Idempotent."

    def add_arguments(self, parser):
        parser.add_argument("--force", action="store_true", help="Run even though DEBUG is off.")

    def handle(self, *args, force=False, **options):
        if not settings.DEBUG and not force:
            raise CommandError("seed_demo refuses to run with DEBUG off (a production database?). Use --force to run anyway.")
        if WorkUnit.objects.filter(code=ROOT_CODE).exists():
            self.stdout.write("Demo data already loaded: nothing to do.")
            return
        if WorkUnit.objects.exists() or Employee.objects.exists():
            raise CommandError("The database already holds units or staff that are not the demo's; seed_demo leaves it alone.")
        with transaction.atomic():
            self._load()
        self.stdout.write(self.style.SUCCESS(
            f"Demo loaded: {WorkUnit.objects.count()} units, {Employee.objects.count()} staff, "
            f"{AssessmentPeriod.objects.count()} periods. Logins: admin, atasan, pegawai, penilai, adminopd (password {DEMO_PASSWORD})."
        ))

    def _load(self):
        rng = random.Random(2026)
        User = get_user_model()
        password = make_password(DEMO_PASSWORD)  # hashed once: 300 hashes would take minutes

        units: dict[str, WorkUnit] = {}
        for code, name, parent in _walk(TREE):
            fields = {"code": code, "name": name}
            units[code] = WorkUnit.objects.add_root(fields) if parent is None else WorkUnit.objects.add_child(units[parent], fields)

        taken: set[str] = set()
        users, employees = [], []

        def person(username, name, unit, position):
            nip = nip_for(rng, taken)
            user = User(username=username or nip, password=password, first_name=name[:150],
                        email=f"{(username or nip)}@demo.kemendagri.go.id")
            users.append(user)
            employees.append(Employee(user=user, nip=nip, full_name=name, position=position, unit=unit))
            return employees[-1]

        heads: dict[str, Employee] = {}
        for code, unit in units.items():
            if unit.depth <= 2 or (unit.depth == 3 and rng.random() < 0.6):
                title = {1: "Sekretaris Jenderal", 2: "Direktur Jenderal"}.get(unit.depth, "Direktur")
                username = "atasan" if code == ATASAN_UNIT else None
                name = "Ratna Kusumawardani" if username else person_name(rng)
                heads[code] = person(username, name, unit, title)
        for unit in units.values():
            size = 4 if unit.depth == 1 else 6 if unit.depth == 2 else rng.randint(8, 14)
            for _ in range(size):
                person(None, person_name(rng), unit, rng.choice(POSITIONS))
        pegawai = person("pegawai", "Budi Santoso", units[PEGAWAI_UNIT], "Analis Kependudukan")

        User.objects.bulk_create(users)
        for employee in employees:
            employee.user_id = employee.user.pk
        Employee.objects.bulk_create(employees)
        SupervisorAssignment.objects.bulk_create(
            SupervisorAssignment(employee=head, unit=units[code]) for code, head in heads.items()
        )
        User.objects.create_superuser("admin", "admin@demo.kemendagri.go.id", DEMO_PASSWORD, first_name="Admin Kepegawaian")
        # The internal assessment team: one member with the whole organisation in scope.
        penilai = User.objects.create_user("penilai", "penilai@demo.kemendagri.go.id", DEMO_PASSWORD, first_name="Tim Penilai Internal")
        penilai.groups.add(Group.objects.get_or_create(name=permissions.VERIFIER_GROUP)[0])
        VerifierAssignment.objects.create(user=penilai, unit=units[ROOT_CODE])
        # An office admin (Admin OPD) of one echelon-I unit: its units and staff, its Rekap.
        adminopd = User.objects.create_user("adminopd", "adminopd@demo.kemendagri.go.id", DEMO_PASSWORD, first_name="Admin OPD Dukcapil")
        adminopd.groups.add(Group.objects.get_or_create(name=permissions.OFFICE_ADMIN_GROUP)[0])
        OfficeAdminAssignment.objects.create(user=adminopd, unit=units[ADMINOPD_UNIT])

        self._assessments(rng, units, employees, heads, pegawai)
        self._verifications(rng, penilai)

    def _verifications(self, rng, penilai):
        """Most of each closed period's sample verified: mostly agreed, some answers marked
        down with a reason (self-ratings run high), a few still waiting for evidence."""
        reasons = ["Bukti tidak menunjukkan kegiatan tersebut.", "Dokumen yang diunggah tidak sesuai pernyataan.", "Tidak ada bukti pendukung."]
        for found in Verification.objects.filter(period__status=AssessmentPeriod.Status.CLOSED).order_by("pk"):
            roll = rng.random()
            if roll > 0.8:
                continue  # still to verify
            ratings = list(Rating.objects.filter(assessment_id=found.assessment_id).order_by("pk"))
            decisions = {}
            for rating in ratings:
                if rating.score and rating.score > 1 and rng.random() < 0.3:
                    decisions[rating.pk] = ("adjust", rating.score - 1, rng.choice(reasons))
                else:
                    decisions[rating.pk] = ("agree", None, "")
            if roll > 0.75:
                decisions[ratings[0].pk] = ("evidence", None, "Mohon unggah bukti kegiatan (daftar hadir atau foto).")
            found = verification.decisions_save(verification=found, version=found.version, decisions=decisions, actor=penilai)
            if roll <= 0.75:
                verification.verification_complete(verification=found, version=found.version, actor=penilai)

    def _assessments(self, rng, units, employees, heads, pegawai):
        today = timezone.localdate()
        current_quarter = (today.month - 1) // 3 + 1
        quarters = [(today.year, q) for q in range(1, current_quarter)] or [(today.year - 1, 4)]
        profiles = {}
        reviewers = {employee.pk: _reviewer_for(employee, units, heads) for employee in employees}
        for position, (year, quarter) in enumerate(quarters + [(today.year, current_quarter)]):
            period = _period_opened(year, quarter, weighted=position == 0)
            questionnaire = period.questionnaire()
            if not profiles:
                pillar_ids = [p.pillar_id for p in questionnaire]
                profiles = {code: unit_profile(rng, pillar_ids) for code in units}
            is_current = (year, quarter) == (today.year, current_quarter)
            drift = 0.08 * position  # a slow improvement over the year
            specs = []
            for employee in employees:
                state = _demo_state(rng, is_current=is_current, is_pegawai=employee.pk == pegawai.pk)
                if state is None:
                    continue
                if state == AssessmentState.APPROVED and period.is_confidential:
                    state = AssessmentState.SUBMITTED  # no review step: a submission is final
                answers = draw_ratings(rng, questionnaire, profiles[employee.unit.code], drift)
                if state == AssessmentState.DRAFT:
                    answers = dict(list(answers.items())[: rng.randint(3, len(answers) - 1)])
                specs.append(AssessmentSpec(
                    employee_id=employee.pk, user_id=employee.user_id, unit_id=employee.unit_id, state=state,
                    answers=answers, at=moment_in(period, rng, latest=today),
                    reviewer_id=None if period.is_confidential else reviewers[employee.pk],
                ))
            bulk_create_assessments(period=period, specs=specs)
            summaries.summary_rebuild(period=period)
            summaries.period_expected_refresh(period=period)
            if not is_current:
                periods.period_close(period=period)
        # Give the next quarter a planned period, so admins can try opening it.
        periods.period_create_next()
