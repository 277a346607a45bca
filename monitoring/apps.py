from django.apps import AppConfig


class MonitoringConfig(AppConfig):
    name = "monitoring"
    verbose_name = "Health and metrics"

    def ready(self) -> None:
        from prometheus_client import REGISTRY

        from .collector import CharlaCollector

        REGISTRY.register(CharlaCollector())
