"""CSV and XLSX downloads of the dashboards' tables: a unit's sub-units and staff, and the
organisation roll-up (Rekap Instansi). The header row is Indonesian whatever the UI language;
the unit's access comes from `permissions.get_unit_for_user`, the organisation's is admins'
(and office admins', for their own units: `organisation_for_user`)."""

from django.contrib.auth.decorators import login_required
from django.http import HttpResponseNotAllowed
from django.shortcuts import redirect
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from .. import disclosure, jobs, privacy, rollups
from ..db_router import dashboard_reads
from ..exports import csv_response, xlsx_bytes, xlsx_response
from ..models import AccessLog, AssessmentState, Job
from ..scoring import Grade, rounded
from .common import request_as
from .dashboards import organisation_for_user, staff_filters, subunit_rows, unit_page


def _rollup_header(pillars, compare=None) -> list[str]:
    header = [_("Unit code"), _("Work unit"), _("Level"), _("Assessments counted"), _("Staff expected"),
              _("Participation (%)"), _("Integrity index"), _("Grade")] + [p.name for p in pillars]
    if compare:
        header += [_("Index %(period)s") % {"period": compare}, _("Change")]
    return header


def _rollup_line(row, pillars, *, compare=None, indent: bool = False, top=None) -> list:
    unit = row.unit
    name = ("  " * (unit.depth - 1)) + unit.name if indent else unit.name
    if top is not None and row.key == top.path:  # the row of the unit's own staff, not its total
        name = _("Staff directly in %(unit)s (not the total)") % {"unit": unit.name}
    line = [unit.code, name, unit.depth, row.counted, row.expected,
            rounded(row.participation), rounded(row.index_mean), str(Grade(row.grade).label) if row.grade else ""]
    line += [rounded(row.pillar_mean(p.pillar_id)) for p in pillars]
    if compare:
        line += [rounded(row.previous.index_mean), rounded(row.index_change)]
    return line


def _verified_line(figures) -> list:
    """The verified assessments of a unit: how many, their mean verified index and the gap
    (empty below the minimum; verification.VerifiedRollup)."""
    if figures is None:  # a unit's own-staff row
        return [None, None, None]
    return [figures.counted, rounded(figures.verified_mean), rounded(figures.gap)]


def _download(fmt: str, filename: str, title: str, header, body):
    if fmt == "xlsx":
        return xlsx_response(filename, title, header, body)
    return csv_response(filename, header, body)


@login_required
@dashboard_reads
def unit_export(request, code, table, fmt):
    context = unit_page(request, code)
    unit, period, pillars = context["unit"], context["period"], context["pillars"]
    with translation.override("id"):
        if table == "sub-unit":
            _mode, rows, _page = subunit_rows(request, unit, period, context["previous_period"], paginate=False)
            verified = disclosure.verified_figures(request.user, period, [r.unit for r in rows])
            header = _rollup_header(pillars) + [_("Verified assessments"), _("Verified index"), _("Self − verified")]
            body = [_rollup_line(r, pillars, top=unit) + _verified_line(None if r.key == unit.path else verified[r.unit.pk]) for r in rows]
        else:
            header, body = _staff_export(request, unit, period)
        return _download(fmt, f"{table}_{unit.code}_{period.code}", f"{period.code} {unit.code}", header, body)


def _staff_export(request, unit, period):
    staff = rollups.staff_table(unit=unit, period=period, viewer=request.user, **staff_filters(request))
    if disclosure.scores_withheld(request.user, period):  # a confidential period: participation only
        header = [_("Name"), _("NIP"), _("Position"), _("Work unit"), _("Submitted?")]
        return header, (_participation_line(e) for e in staff.iterator(chunk_size=2000))
    privacy.access_record(
        viewer=request.user,
        action=AccessLog.Action.STAFF_EXPORT,
        unit=unit,
        period=period,
        people=staff.filter(a_index__isnull=False).values_list("pk", flat=True),
    )
    header = [_("Name"), _("NIP"), _("Position"), _("Work unit"), _("State"), _("Integrity index"), _("Grade"), _("Submitted at")]
    return header, (_staff_line(e) for e in staff.iterator(chunk_size=2000))


def _participation_line(employee) -> list:
    if employee.a_state == rollups.ELSEWHERE:
        submitted = rollups.staff_state_label(employee.a_state)
    else:
        submitted = _("Yes") if employee.a_state == AssessmentState.SUBMITTED else _("No")
    return [employee.full_name, employee.nip, employee.position, employee.unit.name, str(submitted)]


def _staff_line(employee) -> list:
    return [
        employee.full_name, employee.nip, employee.position, employee.unit.name,
        str(rollups.staff_state_label(employee.a_state)),
        rounded(employee.a_index),
        str(Grade(employee.a_grade).label) if employee.a_grade else "",
        # A date (Jakarta time, no zone: spreadsheets keep none) that sorts and filters as one.
        timezone.localtime(employee.a_submitted_at).replace(tzinfo=None) if employee.a_submitted_at else None,
    ]


@login_required
def organisation_export(request):
    """The Rekap Instansi as XLSX, with the page's filters (period, comparison, level), made in
    the background: admins and office admins only (organisation_for_user checks it now, the
    job again, with the starter's own units)."""
    return organisation_job(request, Job.Kind.REKAP_XLSX, lambda choice: {"query": request.POST.get("query", "")[:500]})


def organisation_job(request, kind: str, params_of):
    """Start a background job over the organisation from a button of the Rekap Instansi: admins
    and office admins only (organisation_for_user answers 403 to anyone else, before the 405 of a GET);
    `params_of(the page's choice)` gives the job's parameters. Then to the job's page."""
    choice = organisation_for_user(request)
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    job = jobs.job_start(kind=kind, user=request.user, params=params_of(choice))
    return redirect("assessments:job", pk=job.pk)


def organisation_workbook(user, query: str, progress=None) -> tuple[str, bytes]:
    """The file name and bytes of the Rekap Instansi workbook that `user` would see on the page
    with the query string `query`; `progress(done, total)` is told of every unit written."""
    choice = organisation_for_user(request_as(user, query))
    period, compare, pillars = choice["period"], choice["compare"], choice["pillars"]
    rows = rollups.rollups_of(units=choice["tree"].units(choice["units"]), period=period, previous=compare)
    disclosure.mask(user, rows, [period, compare])
    verified = disclosure.verified_figures(user, period, [r.unit for r in rows])

    if progress:
        progress(0, len(rows))

    def lines():
        for number, r in enumerate(rows, start=1):
            yield _rollup_line(r, pillars, compare=compare, indent=True) + _verified_line(verified[r.unit.pk])
            if progress and number % 200 == 0:
                progress(number, len(rows))

    with translation.override("id"):
        header = _rollup_header(pillars, compare) + [_("Verified assessments"), _("Verified index"), _("Self − verified")]
        content = xlsx_bytes(f"Rekap {period.code}", header, lines())
    return f"rekap-instansi_{period.code}.xlsx", content
