"""Nothing guessed (issue 15 item 7): priority and risk may be unknown (null).

Existing rows keep their values. A "medium" that came from the old default (a
plan without a Priority or Risk column, a task made without one) cannot be told
apart from a "medium" someone chose, so none is turned into null here: the
values stay as they are, and the next import of their plan does not set them
back (the plan says nothing, so nothing changes). Fix them in the admin or the
API (``"priority": null``). New tasks get null when nobody says.

Snapshots gain the counts of open tasks with and without an estimate (null on
old snapshots: they were not counted then).
"""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("coordination", "0004_plan_key_spaces"),
    ]

    operations = [
        migrations.AddField(
            model_name="snapshot",
            name="estimated_open_count",
            field=models.PositiveIntegerField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="snapshot",
            name="unestimated_open_count",
            field=models.PositiveIntegerField(blank=True, null=True),
        ),
        migrations.AlterField(
            model_name="task",
            name="priority",
            field=models.CharField(
                blank=True,
                choices=[
                    ("critical", "Critical"),
                    ("high", "High"),
                    ("medium", "Medium"),
                    ("low", "Low"),
                ],
                max_length=10,
                null=True,
            ),
        ),
        migrations.AlterField(
            model_name="task",
            name="risk",
            field=models.CharField(
                blank=True,
                choices=[
                    ("low", "Low"),
                    ("medium", "Medium"),
                    ("high", "High"),
                    ("variable", "Variable"),
                ],
                max_length=10,
                null=True,
            ),
        ),
    ]
