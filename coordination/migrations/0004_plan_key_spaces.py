"""Plans are key spaces: a task is (plan, key), not key alone.

Until now a Plan row was one *document* (source name + checksum) and a task key
was unique across every plan. Now a Plan is one key space (``slug``, from the
file name) holding its latest document. The data step:

- gives each Plan row the slug of its source name;
- merges the rows of one slug (the revisions of a plan, or two file names that
  slugify alike) into the most recently updated one: their tasks move to it and
  the older rows are deleted. Keys were globally unique before, so the merged
  plan cannot hold one key twice;
- leaves tasks without a plan (created on the board, the API or the admin)
  without one: they form the plan-less key space, where keys stay unique.
"""

from pathlib import PurePosixPath

import django.db.models.deletion
from django.db import migrations, models
from django.db.models import Q
from django.utils.text import slugify


def plan_slug_for(source_name: str) -> str:
    """coordination.models.plan_slug_for as of this migration (frozen here on purpose)."""
    stem = PurePosixPath((source_name or "").replace("\\", "/")).stem
    return slugify(stem.replace(".", "-"))[:100].strip("-") or "plan"


def fill_slugs(apps, schema_editor):
    # PostgreSQL defers foreign-key checks to the commit; a table with such pending
    # checks cannot be altered later in this transaction (the AlterFields below).
    # Checked at once, nothing is left pending.
    immediate = schema_editor.connection.vendor == "postgresql"
    if immediate:
        schema_editor.execute("SET CONSTRAINTS ALL IMMEDIATE")
    Plan = apps.get_model("coordination", "Plan")
    Task = apps.get_model("coordination", "Task")
    by_slug: dict[str, list] = {}
    for plan in Plan.objects.order_by("-updated_at", "-id"):
        by_slug.setdefault(plan_slug_for(plan.source_name), []).append(plan)
    for slug, plans in by_slug.items():
        keep, *older = plans
        if older:
            Task.objects.filter(source_plan__in=older).update(source_plan=keep)
            keep.import_count += sum(p.import_count for p in older)
            Plan.objects.filter(pk__in=[p.pk for p in older]).delete()
        keep.slug = slug
        keep.save(update_fields=["slug", "import_count"])
    if immediate:
        schema_editor.execute("SET CONSTRAINTS ALL DEFERRED")


def clear_slugs(apps, schema_editor):
    """Backwards: the merged revisions stay merged (their documents were not kept apart)."""
    apps.get_model("coordination", "Plan").objects.update(slug=None)


class Migration(migrations.Migration):
    dependencies = [
        ("coordination", "0003_plan_upload"),
    ]

    operations = [
        migrations.RemoveConstraint(model_name="plan", name="coord_plan_source_checksum_uniq"),
        migrations.AddField(
            model_name="plan",
            name="slug",
            # No index yet: the unique one comes with AlterField below (on PostgreSQL an
            # index here and the unique one would both be named ..._like).
            field=models.SlugField(max_length=100, null=True, db_index=False),
        ),
        migrations.RunPython(fill_slugs, clear_slugs),
        migrations.AlterField(
            model_name="plan",
            name="slug",
            field=models.SlugField(
                help_text="the plan's name in references (PLAN:KEY); from the file name",
                max_length=100,
                unique=True,
            ),
        ),
        migrations.AddConstraint(
            model_name="plan",
            constraint=models.CheckConstraint(
                condition=~Q(slug=""), name="coord_plan_slug_not_empty"
            ),
        ),
        migrations.AlterField(
            model_name="plan",
            name="checksum",
            field=models.CharField(help_text="sha256 of the last imported file", max_length=64),
        ),
        migrations.AlterField(
            model_name="task",
            name="key",
            field=models.CharField(help_text="as plans write it: CC-1, #1, A", max_length=64),
        ),
        migrations.AlterField(
            model_name="task",
            name="source_plan",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="tasks",
                to="coordination.plan",
                verbose_name="plan",
            ),
        ),
        migrations.AddIndex(
            model_name="task",
            index=models.Index(fields=["key"], name="coord_task_key_idx"),
        ),
        migrations.AddConstraint(
            model_name="task",
            constraint=models.UniqueConstraint(
                fields=("source_plan", "key"),
                name="coord_task_plan_key_uniq",
                violation_error_message="This plan already has a task with that key.",
            ),
        ),
        migrations.AddConstraint(
            model_name="task",
            constraint=models.UniqueConstraint(
                condition=Q(source_plan__isnull=True),
                fields=("key",),
                name="coord_task_key_uniq_without_plan",
                violation_error_message="A task without a plan has that key already.",
            ),
        ),
    ]
