"""The deployed function runs from its own zip in a fresh process: what would break in AWS breaks here too."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

from gas_local.lambda_runtime import FunctionError, PackagedFunction, PackageMismatchError
from gas_local.package import DEFAULT_SOURCE, build_package
from gas_publisher import contract

EMPTY_BATCH: dict[str, Any] = {"Records": []}


def package_of(tmp_path: Path, change: str = "") -> tuple[Path, str]:
    """The publisher's zip built from a copy of lambda/, with one change made to the copy first."""
    source = tmp_path / "lambda"
    shutil.copytree(DEFAULT_SOURCE / "gas_publisher", source / "gas_publisher", ignore=shutil.ignore_patterns("*.pyc"))
    if change == "without contract.json":
        (source / "gas_publisher" / "contract.json").unlink()
    if change == "handler returns a marker":
        handler = source / "gas_publisher" / "handler.py"
        handler.write_text(
            handler.read_text(encoding="utf-8") + "\n\ndef marker(event, context):\n    return 'packaged'\n"
        )
    output = tmp_path / "publisher.zip"
    return output, build_package(source, output)


def configuration(
    code_sha256: str, handler: str = contract.HANDLER, variables: dict[str, str] | None = None
) -> dict[str, Any]:
    """A function's configuration as the Lambda API returns it."""
    defaults = {contract.ENV_TABLE_NAME: "t", contract.ENV_TOPIC_ARN: "arn:t", contract.ENV_DIGEST_TOPIC_ARN: "arn:d"}
    return {
        "FunctionName": "publisher",
        "CodeSha256": code_sha256,
        "Handler": handler,
        "Timeout": 30,
        "Environment": {"Variables": defaults if variables is None else variables},
    }


def test_the_function_runs_its_own_package_not_the_repository(tmp_path: Path) -> None:
    """A handler that exists only in the zip is found: the process imports the package, not this checkout."""
    package, sha = package_of(tmp_path, "handler returns a marker")
    function = PackagedFunction(package, configuration(sha, handler="gas_publisher.handler.marker"))
    assert function(EMPTY_BATCH, None) == "packaged"


def test_a_batch_with_nothing_to_publish_succeeds_with_only_boto3_beside_the_package(tmp_path: Path) -> None:
    """The real handler starts and answers in the fresh process: the package and boto3 are all it needs."""
    package, sha = package_of(tmp_path)
    assert PackagedFunction(package, configuration(sha))(EMPTY_BATCH, None) == {"batchItemFailures": []}


@pytest.mark.parametrize(
    ("change", "handler", "variables", "expected"),
    [
        pytest.param("without contract.json", contract.HANDLER, None, "FileNotFoundError", id="file-missing-from-zip"),
        pytest.param("", "gas_publisher.handlers.lambda_handler", None, "No module named", id="wrong-module"),
        pytest.param("", "gas_publisher.handler.main", None, "has no attribute 'main'", id="wrong-function"),
        pytest.param("", contract.HANDLER, {contract.ENV_TABLE_NAME: "t"}, "TOPIC_ARN, DIGEST_TOPIC_ARN", id="no-env"),
    ],
)
def test_what_would_fail_in_aws_fails_here(
    tmp_path: Path, change: str, handler: str, variables: dict[str, str] | None, expected: str
) -> None:
    """A file missing from the zip, a wrong handler string or a missing variable is a function error, named."""
    package, sha = package_of(tmp_path, change)
    function = PackagedFunction(package, configuration(sha, handler, variables))
    with pytest.raises(FunctionError, match=expected):
        function(EMPTY_BATCH, None)


def test_a_zip_other_than_the_deployed_code_is_refused(tmp_path: Path) -> None:
    """The local zip must be the code the function runs (CodeSha256), or delivery says to package and apply."""
    package, _ = package_of(tmp_path)
    with pytest.raises(PackageMismatchError, match="run `make package` and `terraform apply`"):
        PackagedFunction(package, configuration("another-hash"))
