"""Admin Kepegawaian may see who has two-factor sign-in and reset it (delete the devices)."""

from django.db import migrations

TWO_FACTOR_PERMISSIONS = [
    ("otp_totp", "totpdevice"),
    ("otp_static", "staticdevice"),
]


def grant(apps, schema_editor):
    from django.contrib.auth.management import create_permissions

    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    group, _ = Group.objects.get_or_create(name="Admin Kepegawaian")
    for app_label, model in TWO_FACTOR_PERMISSIONS:
        config = apps.get_app_config(app_label)
        if not getattr(config, "models_module", None):
            config.models_module = True  # the migration state has none: let create_permissions run
        create_permissions(config, verbosity=0)
        codenames = [f"view_{model}", f"delete_{model}"]
        group.permissions.add(*Permission.objects.filter(content_type__app_label=app_label, codename__in=codenames))


class Migration(migrations.Migration):
    dependencies = [
        ("assessments", "0017_summary_delta"),
        ("otp_totp", "0003_add_timestamps"),
        ("otp_static", "0003_add_timestamps"),
    ]

    operations = [migrations.RunPython(grant, migrations.RunPython.noop)]
