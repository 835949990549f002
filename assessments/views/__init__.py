"""Views, one module per page family: `self_assessment` (staff), `review` (supervisors' decisions),
`dashboards` (unit pages and the Rekap), `exports` (their downloads), `common` (home, login,
health, the public privacy page). A view that shows one object fetches it on its first line through the helper in
`assessments.permissions` that enforces access (a 404 outside the user's scope); the staff's
own pages through `_get_own_period`."""
