from django.apps import AppConfig


class BenchConfig(AppConfig):
    """Benchmarks at scale: a load-data generator and a runner that measures
    each workload beside its floor. No models; imported by nothing."""

    name = "bench"
    verbose_name = "Benchmarks"
