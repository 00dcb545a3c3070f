"""Re-import is a three-way merge (issue 15 item 6): what the plan said at the last import.

Empty for tasks imported before: their first re-import has no base, so a field
that differs is a conflict (the board keeps its value unless --prefer-plan),
never a silent overwrite.
"""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('coordination', '0005_nothing_guessed'),
    ]

    operations = [
        migrations.AddField(
            model_name='task',
            name='imported_fields',
            field=models.JSONField(blank=True, default=dict, editable=False),
        ),
    ]
