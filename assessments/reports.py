"""PDF documents, made with WeasyPrint: A4, the shipped DejaVu fonts, page numbers, in the
reader's language. Nothing is fetched while a document is made: only files under static/ are
read (`StaticOnly`), so a report never reaches the network.

- "Bukti Penilaian Mandiri": a person's own submitted assessment, with a verification code that
  /verifikasi/<code>/ confirms publicly (name, period, index, date; never the answers).
- "Laporan Hasil Penilaian Mandiri Integritas" of a unit and period: the unit dashboard's
  figures, masked exactly as the page masks them for this reader (dashboard_context), with a
  signature block; for the whole organisation (every echelon-I unit) as a background job, and
  for an office admin their own units (each with the units directly below it), under disclosure
  control like the Rekap they start it from.
"""

import secrets
from pathlib import Path
from urllib.parse import urlencode

from django.conf import settings
from django.db import IntegrityError, transaction
from django.http import HttpResponse
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.translation import gettext as _

from . import permissions, structure
from .errors import ServiceError
from .jobs import Outcome, Progress, runner
from .models import AssessmentReceipt, Job, SelfAssessment, SupervisorAssignment, WorkUnit

STATIC_DIR = (Path(settings.BASE_DIR) / "static").resolve()
# Letters and digits that cannot be misread for each other (no 0/O, 1/I/L).
CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"


def _static_only():
    """WeasyPrint may read the app's own static files (fonts, the stylesheet), nothing else.
    (WeasyPrint is imported when a document is made: a web worker that makes none pays nothing.)"""
    from weasyprint.urls import URLFetcher

    class StaticOnly(URLFetcher):
        def fetch(self, url, headers=None):
            path = Path(url.removeprefix("file://").split("?")[0]).resolve()
            if not path.is_relative_to(STATIC_DIR):
                raise ValueError(f"not fetched for a report: {url}")
            return super().fetch(url, headers)

    return StaticOnly(allowed_protocols=("file",))


def pdf_bytes(template: str, context: dict) -> bytes:
    try:
        from weasyprint import HTML
    except OSError:  # the system's Pango library is missing (the Dockerfile and .ci/run install it)
        raise ServiceError(
            _("This server cannot make PDF files yet: it lacks the Pango library (Debian: apt-get install libpango-1.0-0 libpangoft2-1.0-0)."),
            code="no_pdf",
        ) from None

    html = render_to_string(template, context)
    return HTML(string=html, base_url=f"file://{STATIC_DIR}/", url_fetcher=_static_only()).write_pdf()


def pdf_response(content: bytes, filename: str) -> HttpResponse:
    response = HttpResponse(content, content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


# --- Charts drawn on the server ------------------------------------------------------------------


def bar_chart(labels: list[str], series: list[tuple[str, list]]) -> dict:
    """Horizontal bars on a 0-100 scale, one group per label and one bar per series (a value
    None draws no bar): the geometry that templates/assessments/pdf/_bars.svg draws."""
    bar, gap, label_width, width = 9, 8, 170, 480
    scale = (width - label_width - 40) / 100
    rows, y = [], 6
    for index, label in enumerate(labels):
        bars = []
        for number, (_name, values) in enumerate(series):
            value = values[index]
            length = round((value or 0) * scale, 1)
            top = y + number * bar
            bars.append({"y": top, "width": length, "value": value, "series": number, "text_x": label_width + length + 3, "text_y": top + 7})
        rows.append({"label": label, "text_y": y + bar * len(series) / 2 + 3, "bars": bars})
        y += bar * max(len(series), 1) + gap
    height = y + 18
    return {
        "width": width,
        "height": height,
        "label_width": label_width,
        "label_x": label_width - 6,
        "axis_y": height - 14,
        "tick_y": height - 4,
        "rows": rows,
        "legend": [name for name, _values in series],
        "grid": [{"x": round(label_width + tick * scale, 1), "tick": tick} for tick in (0, 25, 50, 75, 100)],
    }


# --- Bukti Penilaian Mandiri ---------------------------------------------------------------------


def receipt_issue(assessment: SelfAssessment) -> AssessmentReceipt:
    """The receipt of this submission (one per assessment and submission time; a new code once
    the assessment is returned and submitted again)."""
    if not assessment.is_counted or assessment.submitted_at is None:
        raise ServiceError(_("Only a submitted assessment has a receipt."), code="not_submitted")
    found = AssessmentReceipt.objects.filter(assessment=assessment, submitted_at=assessment.submitted_at).first()
    if found:
        return found
    code = "-".join("".join(secrets.choice(CODE_ALPHABET) for _ in range(4)) for _ in range(3))
    try:
        with transaction.atomic():
            return AssessmentReceipt.objects.create(
                code=code, assessment=assessment, submitted_at=assessment.submitted_at, index_score=assessment.index_score
            )
    except IntegrityError:  # the same submission asked for twice at once
        return AssessmentReceipt.objects.get(assessment=assessment, submitted_at=assessment.submitted_at)


def receipt_lookup(code: str) -> dict | None:
    """What /verifikasi/<code>/ confirms: the person's name, the period, the index and dates of
    the receipt, and whether the assessment still stands as it did then."""
    receipt = (
        AssessmentReceipt.objects.select_related("assessment__employee", "assessment__period")
        .filter(code=code.strip().upper())
        .first()
    )
    if receipt is None:
        return None
    assessment = receipt.assessment
    return {
        "receipt": receipt,
        "name": assessment.employee.full_name,
        "period": assessment.period,
        "current": assessment.is_counted and assessment.submitted_at == receipt.submitted_at,
    }


# --- Laporan Hasil Penilaian Mandiri Integritas ----------------------------------------------------


def signatory(unit: WorkUnit | None) -> dict:
    """The signature block: the head of the unit (the outermost unit's head for the
    organisation), the place and today's date."""
    heads = SupervisorAssignment.objects.select_related("employee").filter(employee__is_active=True)
    head = heads.filter(unit=unit).first() if unit else heads.filter(unit__depth=1).first()
    return {
        "title": _("Head of %(unit)s") % {"unit": unit.name} if unit else _("Head of the agency"),
        "name": head.employee.full_name if head else "",
        "nip": head.employee.nip if head else "",
        "place": settings.REPORT_PLACE,
        "date": timezone.localdate(),
    }


def unit_report_context(request, code: str, get_unit=permissions.get_unit_for_user) -> dict:
    """The unit dashboard's figures as this reader sees them, its sub-units, the pillar chart
    and the signature block; the unit got through `get_unit` (404 outside the reader's scope)."""
    from .views.dashboards import dashboard_context, subunit_rows  # the pages' own figures

    context = dashboard_context(request, code, get_unit)
    unit, period, previous = context["unit"], context["period"], context["previous_period"]
    _mode, rows, _page = subunit_rows(request, unit, period, previous, paginate=False)
    chart = context["pillar_chart"]
    withheld = context["rollup"].withheld
    context |= {
        "subunits": rows,
        "chart": bar_chart(chart["labels"], [] if withheld else [(d["label"], d["data"]) for d in chart["datasets"]]),
        "signature": signatory(unit),
        "made_at": timezone.localtime(),
    }
    return context


@runner(Job.Kind.REPORTS_PDF)
def organisation_reports(job: Job, progress: Progress) -> Outcome:
    """One PDF: the organisation, then each echelon-I unit on its own pages (an office admin's:
    each of their units, then the units directly below it)."""
    user = job.started_by
    tops = permissions.managed_units(user)
    if tops is not None and not tops:
        raise ServiceError(_("Only admins may make the reports of the whole organisation."), code="not_admin")
    from .views.common import request_as
    from .views.dashboards import _period_choice

    request = request_as(user, urlencode({"periode": job.params.get("period", "")}))
    tree = structure.PeriodTree(_period_choice(request)[1])
    roots = tree.roots() if tops is None else [then for then in (tree.version_of(top) for top in tops) if then is not None]
    if not roots:
        raise ServiceError(_("The organisation has no work unit yet."), code="no_units")
    codes = [unit.code for root in roots for unit in (root, *tree.children(root))]
    sections = []
    progress(0, len(codes))
    for number, code in enumerate(codes, start=1):
        sections.append(unit_report_context(request, code, permissions.get_unit_for_figures))
        progress(number)
    period = sections[0]["period"]
    content = pdf_bytes("assessments/pdf/organisation_report.html", {"sections": sections, "period": period, "made_at": timezone.localtime()})
    return Outcome(
        summary=_("The report of %(count)s units is ready.") % {"count": len(codes)},
        filename=f"laporan-instansi_{period.code}.pdf",
        content=content,
    )
