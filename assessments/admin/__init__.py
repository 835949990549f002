"""The HR office's back office: framework, periods, units, staff, assessments and the audit
trail. Changes go through the services where a business rule applies (opening a period, saving
a person), and bulk changes are recorded in the history like single ones."""

# Django's autodiscovery imports this package: each module registers its models.
from . import activation, common, framework, organisation, periods, records, settings, two_factor  # noqa: F401
