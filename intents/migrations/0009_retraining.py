from django.db import migrations, models


def promote_to_promotion(apps, schema_editor):
    TrainingJob = apps.get_model("intents", "TrainingJob")
    TrainingJob.objects.filter(promote=True).update(promotion="always")


def promotion_to_promote(apps, schema_editor):
    TrainingJob = apps.get_model("intents", "TrainingJob")
    TrainingJob.objects.exclude(promotion="never").update(promote=True)


class Migration(migrations.Migration):
    dependencies = [("intents", "0008_version_examples")]

    operations = [
        migrations.AddField(
            model_name="bot",
            name="retrain_nightly",
            field=models.BooleanField(
                default=False,
                help_text="Every night, if its examples changed since the last trained version, train a candidate "
                "and make it production only if its cross-validated accuracy is not lower than production's.",
            ),
        ),
        migrations.AddField(
            model_name="trainingjob",
            name="promotion",
            field=models.CharField(
                choices=[
                    ("never", "Leave it a candidate"),
                    ("always", "Make it production"),
                    ("if_not_worse", "Make it production if its accuracy is not lower than production's"),
                ],
                default="never",
                help_text="What to do with the new version once it is evaluated.",
                max_length=16,
            ),
        ),
        migrations.RunPython(promote_to_promotion, promotion_to_promote),
        migrations.RemoveField(model_name="trainingjob", name="promote"),
        migrations.AddField(
            model_name="trainingjob",
            name="trigger",
            field=models.CharField(
                choices=[("manual", "Requested by staff"), ("scheduled", "Nightly retraining")],
                default="manual",
                max_length=16,
            ),
        ),
        migrations.AddField(
            model_name="trainingjob",
            name="decision",
            field=models.CharField(
                blank=True,
                choices=[("promoted", "Promoted"), ("kept", "Kept production"), ("candidate", "Left a candidate")],
                max_length=16,
            ),
        ),
        migrations.AddField(model_name="trainingjob", name="decision_reason", field=models.TextField(blank=True)),
        migrations.AddField(
            model_name="trainingjob",
            name="candidate_accuracy",
            field=models.FloatField(blank=True, help_text="Cross-validated accuracy, percent.", null=True),
        ),
        migrations.AddField(
            model_name="trainingjob",
            name="production_accuracy",
            field=models.FloatField(
                blank=True,
                help_text="Cross-validated accuracy of the production version when it was decided.",
                null=True,
            ),
        ),
    ]
