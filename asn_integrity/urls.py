from django.contrib import admin
from django.urls import include, path

from assessments.views import common, sso

urlpatterns = [
    path("healthz", common.healthz, name="healthz"),
    # Browsers ask for /favicon.ico on pages that name no icon (the Django admin's).
    path("favicon.ico", common.favicon),
    path("i18n/", include("django.conf.urls.i18n")),
    path("akun/login/", common.LoginView.as_view(), name="login"),
    # Django's own, but for SSO's logout at the provider and LOCAL_LOGIN's password resets.
    path("akun/logout/", common.LogoutView.as_view(), name="logout"),
    path("akun/password_reset/", common.PasswordResetView.as_view(), name="password_reset"),
    # Single sign-on (assessments/sso.py): 404 while it is not configured.
    path("oidc/authenticate/", sso.AuthenticateView.as_view(), name="oidc_authentication_init"),
    path("oidc/callback/", sso.CallbackView.as_view(), name="oidc_authentication_callback"),
    path("akun/", include("django.contrib.auth.urls")),
    path("admin/", admin.site.urls),
    path("", include("assessments.urls")),
]

# A database outage noticed outside a view still gets the 503 page, not a 400 or 500 page.
handler400 = "assessments.views.common.bad_request"
handler500 = "assessments.views.common.server_error"
