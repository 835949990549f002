import time

from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.db import DatabaseError, connection
from django.http import JsonResponse
from django.shortcuts import redirect, render
from django.templatetags.static import static
from django.views.decorators.cache import never_cache

from .. import permissions
from ..forms import LoginForm


def favicon(request):
    # Resolved per request: the hashed static name exists only after collectstatic.
    return redirect(static("favicon.svg"), permanent=True)


@never_cache
def healthz(request):
    """200 {"status": "ok"} when the database answers, 503 otherwise (for load balancers)."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except DatabaseError:
        return JsonResponse({"status": "unavailable"}, status=503)
    return JsonResponse({"status": "ok"})


class LoginView(auth_views.LoginView):
    """Django's login, with the moment of logging in kept: sessions end 12 hours after it."""

    authentication_form = LoginForm
    redirect_authenticated_user = True

    def form_valid(self, form):
        response = super().form_valid(form)
        self.request.session["started_at"] = time.time()
        return response


@login_required
def home(request):
    """Send each role to its home page: admins to the organisation roll-up, supervisors to
    their unit dashboard, staff to their assessments."""
    user = request.user
    if permissions.is_admin(user):
        return redirect("assessments:organisation")
    if permissions.is_supervisor(user):
        return redirect("assessments:dashboard_home")
    if permissions.employee_of(user) is not None:
        return redirect("assessments:my_assessments")
    return render(request, "assessments/no_role.html")
