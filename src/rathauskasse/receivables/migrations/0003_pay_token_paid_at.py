import secrets

from django.db import migrations, models

import rathauskasse.receivables.models


def fill_tokens(apps, schema_editor):
    Receivable = apps.get_model("receivables", "Receivable")
    for pk in Receivable.objects.filter(pay_token__isnull=True).values_list("pk", flat=True):
        Receivable.objects.filter(pk=pk).update(pay_token=secrets.token_urlsafe(16))


class Migration(migrations.Migration):
    dependencies = [("receivables", "0002_postgres")]

    operations = [
        migrations.AddField(
            model_name="receivable",
            name="paid_at",
            field=models.DateTimeField(blank=True, null=True, verbose_name="bezahlt am"),
        ),
        migrations.AddField(
            model_name="receivable",
            name="pay_token",
            field=models.CharField(max_length=32, null=True, editable=False),
        ),
        migrations.RunPython(fill_tokens, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="receivable",
            name="pay_token",
            field=models.CharField(
                default=rathauskasse.receivables.models.new_pay_token,
                editable=False,
                max_length=32,
                unique=True,
                verbose_name="Token des Zahlungslinks",
            ),
        ),
    ]
