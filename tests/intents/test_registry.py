"""Model registry transitions: promote, rollback (service, command line, admin), concurrency, atomic artifacts."""

import shutil
import threading

import pytest
from django.core.management import call_command
from django.db import connection
from django.utils import timezone

from intents.classifier import ArtifactError, IntentClassifier
from intents.classifier.storage import read_artifact
from intents.models import ModelVersion
from intents.services import ModelVersionError, intent_predict, model_version_promote, model_version_rollback


def make_version(bot, number: int, artifact, *, evaluated: bool = True) -> ModelVersion:
    return ModelVersion.objects.create(
        bot=bot, version=number, encoder="all-MiniLM-L6-v2", data_fingerprint="test", artifact_path=str(artifact),
        evaluated_at=timezone.now() if evaluated else None,
    )  # fmt: skip


@pytest.fixture
def three_versions(demo_bot, demo_artifact, tmp_path):
    versions = []
    for number in (1, 2, 3):
        artifact = shutil.copytree(demo_artifact, tmp_path / f"v{number}")
        versions.append(make_version(demo_bot, number, artifact))
    return versions


def stages(bot) -> dict[int, str]:
    return dict(ModelVersion.objects.filter(bot=bot).values_list("version", "stage"))


def test_an_unevaluated_version_cannot_be_promoted(demo_bot, demo_artifact):
    """Train → candidate → evaluated → promoted: skipping evaluation is refused."""
    version = make_version(demo_bot, 1, demo_artifact, evaluated=False)
    with pytest.raises(ModelVersionError, match="not been evaluated"):
        model_version_promote(version=version)
    assert stages(demo_bot) == {1: "candidate"}


def test_a_version_whose_artifact_is_gone_cannot_be_promoted(demo_bot, tmp_path):
    """Promotion reads the artifact first: a worker must never be pointed at a missing model."""
    version = make_version(demo_bot, 1, tmp_path / "missing")
    with pytest.raises(ModelVersionError, match="cannot be served"):
        model_version_promote(version=version)


def test_rollback_serves_the_previous_production_version_again(three_versions, demo_bot):
    """v1 then v3 promoted; rollback serves v1 (v2 never served), and predictions say so."""
    v1, _, v3 = three_versions
    model_version_promote(version=v1)
    model_version_promote(version=v3)
    assert intent_predict(bot_id=demo_bot.pk, text="hola")[1] == v3
    assert model_version_rollback(bot=demo_bot) == v1
    assert stages(demo_bot) == {1: "production", 2: "candidate", 3: "archived"}
    assert intent_predict(bot_id=demo_bot.pk, text="hola")[1] == v1


def test_rollback_to_a_named_version_and_nothing_to_roll_back_to(three_versions, demo_bot):
    """Any earlier version can be named; with no earlier production version, rollback refuses."""
    v1, v2, _ = three_versions
    model_version_promote(version=v1)
    with pytest.raises(ModelVersionError, match="no an earlier production version"):
        model_version_rollback(bot=demo_bot)
    assert model_version_rollback(bot=demo_bot, to_version=2) == v2
    assert stages(demo_bot)[2] == "production"


def test_promote_and_rollback_from_the_command_line(three_versions, demo_bot, capsys):
    """manage.py promote_model --to N and --rollback move production and say which version serves."""
    call_command("promote_model", "--bot", "demo", "--to", "1")
    call_command("promote_model", "--bot", "demo", "--to", "2")
    call_command("promote_model", "--bot", "demo", "--rollback")
    assert stages(demo_bot) == {1: "production", 2: "archived", 3: "candidate"}
    assert "now serving demo v1 (production)" in capsys.readouterr().out


def test_rollback_from_the_admin(three_versions, demo_bot, admin_client):
    """The admin's "make production" action on a version, and the bot's "roll back" action."""
    v1, v2, _ = three_versions
    url = "/admin/intents/modelversion/"
    for version in (v1, v2):
        admin_client.post(url, {"action": "promote", "_selected_action": [version.pk]})
    assert stages(demo_bot)[2] == "production"
    admin_client.post("/admin/intents/bot/", {"action": "roll_back", "_selected_action": [demo_bot.pk]})
    assert stages(demo_bot) == {1: "production", 2: "archived", 3: "candidate"}


@pytest.mark.django_db(transaction=True)
def test_concurrent_promotions_leave_exactly_one_production_version(three_versions, demo_bot):
    """Three promotions racing on separate connections: all succeed, one production version remains."""
    start = threading.Barrier(len(three_versions))
    errors: list[Exception] = []

    def promote(version: ModelVersion) -> None:
        try:
            start.wait()
            model_version_promote(version=ModelVersion.objects.get(pk=version.pk))
        except Exception as exc:  # collected: an exception in a thread would otherwise be lost
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=promote, args=(v,)) for v in three_versions]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert sorted(stages(demo_bot).values()) == ["archived", "archived", "production"]


def test_a_failed_artifact_write_leaves_the_previous_artifact_in_place(demo_artifact, tmp_path):
    """Writing over an artifact either completes or leaves the old one whole (here: the write fails midway)."""
    target = shutil.copytree(demo_artifact, tmp_path / "v1")
    before = read_artifact(target)[0]
    classifier = IntentClassifier.load(demo_artifact)
    with pytest.raises(FileNotFoundError):
        classifier.save(target, extra_files={"evaluation.png": tmp_path / "no-such-plot.png"})
    assert read_artifact(target)[0] == before
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no staging left behind
    with pytest.raises(ArtifactError):
        read_artifact(tmp_path)
