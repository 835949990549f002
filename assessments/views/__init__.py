"""Views, one module per feature. Each view's first line fetches what it shows through an
access-checking helper from `assessments.permissions`."""
