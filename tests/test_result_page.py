"""The result page of a submitted assessment, and the person's own data (UU PDP)."""

import csv
import io
import json

import pytest

from assessments import services
from assessments.models import AccessLog, Indicator

from .conftest import all_answers, make_employee, past_assessment, submitted_assessment


@pytest.fixture
def result(cast, period):
    return submitted_assessment(cast.staff, period, score=4)


def chart_data(page):
    start = page.index('id="pillar-chart-data"')
    body = page[page.index(">", start) + 1 : page.index("</script>", start)]
    return json.loads(body)


def test_it_shows_index_grade_chart_and_pillar_table(client, cast, result, period):
    client.force_login(cast.staff.user)
    page = client.get(f"/hasil/{result.pk}/").content.decode()
    assert '<span class="score-big" data-testid="index">75,0</span>' in page
    assert "Baik" in page
    data = chart_data(page)
    assert data["labels"] == [p.name for p in period.questionnaire()]
    assert data["scores"] == [75.0] * len(period.questionnaire())
    assert 'src="/static/vendor/chartjs/chart.umd.min.js"' in page
    assert "<script>" not in page  # chart data travels as JSON, not inline code


def test_without_javascript_the_pillar_scores_are_a_table_and_the_empty_chart_is_hidden(client, cast, result, period):
    client.force_login(cast.staff.user)
    page = client.get(f"/hasil/{result.pk}/").content.decode()
    assert '<div class="chart-box" hidden><canvas id="pillar-chart"' in page  # charts.js shows it
    table = page[page.index('data-testid="pillar-table"') : page.index("</table>", page.index('data-testid="pillar-table"'))]
    for pillar in period.questionnaire():
        assert f'<tr><td>{pillar.name}</td><td class="num">75,0</td>' in table


def test_it_shows_the_change_against_my_previous_period(client, cast, period, previous_period):
    past_assessment(cast.staff, previous_period, score=3)
    now = submitted_assessment(cast.staff, period, score=4)
    client.force_login(cast.staff.user)
    page = client.get(f"/hasil/{now.pk}/").content.decode()
    assert f"Periode sebelumnya: {previous_period}, 50,0" in page
    assert "(+25,0)" in page
    assert f"Perubahan dibanding {previous_period}</th>" in page
    assert page.count('class="num change-up">+25,0</td>') == len(period.questionnaire())


def test_it_shows_the_questionnaire_exactly_as_answered(client, cast, result, period):
    first = period.questionnaire()[0].indicators.all()[0]
    original = first.statement
    Indicator.objects.filter(pk=first.indicator_id).update(statement="Kata-kata yang baru")
    client.force_login(cast.staff.user)
    page = client.get(f"/hasil/{result.pk}/").content.decode()
    assert original in page
    assert "Kata-kata yang baru" not in page


def test_the_result_page_uses_a_constant_number_of_queries(client, cast, result, period, django_assert_num_queries):
    client.force_login(cast.staff.user)
    client.get(f"/hasil/{result.pk}/")
    # 9: the person's own verification by the assessment team is one (verification.person_view);
    # the period's frozen questionnaire is the process's after the first page (models.QUESTIONNAIRES).
    with django_assert_num_queries(9):
        client.get(f"/hasil/{result.pk}/")
    for n in range(6):
        submitted_assessment(make_employee(f"lain{n}", cast.tree.a1), period, score=3)
    with django_assert_num_queries(9):
        client.get(f"/hasil/{result.pk}/")


def test_a_supervisor_views_it_and_the_view_is_logged(client, cast, result):
    client.force_login(cast.supervisor.user)
    page = client.get(f"/hasil/{result.pk}/").content.decode()
    assert cast.staff.full_name in page
    assert f'href="/tinjau/{result.pk}/"' in page
    log = AccessLog.objects.get()
    assert (log.viewer, log.employee, log.assessment, log.action) == (cast.supervisor.user, cast.staff, result, "view")


def test_a_draft_opens_the_form_for_the_owner_and_is_404_for_others(client, cast, period):
    draft = services.assessment_save_draft(employee=cast.staff, period=period, answers=all_answers(period, 3), version=0, actor=cast.staff.user)
    client.force_login(cast.staff.user)
    assert client.get(f"/hasil/{draft.pk}/")["Location"] == f"/penilaian/{period.code}/isi/"
    client.force_login(cast.supervisor.user)
    assert client.get(f"/hasil/{draft.pk}/").status_code == 404


# --- My data -------------------------------------------------------------------------------


def test_my_data_lists_what_is_held_and_who_looked(client, cast, result):
    client.force_login(cast.supervisor.user)
    client.get(f"/hasil/{result.pk}/")
    client.force_login(cast.staff.user)
    page = client.get("/data-saya/").content.decode()
    assert cast.staff.nip in page
    assert "Ratna Atasan" not in page or "supervisor" in page
    assert "melihat penilaian" in page


def test_my_data_csv_holds_all_my_ratings_and_nobody_elses(client, cast, result, period):
    submitted_assessment(cast.colleague, period, score=2)
    first = period.questionnaire()[0].indicators.all()[0]
    result.ratings.filter(indicator=first).update(note="=HYPERLINK(\"http://evil\")")
    client.force_login(cast.staff.user)
    response = client.get("/data-saya/unduh.csv")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert f"data-saya-{cast.staff.nip}.csv" in response["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig")), delimiter=";"))
    header, body = rows[0], rows[1:]
    assert header[:3] == ["NIP", "Nama", "Periode"]
    assert len(body) == sum(len(p.indicators.all()) for p in period.questionnaire())
    assert {row[0] for row in body} == {cast.staff.nip}
    assert {row[11] for row in body} == {"4"}
    assert "'=HYPERLINK(\"http://evil\")" in [row[12] for row in body]  # neutralised, stays text


def test_my_data_is_for_staff_only(client, cast):
    client.force_login(cast.admin)
    assert client.get("/data-saya/").status_code == 404
    assert client.get("/data-saya/unduh.csv").status_code == 404
