"""The default codebase (this project, configs/audits/lukhas.yaml) and its nightly audit.

Written with the historical models; ``audits.services.codebase_ensure`` does
the same for any other lanes config. Times come from LUKHAS_AUDITS_NIGHTLY_AT.
"""

import json

from django.conf import settings
from django.db import migrations


def create(apps, schema_editor):
    Codebase = apps.get_model("audits", "Codebase")
    CrontabSchedule = apps.get_model("django_celery_beat", "CrontabSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    codebase, _ = Codebase.objects.get_or_create(
        name="lukhas",
        defaults={
            "path": ".",
            "config_file": "configs/audits/lukhas.yaml",
            "description": "LUKHAS Ops, this project",
        },
    )
    hour, minute = settings.AUDITS_NIGHTLY_AT
    crontab, _ = CrontabSchedule.objects.get_or_create(
        minute=str(minute), hour=str(hour), day_of_week="*", day_of_month="*", month_of_year="*"
    )
    PeriodicTask.objects.get_or_create(
        name=f"audits-nightly-{codebase.name}",
        defaults={
            "task": "audits.nightly_audit",
            "crontab": crontab,
            "kwargs": json.dumps({"codebase": codebase.name}),
            "description": f"Nightly health audit of {codebase.name} (audits app)",
            "expire_seconds": 3600,
        },
    )


def remove(apps, schema_editor):
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(
        name="audits-nightly-lukhas"
    ).delete()
    apps.get_model("audits", "Codebase").objects.filter(name="lukhas").delete()


class Migration(migrations.Migration):
    dependencies = [
        ("audits", "0002_collector_metrics"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(create, remove)]
