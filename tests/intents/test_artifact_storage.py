"""Model artifacts through the model storage: two cache folders stand for two hosts, `models/` for the shared store."""

import filecmp
import shutil
from pathlib import Path

import pytest
from django.core.management import call_command
from django.utils import timezone

from intents.classifier import IntentClassifier
from intents.models import ModelVersion
from intents.services import (
    ArtifactUnavailable,
    ModelVersionError,
    artifact_local_path,
    artifact_publish,
    intent_predict,
    model_version_promote,
)
from intents.services.artifacts import CHECKSUMS

pytestmark = pytest.mark.django_db


def published_version(bot, number: int, demo_artifact: Path) -> ModelVersion:
    key = artifact_publish(directory=demo_artifact, key=f"{bot.slug}/v{number}")
    return ModelVersion.objects.create(
        bot=bot, version=number, encoder="all-MiniLM-L6-v2", data_fingerprint="test", artifact_path=key,
        evaluated_at=timezone.now(),
    )  # fmt: skip


def cached_copies(cache: Path) -> list[Path]:
    return sorted(p.parent for p in cache.rglob(CHECKSUMS))


def test_a_host_with_no_copy_downloads_the_promoted_version_and_serves_it(
    demo_bot, demo_artifact, model_dir, settings, tmp_path
):
    """Host A publishes and promotes; host B, with only the storage reachable, downloads a verified copy once."""
    settings.CHARLA_MODEL_CACHE_DIR = tmp_path / "host-a"
    version = model_version_promote(version=published_version(demo_bot, 1, demo_artifact))
    assert (model_dir / "demo" / "v1" / CHECKSUMS).is_file()
    assert len(cached_copies(tmp_path / "host-a")) == 1  # promotion fetched and opened it on host A

    settings.CHARLA_MODEL_CACHE_DIR = tmp_path / "host-b"
    assert not (tmp_path / "host-b").exists()
    prediction, served = intent_predict(bot_id=demo_bot.pk, text="hola, buenos días")
    assert (served, prediction.intent) == (version, "greet")
    [copy] = cached_copies(tmp_path / "host-b")
    assert copy.is_relative_to(tmp_path / "host-b" / "demo" / "v1")
    assert not filecmp.dircmp(demo_artifact, copy).diff_files
    assert artifact_local_path(artifact_path="demo/v1") == copy  # the second use reads the cache


def test_a_key_published_again_with_other_content_is_not_served_from_a_stale_copy(
    demo_artifact, model_dir, tmp_path
):
    """A store wiped and retrained from v1: the host downloads the new content instead of reusing its old copy."""
    artifact_publish(directory=demo_artifact, key="demo/v1")
    first = artifact_local_path(artifact_path="demo/v1")
    other = shutil.copytree(demo_artifact, tmp_path / "other")
    (other / "notes.txt").write_text("retrained", encoding="utf-8")
    artifact_publish(directory=other, key="demo/v1")
    second = artifact_local_path(artifact_path="demo/v1")
    assert second != first and (second / "notes.txt").read_text(encoding="utf-8") == "retrained"


@pytest.mark.parametrize(
    "damage, error",
    [
        (lambda key: (key / "arrays.npz").write_bytes(b"corrupted"), "does not match its checksum"),
        (lambda key: (key / "manifest.json").unlink(), "manifest.json is missing"),
        (lambda key: (key / CHECKSUMS).unlink(), "never published, or its upload did not finish"),
    ],
    ids=["corrupted", "file-missing", "upload-unfinished"],
)
def test_a_damaged_artifact_is_refused_clearly_and_nothing_is_cached(
    demo_bot, demo_artifact, model_dir, damage, error
):
    """Promotion fetches through the storage: a corrupted, incomplete or unfinished upload cannot be promoted."""
    version = published_version(demo_bot, 1, demo_artifact)
    damage(model_dir / "demo" / "v1")
    with pytest.raises(ModelVersionError, match="cannot be served") as refused:
        model_version_promote(version=version)
    assert error in str(refused.value)
    assert isinstance(refused.value.__cause__, ArtifactUnavailable)
    assert cached_copies(model_dir.parent / "model-cache") == []
    version.refresh_from_db()
    assert version.stage == ModelVersion.Stage.CANDIDATE


def test_a_version_with_a_legacy_absolute_path_is_still_served(trained_demo_bot, model_dir):
    """Versions recorded before model storage keep their absolute path and are read from it, not copied."""
    prediction, version = intent_predict(bot_id=trained_demo_bot.pk, text="thank you")
    assert Path(version.artifact_path).is_absolute() and prediction.intent == "thanks"
    assert not (model_dir.parent / "model-cache").exists()


def test_export_model_works_from_the_storage_on_a_host_with_no_copy(demo_bot, demo_artifact, model_dir, tmp_path):
    """`manage.py export_model` exports a published version: fetched into the cache, then made self-contained."""
    model_version_promote(version=published_version(demo_bot, 1, demo_artifact))
    shutil.rmtree(model_dir.parent / "model-cache")
    call_command("export_model", "--bot", "demo", "--output", str(tmp_path / "edge"), verbosity=0)
    exported = IntentClassifier.load(tmp_path / "edge", backend="onnx")
    assert exported.predict(["hola, buenos días"])[0].intent == "greet"


def test_publish_models_uploads_legacy_versions_so_another_host_serves_them(
    trained_demo_bot, demo_artifact, model_dir, settings, tmp_path, capsys
):
    """`manage.py publish_models`: a version with an absolute path gets a storage key; a host with no copy of
    its folder downloads and serves it; a version whose folder is gone is reported and left as it was."""
    ModelVersion.objects.create(
        bot=trained_demo_bot, version=2, encoder="all-MiniLM-L6-v2", data_fingerprint="test",
        artifact_path=str(tmp_path / "gone"),
    )  # fmt: skip
    call_command("publish_models")
    paths = dict(ModelVersion.objects.values_list("version", "artifact_path"))
    assert paths == {1: "demo/v1", 2: str(tmp_path / "gone")}
    assert "1 version(s) published, 1 left as they were" in capsys.readouterr().out
    settings.CHARLA_MODEL_CACHE_DIR = tmp_path / "other-host"
    prediction, version = intent_predict(bot_id=trained_demo_bot.pk, text="thank you")
    assert (version.artifact_path, prediction.intent) == ("demo/v1", "thanks")
    assert not filecmp.dircmp(demo_artifact, artifact_local_path(artifact_path="demo/v1")).diff_files


def test_publishing_a_folder_that_is_already_in_the_storage_keeps_its_files(demo_artifact, model_dir):
    """A legacy artifact written where the filesystem storage keeps its key is listed, not copied onto itself."""
    in_place = shutil.copytree(demo_artifact, model_dir / "demo" / "v1")
    artifact_publish(directory=in_place, key="demo/v1")
    assert not filecmp.dircmp(demo_artifact, in_place).diff_files
    assert not filecmp.dircmp(demo_artifact, artifact_local_path(artifact_path="demo/v1")).diff_files
