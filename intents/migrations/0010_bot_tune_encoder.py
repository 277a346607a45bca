from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("intents", "0009_retraining")]

    operations = [
        migrations.AddField(
            model_name="bot",
            name="tune_encoder",
            field=models.BooleanField(
                default=False,
                help_text="Train the sentence encoder on this bot's examples before its classifier (contrastive, "
                "SetFit-style). Meant for a training worker with a GPU: on a CPU, training takes minutes instead "
                "of seconds.",
                verbose_name="fine-tune the encoder",
            ),
        ),
    ]
