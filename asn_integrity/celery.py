"""The Celery application: background jobs and the daily schedule (beat).

With CELERY_BROKER_URL unset (the demo, the tests) every task runs in-process, at once, in the
process that asked for it (eager mode): nothing extra is needed to try the app. docker-compose
sets it to its Redis and runs a `worker` and a `beat` service from the same image."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "asn_integrity.settings")

app = Celery("asn_integrity")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
