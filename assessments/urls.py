from django.urls import path

from .views import common, self_assessment

app_name = "assessments"

urlpatterns = [
    path("", common.home, name="home"),
    # Staff
    path("penilaian/", self_assessment.my_assessments, name="my_assessments"),
    path("penilaian/<str:period_code>/isi/", self_assessment.assessment_form, name="form"),
    path("penilaian/<str:period_code>/kirim/", self_assessment.assessment_confirm, name="confirm"),
    path("hasil/<int:pk>/", self_assessment.assessment_result, name="result"),
    path("bukti/<int:pk>/", self_assessment.evidence_download, name="evidence"),
    path("data-saya/", self_assessment.my_data, name="my_data"),
    path("data-saya/unduh.csv", self_assessment.my_data_csv, name="my_data_csv"),
    # Supervisors
    path("unit/", common.placeholder, name="dashboard_home"),
    path("tinjau/<int:pk>/", common.placeholder, name="review"),
    # Admins
    path("rekap/", common.placeholder, name="organisation"),
]
