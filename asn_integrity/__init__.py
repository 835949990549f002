# Celery's app is loaded with Django, so that shared tasks bind to it (asn_integrity/celery.py).
from .celery import app as celery_app

__all__ = ("celery_app",)
