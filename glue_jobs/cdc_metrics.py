"""Where the job's measurements go: CloudWatch on AWS (`--metrics cloudwatch`), a file of JSON lines locally and in
tests (`--metrics file:<path>`), or nowhere (`--metrics none`, the default). Standard library; boto3, which Glue
provides, is imported only by the CloudWatch sink.

A datum is (name, value, unit, dimensions). Every datum of a run carries the run's start as its timestamp, so the
figures of one run line up in CloudWatch however long the run took.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

DEFAULT_NAMESPACE = "Lakehouse"
# PutMetricData takes up to 1,000 metrics per call (and 1 MB); far fewer keeps each call small.
CLOUDWATCH_BATCH = 150
UNITS = ("Count", "Seconds", "Percent", "None")


class MetricsInputError(ValueError):
    """A `--metrics` or `--metrics-namespace` the job refuses."""


@dataclass(frozen=True)
class Datum:
    name: str
    value: float
    unit: str = "Count"
    dimensions: tuple[tuple[str, str], ...] = ()

    def __post_init__(self) -> None:
        if self.unit not in UNITS:
            raise ValueError(f"metric {self.name}: unit {self.unit!r} is not one of {', '.join(UNITS)}")


class MetricSink(Protocol):
    def publish(self, data: list[Datum], timestamp: datetime) -> None: ...


class NoMetrics:
    def publish(self, data: list[Datum], timestamp: datetime) -> None:
        return None


@dataclass
class FileMetrics:
    """One JSON object per datum, appended: `{"timestamp", "namespace", "name", "value", "unit", "dimensions"}`."""

    path: Path
    namespace: str

    def publish(self, data: list[Datum], timestamp: datetime) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a", encoding="utf-8") as lines:
            for datum in data:
                lines.write(json.dumps({"timestamp": timestamp.isoformat(), "namespace": self.namespace,
                                        "name": datum.name, "value": datum.value, "unit": datum.unit,
                                        "dimensions": dict(datum.dimensions)}, sort_keys=True) + "\n")


@dataclass
class CloudWatchMetrics:
    """PutMetricData in batches. The role may put metrics of this namespace only (`cloudwatch:namespace`)."""

    namespace: str
    client: Any = None  # a boto3 CloudWatch client; made on first use

    def publish(self, data: list[Datum], timestamp: datetime) -> None:
        if self.client is None:
            import boto3  # on Glue; not in the local Spark venv, which never publishes to CloudWatch

            self.client = boto3.client("cloudwatch")
        entries = [{"MetricName": datum.name, "Value": float(datum.value), "Unit": datum.unit,
                    "Timestamp": timestamp,
                    "Dimensions": [{"Name": name, "Value": value} for name, value in datum.dimensions]}
                   for datum in data]
        for start in range(0, len(entries), CLOUDWATCH_BATCH):
            self.client.put_metric_data(Namespace=self.namespace, MetricData=entries[start:start + CLOUDWATCH_BATCH])


def check_namespace(namespace: str) -> str:
    """CloudWatch's rule for custom namespaces: 1 to 255 printable ASCII characters, not starting with `AWS/`."""
    if not 0 < len(namespace) <= 255 or not namespace.isascii() or not namespace.isprintable() \
            or namespace.startswith("AWS/"):
        raise MetricsInputError(f"--metrics-namespace {namespace!r} is not a custom CloudWatch namespace (1 to 255 "
                                "printable ASCII characters, not starting with AWS/)")
    return namespace


def metric_sink(spec: str, namespace: str) -> MetricSink:
    """`none`, `cloudwatch` or `file:<path>`."""
    check_namespace(namespace)
    if spec == "none":
        return NoMetrics()
    if spec == "cloudwatch":
        return CloudWatchMetrics(namespace)
    if spec.startswith("file:") and len(spec) > len("file:"):
        return FileMetrics(Path(spec[len("file:"):]), namespace)
    raise MetricsInputError(f"--metrics {spec!r} is not none, cloudwatch or file:<path>")
