"""The account and region a construct lives in, for ARNs that cannot come from a resource attribute."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class AwsEnvironment:
    account_id: str
    region: str

    @property
    def partition(self) -> str:
        if self.region.startswith("cn-"):
            return "aws-cn"
        if self.region.startswith("us-gov-"):
            return "aws-us-gov"
        return "aws"

    def arn(self, service: str, resource: str, *, regional: bool = True) -> str:
        region = self.region if regional else ""
        return f"arn:{self.partition}:{service}:{region}:{self.account_id}:{resource}"

    def service_host(self, service: str) -> str:
        """The regional endpoint name, as `kms:ViaService` expects it."""
        suffix = "amazonaws.com.cn" if self.partition == "aws-cn" else "amazonaws.com"
        return f"{service}.{self.region}.{suffix}"

    def role_arn(self, role_name: str) -> str:
        return self.arn("iam", f"role/{role_name}", regional=False)

    def account_root_arn(self) -> str:
        return self.arn("iam", "root", regional=False)
