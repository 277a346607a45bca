import json

import pytest

from intents.models import Intent, ModelVersion, Response, TrainingExample
from intents.selectors import training_data_for_bot
from intents.services import (
    NoModelError,
    bot_load_definition,
    intent_predict,
    model_train,
    model_version_promote,
    training_data_fingerprint,
)


def test_loading_the_demo_bot_twice_changes_nothing(demo_definition, db):
    """load_demo_bot is idempotent: the second load leaves the same rows."""
    bot_load_definition(definition=demo_definition)
    counts = (Intent.objects.count(), TrainingExample.objects.count(), Response.objects.count())
    ids = set(TrainingExample.objects.values_list("id", flat=True))
    bot_load_definition(definition=demo_definition)
    assert (Intent.objects.count(), TrainingExample.objects.count(), Response.objects.count()) == counts
    assert set(TrainingExample.objects.values_list("id", flat=True)) == ids


def test_demo_bot_has_the_required_intents_in_both_languages(demo_bot):
    """Each required intent has at least 10 examples per language."""
    required = {"greet", "goodbye", "thanks", "help", "bot_identity", "human_handoff", "opening_hours", "order_status"}
    assert required <= set(demo_bot.intents.values_list("name", flat=True))
    for name in required:
        for language in ("en", "es"):
            assert TrainingExample.objects.filter(intent__name=name, language=language).count() >= 10


def test_reloading_a_definition_removes_examples_dropped_from_it(demo_definition, db):
    """The definition is the truth: an example removed from it is removed from the bot."""
    bot_load_definition(definition=demo_definition)
    trimmed = {**demo_definition, "intents": [dict(i) for i in demo_definition["intents"]]}
    greet = trimmed["intents"][0]
    greet["examples"] = {"en": ["hello"], "es": ["hola"]}
    bot_load_definition(definition=trimmed)
    assert set(TrainingExample.objects.filter(intent__name="greet").values_list("text", flat=True)) == {"hello", "hola"}


def test_training_registers_a_candidate_and_promotion_makes_it_serve(demo_bot, model_dir):
    """train → candidate → promote; the promoted version answers predictions; the previous one is archived."""
    first = model_train(bot=demo_bot)
    assert first.stage == ModelVersion.Stage.CANDIDATE and first.version == 1
    with pytest.raises(NoModelError):
        intent_predict(bot_id=demo_bot.pk, text="hello")
    model_version_promote(version=first)
    prediction, served_by = intent_predict(bot_id=demo_bot.pk, text="hello there")
    assert prediction.intent == "greet" and served_by == first

    second = model_train(bot=demo_bot)
    model_version_promote(version=second)
    first.refresh_from_db()
    assert first.stage == ModelVersion.Stage.ARCHIVED
    assert intent_predict(bot_id=demo_bot.pk, text="hola")[1] == second
    assert ModelVersion.objects.filter(bot=demo_bot, stage=ModelVersion.Stage.PRODUCTION).count() == 1


def test_fingerprint_changes_with_the_examples(demo_bot):
    """The training-data fingerprint is stable for the same data and changes when an example changes."""
    data = training_data_for_bot(bot=demo_bot)
    before = training_data_fingerprint(data=data, encoder="e")
    assert before == training_data_fingerprint(data=training_data_for_bot(bot=demo_bot), encoder="e")
    TrainingExample.objects.filter(intent__name="greet").first().delete()
    assert training_data_fingerprint(data=training_data_for_bot(bot=demo_bot), encoder="e") != before


def test_a_bot_that_tunes_its_encoder_stores_the_weights_and_serves_them(demo_definition, db, model_dir):
    """Bot.tune_encoder: training fine-tunes the encoder (on CPU here, slowly), the version's artifact in the model
    storage carries its weights, and the worker's prediction path loads and answers with them."""
    from intents.classifier.backends import TUNED_ENCODER
    from intents.services.artifacts import artifact_open

    small = {**demo_definition, "slug": "tiny", "languages": ["en"], "intents": [
        {**intent, "examples": {"en": intent["examples"]["en"][:4]}} for intent in demo_definition["intents"][:3]
    ]}  # fmt: skip
    bot = bot_load_definition(definition=small)
    bot.tune_encoder = True
    bot.save(update_fields=["tune_encoder"])
    version = model_train(bot=bot)
    assert version.encoder.endswith("fine-tuned") and version.evaluation["encoder_tuned_on_every_fold"] is True
    with artifact_open(artifact_path=version.artifact_path, name="checksums.json") as fh:
        assert f"{TUNED_ENCODER}/model.safetensors" in json.loads(fh.read())["files"]
    model_version_promote(version=version)
    greet = demo_definition["intents"][0]["examples"]["en"][0]
    prediction, served_by = intent_predict(bot_id=bot.pk, text=greet)
    assert served_by == version and prediction.intent == demo_definition["intents"][0]["slug"]
