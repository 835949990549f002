"""Every page of every role, in both languages, on a 360 px phone and a 1366 px desktop:
axe-core finds no serious or critical violation and no page scrolls sideways. The journeys
(test_browser_staff, _supervisor, _admin) check the pages they pass through the same way."""

import re

import pytest

from assessments.models import AssessmentPeriod, Indicator, SelfAssessment

from .browser import assert_accessible, log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


# The privacy notice a person meets before their first assessment in a period: its button (the
# one change a tour makes) leads on to the form, checked in turn.
NOTICE = re.compile(r"/privasi/pemberitahuan/\d{4}-Q\d/$")


def _tours() -> dict[str | None, list[str]]:
    """The pages each demo login reaches from its menus (GET only, but the privacy notice's button)."""
    current = AssessmentPeriod.objects.get(status="open")
    planned = AssessmentPeriod.objects.get(status="planned")
    own = SelfAssessment.objects.filter(employee__user__username="pegawai", state="approved").latest("period__year", "period__quarter")
    submitted = SelfAssessment.objects.filter(period=current, state="submitted", unit__code__startswith="DUKCAPIL").first()
    indicator = Indicator.objects.get(code="AK-1")
    return {
        None: ["/akun/login/", "/akun/password_reset/", "/privasi/"],
        "pegawai": [
            "/penilaian/",
            f"/penilaian/{current.code}/isi/",  # the notice first, then the form
            f"/hasil/{own.pk}/",
            "/data-saya/",
            "/privasi/",
            "/akun/password_change/",
        ],
        "atasan": [
            "/unit/DUKCAPIL/",
            "/unit/DUKCAPIL/sub-unit/",
            "/unit/DUKCAPIL/sub-unit/?tampilan=pohon",
            "/unit/DUKCAPIL/pegawai/?semua=1",
            f"/tinjau/{submitted.pk}/",
            f"/hasil/{submitted.pk}/",
        ],
        "admin": [
            "/rekap/",
            "/unit/KEMENDAGRI/",
            "/admin/",
            "/admin/assessments/indicator/",
            f"/admin/assessments/indicator/{indicator.pk}/change/",
            "/admin/assessments/assessmentperiod/",
            f"/admin/assessments/assessmentperiod/{current.pk}/change/",
            f"/admin/assessments/assessmentperiod/{current.pk}/close/",
            f"/admin/assessments/assessmentperiod/{planned.pk}/open/",
            "/admin/assessments/workunit/",
            "/admin/assessments/employee/",
        ],
    }


@pytest.mark.parametrize("width", [360, 1366])
@pytest.mark.parametrize("language", ["id", "en"])
def test_every_page_of_every_role_passes_axe_and_fits_the_window(live_server, demo, page_factory, language, width):
    for login, addresses in _tours().items():
        page = page_factory(width=width)
        if login:
            log_in(page, live_server.url, login)
        else:
            page.goto(f"{live_server.url}/akun/login/")
        if language == "en":
            page.click("button[name=language][value=en]")
            page.wait_for_load_state()
        for address in addresses:
            page.goto(live_server.url + address)
            assert page.evaluate("document.documentElement.lang") == language
            assert_accessible(page)
            if NOTICE.search(page.url):
                page.click("[data-testid=acknowledge]")
                page.wait_for_url(live_server.url + address)
                assert_accessible(page)
        assert page.console_errors == []
