"""Disclosure control (assessments/disclosure.py, docs/RULES.md): no figure from fewer than 5
assessments reaches someone who may not see the people behind it, directly or by subtraction
within a table; a confidential period shows heads of unit group figures only; a reviewed one
works as before.

The hand-built organisation used below (closed period unless said otherwise):

    ROOT ─ A  (own staff: 5 people rating 2, index 25)
         │ ├ A1 (3 people rating 1, index 0)
         │ └ A2 (6 people rating 4, index 75)
         └ B  (7 people rating 5, index 100)

A1 has fewer than 5: hidden. A's total (14) is shown, so A1 would follow from A minus A2 minus
A's own staff: the next-smallest part, A's own staff (5), is hidden too.
"""

import csv
import datetime
import io
import json
import re
import subprocess
from types import SimpleNamespace

import pytest
from django.test import Client
from django.utils import timezone

from assessments import disclosure, periods, privacy
from assessments.models import AssessmentPeriod, OrganisationSetting, SelfAssessment, WorkUnit

from .conftest import create_period, make_employee, submitted_assessment

HIDDEN_VALUES = {"0,0", "25,0"}  # A1's index, and that of each of A's own staff


def sizes_of(tree: dict, own: dict) -> tuple[dict, dict]:
    """(sizes, parts) as disclosure._counts makes them, from {unit: [children]} and {unit: n own}."""
    parts: dict = {disclosure.ORGANISATION: []}
    sizes: dict = {}

    def total(unit) -> int:
        return own.get(unit, 0) + sum(total(child) for child in tree.get(unit, []))

    for unit in own:
        parts.setdefault(("T", unit), [])
        for child in tree.get(unit, []):
            parts[("T", unit)].append(("T", child))
        parts[("T", unit)].append(("O", unit))
        sizes[("T", unit)] = {"index": total(unit)}
        sizes[("O", unit)] = {"index": own.get(unit, 0)}
    children = {c for cs in tree.values() for c in cs}
    parts[disclosure.ORGANISATION] = [("T", u) for u in own if u not in children]
    sizes[disclosure.ORGANISATION] = {"index": sum(total(u) for u in own if u not in children)}
    return sizes, parts


def hidden_cells(tree, own) -> set:
    sizes, parts = sizes_of(tree, own)
    return {cell for dimension, cell in disclosure.protect(sizes, parts, 5) if dimension == "index"}


def test_a_group_under_five_is_hidden_and_so_is_the_next_smallest_part():
    hidden = hidden_cells({"ROOT": ["A", "B"], "A": ["A1", "A2"]}, {"ROOT": 0, "A": 5, "A1": 3, "A2": 6, "B": 7})
    assert ("T", "A1") in hidden and ("O", "A1") in hidden
    assert ("O", "A") in hidden  # 5 < 6: A's own staff is the next-smallest part of A
    assert ("T", "A2") not in hidden and ("T", "A") not in hidden and ("T", "B") not in hidden


def test_a_part_hidden_to_protect_another_is_protected_as_a_total_too():
    # P (30) = A (4) + B (12) + own (14); B = B1 (6) + B2 (6). A is hidden, so B (the
    # next-smallest) is; B's parts are both shown, so B = B1 + B2 would give it back: one of
    # them goes too.
    tree = {"P": ["A", "B"], "B": ["B1", "B2"]}
    hidden = hidden_cells(tree, {"P": 14, "A": 4, "B": 0, "B1": 6, "B2": 6})
    assert {("T", "A"), ("T", "B")} <= hidden
    assert len({("T", "B1"), ("T", "B2")} & hidden) == 1
    assert ("T", "P") not in hidden and ("O", "P") not in hidden


def test_no_equation_is_left_with_exactly_one_hidden_part():
    tree = {"R": ["A", "B", "C"], "A": ["A1", "A2", "A3"], "B": ["B1"], "C": ["C1", "C2"]}
    own = {"R": 2, "A": 0, "A1": 4, "A2": 9, "A3": 12, "B": 6, "B1": 2, "C": 1, "C1": 20, "C2": 5}
    sizes, parts = sizes_of(tree, own)
    hidden = {cell for _d, cell in disclosure.protect(sizes, parts, 5)}
    for total, cells in parts.items():
        members = [c for c in [total, *cells] if sizes[c]["index"] > 0]
        assert sum(c in hidden for c in members) != 1, (total, cells, hidden)


def test_band_counts_below_five_are_hidden_with_a_complement():
    sizes = {("T", "U"): {"index": 20, "sangat_baik": 0, "baik": 3, "butuh_perbaikan": 12, "kurang": 5, "sangat_kurang": 0}}
    hidden = disclosure.protect(sizes, {("T", "U"): []}, 5)
    assert ("baik", ("T", "U")) in hidden and ("kurang", ("T", "U")) in hidden
    assert ("butuh_perbaikan", ("T", "U")) not in hidden and ("index", ("T", "U")) not in hidden


def test_everything_shown_when_every_group_is_large():
    assert hidden_cells({"R": ["A", "B"]}, {"R": 0, "A": 5, "B": 9}) == set()


# --- The same organisation in the application ---------------------------------------------------


def confidential(settings):
    settings.ASSESSMENT_VISIBILITY = "confidential"


@pytest.fixture
def org(db, settings):
    """The organisation of the module docstring, with a head of A, and its people."""
    root = WorkUnit.objects.add_root({"code": "ROOT", "name": "Kementerian Uji"})
    a = WorkUnit.objects.add_child(root, {"code": "A", "name": "Direktorat A"})
    a = WorkUnit.objects.get(pk=a.pk)
    a1 = WorkUnit.objects.add_child(a, {"code": "A1", "name": "Subdirektorat A1"})
    a = WorkUnit.objects.get(pk=a.pk)
    a2 = WorkUnit.objects.add_child(a, {"code": "A2", "name": "Subdirektorat A2"})
    root = WorkUnit.objects.get(pk=root.pk)
    b = WorkUnit.objects.add_child(root, {"code": "B", "name": "Direktorat B"})
    units = {u.code: WorkUnit.objects.get(pk=u.pk) for u in (root, a, a1, a2, b)}
    head = make_employee("kepala", units["A"], heads=units["A"], name="Kepala A")
    people = {"A": [head]}
    for code, n in (("A", 4), ("A1", 3), ("A2", 6), ("B", 7)):
        people.setdefault(code, []).extend(make_employee(f"{code.lower()}-{i}", units[code], name=f"Orang {code} {i}") for i in range(n))
    return SimpleNamespace(units=units, head=head, people=people, admin=make_admin())


def make_admin():
    from django.contrib.auth import get_user_model

    return get_user_model().objects.create_superuser("admin", "admin@example.go.id", "x")


SCORES = {"A": 2, "A1": 1, "A2": 4, "B": 5}


def run_period(org, year: int, quarter: int, *, close: bool = True, absent=()) -> AssessmentPeriod:
    """Open a period, let everyone submit (their unit's score) but `absent`, close it if asked."""
    today = timezone.localdate()
    period = create_period(year, quarter, opens_on=today - datetime.timedelta(days=5), closes_on=today + datetime.timedelta(days=5))
    for code, employees in org.people.items():
        for employee in employees:
            if employee not in absent:
                submitted_assessment(employee, period, SCORES[code])
    if close:
        periods.period_close(period=period)
        period.refresh_from_db()
    return period


def figures(html: str) -> list[str]:
    """Every figure a page shows: numeric cells, the big numbers, and the charts' data."""
    found = re.findall(r'<td class="num[^"]*"[^>]*>(.*?)</td>', html, re.S)
    found += re.findall(r'data-testid="(?:index-mean|pillar-\d+)"[^>]*>(.*?)<', html)
    for data in re.findall(r'<script id="[\w-]+-chart-data" type="application/json">(.*?)</script>', html, re.S):
        for dataset in json.loads(data)["datasets"]:
            found += [f"{value:.1f}".replace(".", ",") for value in dataset["data"] if value is not None]
    return [re.sub(r"<[^>]+>", "", text).strip() for text in found]


def test_a_confidential_closed_period_hides_the_small_unit_and_its_complement(org, settings, client):
    confidential(settings)
    period = run_period(org, 2025, 4)
    assert period.is_confidential
    client.force_login(org.head.user)
    html = client.get("/unit/A/sub-unit/", {"periode": period.code}).content.decode()
    rows = dict(re.findall(r'<tr data-unit="(\w+)">.*?data-col="index">(.*?)</td>', html, re.S))
    assert "75,0" in rows["A2"]
    assert "disembunyikan" in rows["A1"] and "0,0" not in rows["A1"]
    assert "disembunyikan" in rows["A"]  # the row of A's own staff
    assert not HIDDEN_VALUES & set(figures(html))
    dashboard = client.get("/unit/A/", {"periode": period.code}).content.decode()
    assert 'data-testid="index-mean">41,1<' in dashboard  # (3×0 + 6×75 + 5×25) / 14: a group of 14
    assert 'data-testid="confidential-note"' in dashboard
    bands = dict(re.findall(r'data-testid="band-(\w+)">(.*?)</td>', dashboard))
    assert bands == {"sangat_baik": "0", "baik": "6", "butuh_perbaikan": "0", "kurang": "0", "sangat_kurang": "8"}
    small = client.get("/unit/A1/", {"periode": period.code}).content.decode()
    assert 'data-testid="index-withheld"' in small and 'data-testid="index-mean"' not in small
    assert not HIDDEN_VALUES & set(figures(small))


def test_the_export_hides_what_the_page_hides(org, settings, client):
    confidential(settings)
    period = run_period(org, 2025, 4)
    client.force_login(org.head.user)
    body = client.get("/unit/A/ekspor/sub-unit.csv", {"periode": period.code}).content.decode("utf-8-sig")
    lines = {row[0]: row for row in csv.reader(io.StringIO(body), delimiter=";")}
    assert lines["A2"][6] == "75,0"
    assert lines["A1"][6] == "" and lines["A1"][3] == "3"  # the count stays: participation is public
    own = next(row for code, row in lines.items() if code == "A")
    assert own[6] == ""
    staff = client.get("/unit/A/ekspor/pegawai.csv", {"periode": period.code, "semua": "1"}).content.decode("utf-8-sig")
    header, *rows = list(csv.reader(io.StringIO(staff), delimiter=";"))
    assert header == ["Nama", "NIP", "Jabatan", "Unit kerja", "Sudah mengirim?"]
    assert {row[4] for row in rows} == {"Ya"} and len(rows) == 14


def test_reviewed_mode_shows_the_head_every_figure_as_before(org, client):
    period = run_period(org, 2025, 4)
    assert not period.is_confidential
    client.force_login(org.head.user)
    html = client.get("/unit/A/sub-unit/", {"periode": period.code}).content.decode()
    rows = dict(re.findall(r'<tr data-unit="(\w+)">.*?data-col="index">(.*?)</td>', html, re.S))
    assert "0,0" in rows["A1"] and "disembunyikan" not in html
    staff = client.get("/unit/A/pegawai/", {"periode": period.code, "semua": "1"}).content.decode()
    assert "/hasil/" in staff


def test_staff_see_their_unit_mean_only_when_disclosure_allows_it(org, settings):
    for mode in ("reviewed", "confidential"):
        settings.ASSESSMENT_VISIBILITY = mode
        period = run_period(org, 2024 if mode == "reviewed" else 2025, 4)
        assert privacy.unit_mean_for_staff(unit=org.units["A1"], period=period) is None  # 3 people
        assert privacy.unit_mean_for_staff(unit=org.units["A2"], period=period).mean == pytest.approx(75)
        assert privacy.unit_mean_for_staff(unit=org.units["A"], period=period).counted == 14


def test_a_confidential_open_period_shows_participation_and_no_score(org, settings, client):
    confidential(settings)
    run_period(org, 2026, 1, close=False)
    client.force_login(org.head.user)
    dashboard = client.get("/unit/A/").content.decode()
    assert 'data-testid="counted">14<' in dashboard
    assert 'data-testid="index-withheld"' in dashboard and 'data-testid="index-mean"' not in dashboard
    assert "Skor tampil setelah periode ditutup" in dashboard
    staff = client.get("/unit/A/pegawai/", {"semua": "1"}).content.decode()
    assert "/hasil/" not in staff and "/tinjau/" not in staff and 'name="pilih"' not in staff
    assert staff.count(">Ya<") == 14
    someone = SelfAssessment.objects.get(employee=org.people["A1"][0])
    for url in (f"/hasil/{someone.pk}/", f"/tinjau/{someone.pk}/"):
        assert client.get(url).status_code == 404
    assert client.post(f"/tinjau/{someone.pk}/setujui/").status_code == 404
    client.post("/unit/A/setujui/", {"pilih": [someone.pk], "konfirmasi": "1"})
    assert SelfAssessment.objects.get(pk=someone.pk).state == "submitted"
    # The admin too sees group figures only: only the person and the assessment team see answers.
    admin = Client()
    admin.force_login(org.admin)
    assert admin.get(f"/hasil/{someone.pk}/").status_code == 404
    assert 'data-testid="index-mean"' not in admin.get("/unit/A/").content.decode()
    listing = admin.get("/admin/assessments/selfassessment/").content.decode()
    assert "rahasia" in listing and "0.0" not in listing


def test_the_visibility_is_fixed_when_a_period_opens(org, settings):
    confidential(settings)
    first = run_period(org, 2025, 4, close=True)
    OrganisationSetting.objects.create(pk=1, visibility="reviewed")
    assert OrganisationSetting.current().visibility == "reviewed"
    first.refresh_from_db()
    assert first.visibility == "confidential"  # kept
    second = create_period(2026, 1)
    assert second.visibility == "reviewed"


def pdf_text(content: bytes) -> str:
    """The text of a PDF, as pdftotext reads it (poppler-utils)."""
    return subprocess.run(["pdftotext", "-layout", "-", "-"], input=content, capture_output=True, check=True).stdout.decode()


def crawl(client, start: list[str]) -> dict[str, str]:
    """GET every page and export reachable from `start` under /unit/ and return {url: body}."""
    seen, queue, pages = set(), list(start), {}
    while queue:
        url = queue.pop()
        if url in seen:
            continue
        seen.add(url)
        response = client.get(url)
        assert response.status_code in (200, 302, 404), (url, response.status_code)
        if response.status_code != 200:
            continue
        path = url.split("?")[0]
        if path.endswith(".pdf"):  # the unit's PDF report: its text, checked like the pages
            body = pdf_text(response.content)
        else:
            body = response.content.decode("utf-8-sig") if not path.endswith(".xlsx") else ""
        pages[url] = body
        for link in re.findall(r'href="([^"#]+)"', body):
            link = link.replace("&amp;", "&")
            if link.startswith("?"):
                link = url.split("?")[0] + link
            if link.startswith("/unit/") or link.startswith("/hasil/") or link.startswith("/tinjau/") or link.startswith("/bukti/"):
                queue.append(link)
    return pages


def test_crawling_every_page_as_a_head_of_unit_in_confidential_mode_shows_no_individual_figure(org, settings, client, pdf_tools):
    confidential(settings)
    closed = run_period(org, 2025, 4)
    run_period(org, 2026, 1, close=False)
    client.force_login(org.head.user)
    start = [f"/unit/{code}/{tab}?periode={p}" for code in ("A", "A1", "A2") for tab in ("", "sub-unit/", "pegawai/")
             for p in (closed.code, "2026-Q1")]
    start += [f"/unit/A/sub-unit/?periode={closed.code}&tampilan=pohon", f"/unit/A/pegawai/?periode={closed.code}&semua=1"]
    pages = crawl(client, start)
    assert len(pages) > 20
    for url, body in pages.items():
        assert not re.search(r"/(hasil|tinjau|bukti)/\d+", body), url  # no individual page is linked
        if url.startswith("/unit/") and ".csv" not in url:
            shown = re.findall(r"(?<![\d,±+−])\d+,\d", body) if ".pdf" in url else figures(body)
            assert not HIDDEN_VALUES & set(shown), url
        if "pegawai" in url:
            assert "Indeks" not in body.split("staff-table", 1)[-1].split("</table>")[0], url
    assert any(".pdf" in url for url in pages)  # the reports were crawled too
    # Every sub-unit table leaves no single hidden part beside a shown total (the unit's
    # figure on its summary tab).
    for url, body in pages.items():
        if "/sub-unit/" in url and "tampilan=pohon" not in url and "periode=2025-Q4" in url:
            total = client.get(url.replace("sub-unit/", "")).content.decode()
            if 'data-testid="index-mean"' not in total:
                continue
            parts = re.findall(r'data-col="n">(\d+)</td>.*?data-col="index">(.*?)</td>', body, re.S)
            hidden = [n for n, cell in parts if int(n) > 0 and "disembunyikan" in cell]
            assert len(hidden) != 1, (url, parts)


def test_a_change_is_shown_only_when_both_periods_show_their_figure(org, settings, client):
    confidential(settings)
    before = run_period(org, 2025, 3, absent=org.people["A2"][:2])  # A2: 4 people, hidden
    now = run_period(org, 2025, 4)
    client.force_login(org.head.user)
    a2 = client.get("/unit/A2/", {"periode": now.code}).content.decode()
    assert 'data-testid="index-mean">75,0<' in a2
    assert "dibanding" not in a2.split('data-testid="index-mean"')[1].split("</div>")[0]  # no change line
    trend = re.search(r'data-testid="trend-table">(.*?)</table>', a2, re.S).group(1)
    assert re.findall(r'<td class="num">(.*?)</td><td class="num">(\d+)</td>', trend) == [("–", "4"), ("75,0", "6")]
    assert {p.code for p in (before, now)} == {"2025-Q3", "2025-Q4"}
    # In a reviewed period the head sees both sides, and the change.
    OrganisationSetting.objects.create(pk=1, visibility="reviewed")
    AssessmentPeriod.objects.filter(pk__in=[before.pk, now.pk]).update(visibility="reviewed")
    page = client.get("/unit/A2/", {"periode": now.code}).content.decode()
    assert "±0,0 dibanding" in page.split('data-testid="index-mean"')[1].split("</div>")[0]


def test_staff_are_told_a_confidential_submission_is_final(org, settings, client):
    confidential(settings)
    run_period(org, 2026, 1, close=False)
    client.force_login(org.people["A1"][0].user)
    page = client.get("/penilaian/").content.decode()
    assert 'data-testid="submitted-final"' in page and "menunggu" not in page.lower()


def test_the_admin_sees_a_confidential_period_under_disclosure_control_too(org, settings, client):
    confidential(settings)
    period = run_period(org, 2025, 4)
    client.force_login(org.admin)
    rekap = client.get("/rekap/", {"periode": period.code}).content.decode()
    rows = dict(re.findall(r'<tr data-unit="(\w+)">.*?data-col="index">(.*?)</td>', rekap, re.S))
    assert "disembunyikan" in rows["A1"] and "75,0" in rows["A2"]
    staff = client.get("/unit/A/pegawai/", {"periode": period.code, "semua": "1"}).content.decode()
    assert "/hasil/" not in staff and staff.count(">Ya<") == 14
