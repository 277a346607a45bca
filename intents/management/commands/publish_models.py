from django.core.management.base import BaseCommand

from intents.classifier import ArtifactError
from intents.selectors import model_versions_unpublished
from intents.services import model_version_publish


class Command(BaseCommand):
    help = (
        "Upload the model versions recorded before model storage (an absolute artifact path) to the model storage, "
        "so that every host can serve them. Versions whose folder is gone or unreadable are reported and left as "
        "they are."
    )

    def handle(self, *args, **options) -> None:
        published = failed = 0
        for version in model_versions_unpublished():
            source = version.artifact_path
            try:
                model_version_publish(version=version)
            except (ArtifactError, OSError) as exc:
                failed += 1
                self.stderr.write(f"{version}: not published: {exc}")
                continue
            published += 1
            self.stdout.write(f"{version}: {source} → {version.artifact_path}")
        self.stdout.write(self.style.SUCCESS(f"{published} version(s) published, {failed} left as they were."))
