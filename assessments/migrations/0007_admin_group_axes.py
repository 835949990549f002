"""Admin Kepegawaian may see login attempts and unlock a locked NIP (delete its attempt)."""

from django.db import migrations

AXES_PERMISSIONS = [
    ("accessattempt", ["view", "delete"]),
    ("accesslog", ["view"]),
    ("accessfailurelog", ["view"]),
]


def grant(apps, schema_editor):
    from django.contrib.auth.management import create_permissions

    config = apps.get_app_config("axes")
    if not getattr(config, "models_module", None):
        config.models_module = True  # the migration state has none: let create_permissions run
    create_permissions(config, verbosity=0)
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    group, _ = Group.objects.get_or_create(name="Admin Kepegawaian")
    codenames = [f"{action}_{model}" for model, actions in AXES_PERMISSIONS for action in actions]
    group.permissions.add(*Permission.objects.filter(content_type__app_label="axes", codename__in=codenames))


class Migration(migrations.Migration):
    dependencies = [("assessments", "0006_rating_index"), ("axes", "0010_accessattemptexpiration")]

    operations = [migrations.RunPython(grant, migrations.RunPython.noop)]
