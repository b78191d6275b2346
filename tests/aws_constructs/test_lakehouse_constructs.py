"""Props validation of the lakehouse constructs: each refusal names the value and what AWS accepts."""
from __future__ import annotations

import dataclasses
import json

import pytest

import bindings  # noqa: F401  (registers the fast-import shim first)
from aws_constructs.athena import QueryWorkgroup, QueryWorkgroupProps
from aws_constructs.env import AwsEnvironment
from aws_constructs.errors import ConstructPropsError
from aws_constructs.glue_job import SparkJob, SparkJobProps, check_schedule
from aws_constructs.schedules import schedule_gaps_minutes
from aws_constructs.kms import Key, KeyProps
from aws_constructs.s3 import BucketObject, BucketObjectProps, SecureBucket, SecureBucketProps
from tests.aws_constructs.support import by_sid, inline_policy_of, new_stack, synth

ENV = AwsEnvironment("123456789012", "us-east-1")


def job_props(stack, **changes) -> SparkJobProps:
    key = Key(stack, "Key", KeyProps(description="k", env=ENV))
    bucket = SecureBucket(stack, "Artifacts", SecureBucketProps(name="artifacts-bucket", encryption_key=key.as_ref()))
    script = BucketObject(stack, "Script", BucketObjectProps(bucket=bucket, key="scripts/job.py", text="print(1)"))
    props = SparkJobProps(name="job", role_name="job-role", env=ENV, script=script, key=key,
                          temp_dir="s3://artifacts-bucket/temporary/")
    return dataclasses.replace(props, **changes)


@pytest.mark.parametrize("changes, message", [
    ({"worker_type": "G.4X", "flex": True}, "the Flex execution class runs only on G.1X and G.2X workers, not G.4X"),
    ({"worker_type": "Z.2X"}, "worker type 'Z.2X' is not one of G.1X, G.2X, G.4X, G.8X"),
    ({"worker_count": 1}, "worker count is 1; AWS accepts a whole number of workers from 2 to 1000"),
    ({"timeout_minutes": 0}, "timeout is 0; AWS accepts a whole number of minutes from 1 to 2880"),
    ({"glue_version": "4.0"}, "Glue version '4.0' is not one of 5.0"),
    ({"arguments": {"--conf": "x=y"}}, "argument '--conf' must start with '--' and not be one the job sets itself"),
    ({"temp_dir": "s3://other-bucket/tmp/"}, "keep the temporary folder in the script's bucket artifacts-bucket"),
    ({"temp_dir": "s3://artifacts-bucket/tmp"}, "must be an s3://bucket/prefix/ URL ending in '/'"),
    ({"datalake_formats": ("parquet",)}, "data lake format 'parquet' is not one of delta, hudi, iceberg"),
    ({"arguments": {"--enable-continuous-cloudwatch-log": "true"}},
     "argument '--enable-continuous-cloudwatch-log' configures the continuous logging of Glue 4 and earlier, which "
     "Glue 5 ignores"),
    ({"arguments": {"--continuous-log-logGroup": "/aws-glue/jobs/job"}}, "which Glue 5 ignores"),
    ({"arguments": {"--extra-py-files": "s3://x/y.py"}}, "argument '--extra-py-files' must start with '--' and not"),
])
def test_spark_job_refuses_what_glue_would(changes: dict, message: str) -> None:
    stack = new_stack()
    with pytest.raises(ConstructPropsError, match=message.replace("(", r"\(").replace(")", r"\)")):
        SparkJob(stack, "Job", job_props(stack, **changes))


@pytest.mark.parametrize("schedule", ["cron(15 * * * ? *)", "cron(0 3 ? * MON-FRI *)", "cron(*/5 * * * ? *)"])
def test_glue_schedules(schedule: str) -> None:
    check_schedule("schedule", schedule)


@pytest.mark.parametrize("schedule", ["cron(* * * * ? *)", "cron(*/4 * * * ? *)", "cron(0/1 * * * ? *)",
                                      "cron(0,3 * * * ? *)", "cron(10-12 * * * ? *)"])
def test_schedules_more_often_than_every_5_minutes_are_refused(schedule: str) -> None:
    with pytest.raises(ConstructPropsError, match="more often than every 5 minutes"):
        check_schedule("schedule", schedule)


@pytest.mark.parametrize("schedule, gaps", [
    ("cron(15 * * * ? *)", (60, 60)), ("cron(0/15 * * * ? *)", (15, 15)), ("cron(*/5 * * * ? *)", (5, 5)),
    ("cron(0,50 * * * ? *)", (10, 50)), ("cron(0 8-18 * * ? *)", (60, 840)), ("cron(5-10 * * * ? *)", (1, 55)),
    ("cron(0 0/6 * * ? *)", (360, 360)), ("cron(30 2 * * ? *)", (1440, 1440)), ("cron(0 L * * ? *)", None),
    ("cron(61 * * * ? *)", None), ("hourly", None), (f"cron({'9' * 5000} * * * ? *)", None)])
def test_the_time_between_runs_of_a_schedule(schedule: str, gaps: tuple[int, int] | None) -> None:
    assert schedule_gaps_minutes(schedule) == gaps


@pytest.mark.parametrize("schedule", ["cron(15 * * * *)", "cron(15 * * * * *)", "cron(15 * ? * ? *)", "hourly",
                                      "rate(2 hours)"])
def test_schedules_glue_refuses(schedule: str) -> None:
    with pytest.raises(ConstructPropsError, match="exactly one day field '\\?'"):
        check_schedule("schedule", schedule)


def test_a_workgroup_needs_an_encrypted_results_bucket_and_athenas_minimum_cutoff() -> None:
    stack = new_stack()
    plain = SecureBucket(stack, "Plain", SecureBucketProps(name="plain-results"))
    with pytest.raises(ConstructPropsError, match="results bucket plain-results needs a KMS key"):
        QueryWorkgroup(stack, "W", QueryWorkgroupProps(name="w", env=ENV, results_bucket=plain,
                                                       bytes_scanned_cutoff_mib=100))
    with pytest.raises(ConstructPropsError, match="bytes-scanned cutoff is 9; AWS accepts a whole number of MiB"):
        QueryWorkgroup(stack, "W2", QueryWorkgroupProps(name="w", env=ENV, results_bucket=plain,
                                                        bytes_scanned_cutoff_mib=9))


def test_an_object_needs_a_key_bucket_and_a_plain_key() -> None:
    stack = new_stack()
    plain = SecureBucket(stack, "Plain", SecureBucketProps(name="plain-bucket"))
    with pytest.raises(ConstructPropsError, match="needs a KMS key"):
        BucketObject(stack, "O", BucketObjectProps(bucket=plain, key="a.py", text=""))
    with pytest.raises(ConstructPropsError, match="must be a non-empty path"):
        BucketObject(stack, "O2", BucketObjectProps(bucket=plain, key="/a.py", text=""))


def test_a_glue_5_job_creates_the_two_log_groups_glue_writes_and_their_key_grants() -> None:
    """Glue 5 writes to the output and error groups of its security configuration (no continuous-logging group);
    its role uses their key through CloudWatch Logs, both halves."""
    stack = new_stack()
    job = SparkJob(stack, "Job", job_props(stack))
    config = synth(stack)
    groups = sorted(group["name"] for group in config["resource"]["aws_cloudwatch_log_group"].values())
    assert groups == ["/aws-glue/jobs/job-security-role/job-role/error", "/aws-glue/jobs/job-security-role/job-role/output"]
    arguments = next(iter(config["resource"]["aws_glue_job"].values()))["default_arguments"]
    assert not any(name.startswith(("--continuous-log", "--enable-continuous")) for name in arguments)
    role_half = by_sid(inline_policy_of(config, "job-role"))["WriteEncryptedJobLogs"]
    key_half = next(statement for statement in json.loads(next(iter(config["resource"]["aws_kms_key"].values()))["policy"])
                    ["Statement"] if statement["Sid"] == "WriteEncryptedJobLogs")
    arns = [f"arn:aws:logs:us-east-1:123456789012:log-group:{name}" for name in (job.log_groups["output"],
                                                                               job.log_groups["error"])]
    assert {"test": "StringEquals", "variable": "kms:EncryptionContext:aws:logs:arn", "values": arns} \
        in role_half["condition"]
    assert key_half["Condition"]["StringEquals"]["kms:EncryptionContext:aws:logs:arn"] == arns
    assert key_half["Condition"]["ArnEquals"] == {"aws:PrincipalArn": "arn:aws:iam::123456789012:role/job-role"}


def test_a_jobs_modules_live_beside_its_script_once_each() -> None:
    stack = new_stack()
    props = job_props(stack)
    other = SecureBucket(stack, "Other", SecureBucketProps(name="other-bucket", encryption_key=props.key.as_ref()))
    stray = BucketObject(stack, "Stray", BucketObjectProps(bucket=other, key="scripts/helper.py", text=""))
    with pytest.raises(ConstructPropsError, match="keep the script's modules in its bucket artifacts-bucket"):
        SparkJob(stack, "Job", dataclasses.replace(props, modules=(stray,)))


@pytest.mark.parametrize("schedule, every_day", [
    ("cron(15 * * * ? *)", True), ("cron(15 * ? * * *)", True), ("cron(15 * ? * SUN-SAT *)", True),
    ("cron(15 * ? * 1-7 *)", True), ("cron(15 * 1-31 * ? *)", True), ("cron(15 * * JAN-DEC ? *)", True),
    ("cron(15 * ? * MON,TUE,WED,THU,FRI,SAT,SUN *)", True), ("cron(15 * ? * MON-FRI *)", False),
    ("cron(15 * 1-30 * ? *)", False), ("cron(15 * * 1-11 ? *)", False), ("cron(15 * * * ? 2027)", False),
    ("cron(15 * * * * *)", False), ("hourly", False)])
def test_a_schedule_runs_every_day_when_its_day_fields_cover_every_day(schedule: str, every_day: bool) -> None:
    from aws_constructs.schedules import runs_every_day
    assert runs_every_day(schedule) is every_day
