"""A Glue Spark job (Glue 5, Python 3) with its role, security configuration, log groups and schedule.

Glue 5 writes every job's logs, in real time, to two log groups it names itself: `/aws-glue/jobs/output` and
`/aws-glue/jobs/error`, which a security configuration with CloudWatch encryption turns into
`/aws-glue/jobs/<configuration>-role/<role>/output` and `.../error`. Both are created here, encrypted with the
configuration's key and kept `log_retention_days`, so Glue never creates a group without retention. The
continuous-logging arguments of Glue 4 and earlier (`--enable-continuous-cloudwatch-log`,
`--continuous-log-logGroup`) do nothing on Glue 5 and are refused.
"""
from __future__ import annotations

from functools import cached_property

from dataclasses import dataclass, field

from bindings import Construct, GlueJob, GlueJobCommand, GlueJobExecutionProperty, GlueTrigger, GlueTriggerActions
from aws_constructs.addresses import NamedConstruct
from aws_constructs.env import AwsEnvironment
from aws_constructs.errors import ConstructPropsError
from aws_constructs.glue import SecurityConfiguration
from aws_constructs.iam import PolicyStatement, ServiceRole, ServiceRoleProps
from aws_constructs.kms import Key
from aws_constructs.limits import (
    GLUE_FLEX_WORKER_TYPES, GLUE_TIMEOUT_MINUTES, GLUE_WORKER_COUNT, GLUE_WORKER_TYPES,
)
from aws_constructs.logs import (DEFAULT_RETENTION_DAYS, LogGroup, LogGroupProps, grant_encrypted_writing,
                                  log_group_resources)
from aws_constructs.s3 import BucketObject
from aws_constructs.schedules import GLUE_CRON, schedule_gaps_minutes
from aws_constructs.validation import check_name, check_range

GLUE_VERSIONS = ("5.0",)
DATALAKE_FORMATS = ("delta", "hudi", "iceberg")
# Glue's cron (aws_constructs/schedules.py): six fields, one of the day fields `?`; a scheduled trigger runs at most
# every 5 minutes.
GLUE_SHORTEST_INTERVAL_MINUTES = 5
# Arguments the construct sets itself; the job's own arguments must not name them.
RESERVED_ARGUMENTS = ("--conf", "--datalake-formats", "--extra-py-files", "--job-bookmark-option", "--job-language",
                      "--TempDir")
# Glue 4-and-earlier continuous logging: Glue 5 ignores these, its logs go to the output and error groups anyway.
CONTINUOUS_LOGGING_ARGUMENTS = ("--continuous-log-logGroup", "--continuous-log-logStreamPrefix",
                                "--continuous-log-conversionPattern", "--enable-continuous-cloudwatch-log",
                                "--enable-continuous-log-filter")


def check_schedule(what: str, schedule: str) -> None:
    """A schedule a Glue trigger accepts: `cron(<6 fields>)`, one of the day fields `?`, not more often than every
    5 minutes (Glue triggers take no `rate(...)`)."""
    cron = GLUE_CRON.fullmatch(schedule)
    gaps = schedule_gaps_minutes(schedule)
    if gaps and gaps[0] < GLUE_SHORTEST_INTERVAL_MINUTES:
        raise ConstructPropsError(f"{what} {schedule!r} runs {gaps[0]} minutes apart, more often than every "
                                  f"{GLUE_SHORTEST_INTERVAL_MINUTES} minutes, which Glue refuses; e.g. "
                                  "cron(15 * * * ? *) for 15 minutes past every hour")
    if not cron or "?" not in (cron.group(3), cron.group(5)) or cron.group(3) == cron.group(5):
        raise ConstructPropsError(
            f"{what} {schedule!r} is not a Glue schedule; write cron(minutes hours day-of-month month day-of-week "
            "year) with exactly one day field '?', e.g. cron(15 * * * ? *) for 15 minutes past every hour")


def job_log_groups(security_configuration: str, role_name: str) -> dict[str, str]:
    """The log groups a Glue 5 job with a security configuration writes to: its output and its errors."""
    prefix = f"/aws-glue/jobs/{security_configuration}-role/{role_name}"
    return {"output": f"{prefix}/output", "error": f"{prefix}/error"}


@dataclass(frozen=True)
class SparkJobProps:
    name: str
    role_name: str
    env: AwsEnvironment
    script: BucketObject  # the Python script, an object of a bucket of this stack
    key: Key  # encrypts what Glue writes to S3, job bookmarks and the job's logs (security configuration)
    temp_dir: str  # s3://bucket/prefix/ for Glue's temporary files; the role may write there
    arguments: dict[str, str] = field(default_factory=dict)  # the script's own arguments, `--name` -> value
    spark_conf: dict[str, str] = field(default_factory=dict)  # set when the Spark session starts
    datalake_formats: tuple[str, ...] = ()
    glue_version: str = "5.0"
    worker_type: str = "G.1X"
    worker_count: int = 2
    flex: bool = False  # the Flex execution class: spare capacity, cheaper, may start later
    timeout_minutes: int = 60
    max_concurrent_runs: int = 1
    max_retries: int = 0
    description: str = ""
    log_retention_days: int = DEFAULT_RETENTION_DAYS
    # Python modules the script imports, objects of the script's bucket: Glue puts them on the path of the driver and
    # the executors (`--extra-py-files`).
    modules: tuple[BucketObject, ...] = ()


class SparkJob(NamedConstruct):
    """A `glueetl` job running a Python 3 script, with a role only Glue of this account can assume.

    The role can read the script and write Glue's temporary folder, write its own log groups; everything else it
    gets through grants (`bucket.grant_read(job.role, prefix)`, `database.grant_manage_tables(job.role)`, ...).
    Glue's own job bookmarks are off: a script that needs to know what it processed keeps that itself.
    """

    def __init__(self, scope: Construct, construct_id: str, props: SparkJobProps) -> None:
        super().__init__(scope, construct_id)
        check_name("Glue job", props.name, 255, r"[\w .:-]+", "letters, digits, spaces and _.:-")
        if props.glue_version not in GLUE_VERSIONS:
            raise ConstructPropsError(f"Glue job {props.name}: Glue version {props.glue_version!r} is not one of "
                                      + ", ".join(GLUE_VERSIONS))
        if props.worker_type not in GLUE_WORKER_TYPES:
            raise ConstructPropsError(f"Glue job {props.name}: worker type {props.worker_type!r} is not one of "
                                      + ", ".join(GLUE_WORKER_TYPES))
        if props.flex and props.worker_type not in GLUE_FLEX_WORKER_TYPES:
            raise ConstructPropsError(f"Glue job {props.name}: the Flex execution class runs only on "
                                      + " and ".join(GLUE_FLEX_WORKER_TYPES) + f" workers, not {props.worker_type}")
        check_range(f"Glue job {props.name} worker count", props.worker_count, *GLUE_WORKER_COUNT, "workers")
        check_range(f"Glue job {props.name} timeout", props.timeout_minutes, *GLUE_TIMEOUT_MINUTES, "minutes")
        check_range(f"Glue job {props.name} concurrent runs", props.max_concurrent_runs, 1, 1000, "runs")
        check_range(f"Glue job {props.name} retries", props.max_retries, 0, 10, "retries")
        unknown = sorted(set(props.datalake_formats) - set(DATALAKE_FORMATS))
        if unknown:
            raise ConstructPropsError(f"Glue job {props.name}: data lake format {unknown[0]!r} is not one of "
                                      + ", ".join(DATALAKE_FORMATS))
        for name in props.arguments:
            if name in CONTINUOUS_LOGGING_ARGUMENTS:
                raise ConstructPropsError(f"Glue job {props.name}: argument {name!r} configures the continuous logging of "
                                          "Glue 4 and earlier, which Glue 5 ignores (it logs every run to the job's "
                                          "output and error log groups); remove it")
            if not name.startswith("--") or name in RESERVED_ARGUMENTS:
                raise ConstructPropsError(f"Glue job {props.name}: argument {name!r} must start with '--' and not be "
                                          "one the job sets itself (" + ", ".join(RESERVED_ARGUMENTS) + ")")
        if not props.temp_dir.startswith("s3://") or not props.temp_dir.endswith("/"):
            raise ConstructPropsError(f"Glue job {props.name}: temporary folder {props.temp_dir!r} must be an "
                                      "s3://bucket/prefix/ URL ending in '/'")
        self.props = props
        self.name = props.name
        self.role = ServiceRole(self, "Role", ServiceRoleProps(
            name=props.role_name, service="glue.amazonaws.com", source_account=props.env.account_id,
            description=f"Glue job {props.name}"))
        strays = [module.key for module in props.modules if module.bucket is not props.script.bucket]
        if strays or len({module.key for module in props.modules}) != len(props.modules):
            raise ConstructPropsError(f"Glue job {props.name}: keep the script's modules in its bucket "
                                      f"{props.script.bucket.name}, each once (not {', '.join(strays) or 'twice'})")
        self.role.add_to_principal_policy(PolicyStatement(
            sid="ReadJobScript", actions=("s3:GetObject",),
            resources=(props.script.arn, *(module.arn for module in props.modules))))
        temp_bucket, _, temp_prefix = props.temp_dir.removeprefix("s3://").partition("/")
        if temp_bucket != props.script.bucket.name:
            raise ConstructPropsError(f"Glue job {props.name}: keep the temporary folder in the script's bucket "
                                      f"{props.script.bucket.name}, not {temp_bucket}")
        props.script.bucket.grant_read_write(self.role, temp_prefix)
        self.security = SecurityConfiguration(self, "Security", f"{props.name}-security", props.key)
        self.log_groups = job_log_groups(self.security.name, props.role_name)
        groups = [LogGroup(self, f"{kind.capitalize()}Logs", LogGroupProps(
            name=name, retention_days=props.log_retention_days, encryption_key=props.key))
            for kind, name in self.log_groups.items()]
        group_arns = tuple(props.env.arn("logs", f"log-group:{name}") for name in self.log_groups.values())
        self.role.add_to_principal_policy(PolicyStatement(
            sid="UseJobLogGroups",
            # Glue creates a missing group and associates the security configuration's key with it.
            actions=("logs:AssociateKmsKey", "logs:CreateLogGroup"),
            resources=tuple(resource for arn in group_arns for resource in log_group_resources(arn))))
        self.role.add_to_principal_policy(PolicyStatement(
            sid="WriteJobLogs", actions=("logs:CreateLogStream", "logs:PutLogEvents"),
            resources=tuple(f"{arn}:log-stream:*" for arn in group_arns)))
        grant_encrypted_writing(groups, self.role, props.env.role_arn(props.role_name), "WriteEncryptedJobLogs")
        arguments = {
            "--job-language": "python",
            "--job-bookmark-option": "job-bookmark-disable",
            "--TempDir": props.temp_dir,
        }
        if props.datalake_formats:
            arguments["--datalake-formats"] = ",".join(props.datalake_formats)
        if props.modules:
            arguments["--extra-py-files"] = ",".join(module.s3_url for module in props.modules)
        if props.spark_conf:
            # Glue takes one --conf argument; further settings follow inside its value, each after ` --conf `.
            arguments["--conf"] = " --conf ".join(f"{name}={value}" for name, value in props.spark_conf.items())
        arguments.update(props.arguments)
        self._job = self._name(GlueJob(
            self, "Resource",
            name=props.name,
            description=props.description or None,
            role_arn=self.role.arn,
            glue_version=props.glue_version,
            command=GlueJobCommand(name="glueetl", python_version="3", script_location=props.script.s3_url),
            default_arguments=arguments,
            execution_class="FLEX" if props.flex else "STANDARD",
            execution_property=GlueJobExecutionProperty(max_concurrent_runs=props.max_concurrent_runs),
            max_retries=props.max_retries,
            number_of_workers=props.worker_count,
            worker_type=props.worker_type,
            timeout=props.timeout_minutes,
            security_configuration=self.security.configuration_name,
            # Glue checks the role when the job runs, the groups must exist before it writes: create both first.
            depends_on=[self.role.policy] + [group.resource for group in groups],
        ))

    @property
    def job_name(self) -> str:
        """The name as a reference, so that what starts the job is created after it."""
        return self._job.name

    @cached_property
    def arn(self) -> str:
        return self._job.arn

    def schedule(self, construct_id: str, name: str, schedule: str) -> ScheduledTrigger:
        return ScheduledTrigger(self, construct_id, name, self, schedule)


class ScheduledTrigger(NamedConstruct):
    """A Glue trigger that starts one job on a schedule (UTC), active from creation."""

    def __init__(self, scope: Construct, construct_id: str, name: str, job: SparkJob, schedule: str) -> None:
        super().__init__(scope, construct_id)
        check_name("Glue trigger", name, 255, r"[\w .:-]+", "letters, digits, spaces and _.:-")
        check_schedule(f"Glue trigger {name}: schedule", schedule)
        self._trigger = self._name(GlueTrigger(
            self, "Resource", name=name, type="SCHEDULED", schedule=schedule, start_on_creation=True,
            actions=[GlueTriggerActions(job_name=job.job_name)]))
