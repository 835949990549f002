"""The admin journey in a real browser: reword an indicator, close the current quarter, open
the next one with the new wording, while approved assessments keep their original wording and
scores. On a 1366 px desktop and a 360 px phone, with axe-core and the sideways-scroll check on
every page."""

import re

import pytest

from assessments.models import AssessmentPeriod, Employee, Indicator, PeriodIndicator, SelfAssessment

from .browser import assert_accessible, log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

MONTHS = ["Januari", "Februari", "Maret", "April", "Mei", "Juni", "Juli", "Agustus", "September", "Oktober", "November", "Desember"]
NEW_WORDING = "Saya menolak dan melaporkan setiap gratifikasi dalam 30 hari kerja."


@pytest.mark.parametrize("width", [1366, 360])
def test_admin_rewords_an_indicator_and_opens_the_next_quarter_with_it(live_server, demo, page_factory, width):
    pegawai = Employee.objects.get(user__username="pegawai")
    earlier = SelfAssessment.objects.filter(employee=pegawai, state="approved").order_by("-period__year", "-period__quarter").first()
    original = Indicator.objects.get(code="AK-1").statement
    stored = (earlier.index_score, list(earlier.pillar_scores.order_by("pk").values_list("score", flat=True)))

    page = page_factory(width=width)
    log_in(page, live_server.url, "admin")
    assert page.url.endswith("/rekap/")
    assert_accessible(page)

    page.goto(f"{live_server.url}/admin/assessments/indicator/?q=AK-1")
    assert_accessible(page)
    page.click("#result_list a:has-text('AK-1')")
    assert_accessible(page)
    page.fill("textarea[name=statement]", NEW_WORDING)
    page.click("input[name=_save]")
    page.wait_for_selector(".messagelist .success")
    assert_accessible(page)

    current = AssessmentPeriod.objects.get(status="open")
    page.goto(f"{live_server.url}/admin/assessments/assessmentperiod/{current.pk}/change/")
    assert_accessible(page)
    page.click("text=Tutup periode ini…")
    assert "draf" in page.locator("#content").inner_text().lower()  # drafts left: it asks first
    assert_accessible(page)
    page.click("input[type=submit][value='Ya, tutup periode']")
    page.wait_for_selector(".messagelist .success")
    assert_accessible(page)

    following = AssessmentPeriod.objects.get(status="planned")
    page.goto(f"{live_server.url}/admin/assessments/assessmentperiod/{following.pk}/change/")
    page.click("text=Buka periode ini…")
    # The next quarter starts later than today: the admin is told what staff will see.
    assert "pegawai baru dapat mulai menjawab" in page.locator("[data-testid=opens-early]").inner_text()
    assert_accessible(page)
    page.click("input[type=submit][value='Ya, buka sekarang, sebelum tanggal mulainya']")
    page.wait_for_selector(".messagelist .success")
    assert_accessible(page)
    following.refresh_from_db()
    assert following.status == "open"
    assert PeriodIndicator.objects.get(pillar__period=following, indicator__code="AK-1").statement == NEW_WORDING
    assert PeriodIndicator.objects.get(pillar__period=earlier.period, indicator__code="AK-1").statement == original

    # The admin sees which periods use which version.
    page.goto(f"{live_server.url}/admin/assessments/indicator/{Indicator.objects.get(code='AK-1').pk}/change/")
    versions = page.locator("#content").inner_text()
    assert_accessible(page)
    assert str(earlier.period) in versions and str(following) in versions

    # The earlier approved assessment keeps its wording and its scores.
    earlier.refresh_from_db()
    assert (earlier.index_score, list(earlier.pillar_scores.order_by("pk").values_list("score", flat=True))) == stored
    staff = page_factory(width=width)
    log_in(staff, live_server.url, "pegawai")
    assert f"Dibuka mulai 1 {MONTHS[following.opens_on.month - 1]} {following.year}." in staff.locator("[data-testid=opens-on]").inner_text()
    assert staff.locator("text=Mulai penilaian mandiri saya").count() == 0
    staff.goto(f"{live_server.url}/hasil/{earlier.pk}/")
    text = staff.content()
    assert original in text and NEW_WORDING not in text
    assert_accessible(staff)
    staff.goto(f"{live_server.url}/penilaian/{following.code}/isi/")
    # The new quarter's privacy notice first (pegawai has read none in the demo).
    assert_accessible(staff)
    staff.click("text=Saya mengerti, lanjutkan")
    staff.wait_for_url(re.compile(r"/penilaian/\d{4}-Q\d/isi/$"))
    assert NEW_WORDING in staff.content()
    assert_accessible(staff)
    assert re.search(r"/penilaian/\d{4}-Q\d/isi/$", staff.url)
    assert page.console_errors == [] and staff.console_errors == []
