"""Runs the deployed publisher as Lambda would: its own zip, its handler string and environment, in a fresh process.

The process sees only the extracted package and the libraries the Lambda runtime provides (boto3 and what it
needs), never this repository or its virtual environment, so a file missing from the zip, a wrong handler name or
a missing variable fails here, as it would in AWS.
"""

from __future__ import annotations

import base64
import hashlib
import importlib.util
import json
import logging
import os
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)

# What the Python runtime of Lambda provides besides the standard library.
RUNTIME_LIBRARIES = ("boto3", "botocore", "s3transfer", "jmespath", "dateutil", "urllib3", "six")
# The variables the Lambda runtime sets itself; the rest of the process's environment is not passed on.
RUNTIME_VARIABLES = (
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_REGION",
    "AWS_DEFAULT_REGION",
    "AWS_ENDPOINT_URL",
)
# Runs inside the fresh process: resolves the handler string as Lambda does (module path, then function name).
BOOTSTRAP = """
import importlib, json, logging, sys, time
package, libraries, handler, timeout, name, invoked_arn = sys.argv[1:7]
sys.path[:0] = [package, libraries]
logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(levelname)s %(name)s %(message)s")
module_name, _, function_name = handler.rpartition(".")
function = getattr(importlib.import_module(module_name), function_name)
deadline = time.monotonic() + float(timeout)

class Context:
    function_name = name
    invoked_function_arn = invoked_arn
    def get_remaining_time_in_millis(self):
        return int(max(deadline - time.monotonic(), 0) * 1000)

result = function(json.load(sys.stdin), Context())
sys.stdout.write(json.dumps(result))
"""


class FunctionError(RuntimeError):
    """The function failed the invocation: it raised, timed out, or could not even start."""


class PackageMismatchError(RuntimeError):
    """The zip on disk is not the code the function was deployed with."""


def code_sha256(package: Path) -> str:
    """The package's base64 SHA-256, as Lambda reports it in CodeSha256."""
    return base64.b64encode(hashlib.sha256(package.read_bytes()).digest()).decode()


class PackagedFunction:
    """A handler callable that invokes the deployed function in a fresh process from its own zip."""

    def __init__(self, package: Path, configuration: Mapping[str, Any], endpoint: str | None = None) -> None:
        if not package.is_file():
            raise PackageMismatchError(f"no package at {package}; run `make package` (and `terraform apply`)")
        deployed, built = configuration.get("CodeSha256", ""), code_sha256(package)
        if deployed != built:
            raise PackageMismatchError(
                f"the function runs code {deployed}, but {package} is {built}; "
                "run `make package` and `terraform apply` so that they match"
            )
        self._folder = tempfile.TemporaryDirectory(prefix="gas-alerts-lambda-")
        root = Path(self._folder.name)
        with zipfile.ZipFile(package) as archive:
            archive.extractall(root / "task")  # our own zip, checked against the deployed hash above
        self.task = root / "task"
        self.libraries = _runtime_libraries(root / "runtime")
        self.name = str(configuration.get("FunctionName", "function"))
        self.arn = str(configuration.get("FunctionArn", self.name))
        self.handler = str(configuration["Handler"])
        self.timeout = float(configuration.get("Timeout", 3))
        variables = configuration.get("Environment", {}).get("Variables", {})
        self.environment = {
            **{name: os.environ[name] for name in RUNTIME_VARIABLES if name in os.environ},
            **({"AWS_ENDPOINT_URL": endpoint} if endpoint else {}),
            **{str(name): str(value) for name, value in variables.items()},
            "AWS_LAMBDA_FUNCTION_NAME": self.name,
        }

    def __call__(self, event: Mapping[str, Any], context: object) -> Any:
        """Invoke once; raises FunctionError when Lambda would report a function error.

        The context's invoked_function_arn (the consumer the runner delivers as) is passed on to the function.
        """
        invoked_arn = str(getattr(context, "invoked_function_arn", "") or self.arn)
        arguments = [self.task, self.libraries, self.handler, str(self.timeout), self.name, invoked_arn]
        try:
            done = subprocess.run(  # noqa: S603 (this interpreter, with arguments built here)
                [sys.executable, "-I", "-S", "-c", BOOTSTRAP, *map(str, arguments)],
                input=json.dumps(event, default=str),
                env=self.environment,
                capture_output=True,
                text=True,
                timeout=self.timeout,
                check=False,
            )
        except subprocess.TimeoutExpired:
            raise FunctionError(f"{self.name} timed out after {self.timeout:.0f} s") from None
        for line in done.stderr.splitlines():
            logger.info("%s: %s", self.name, line)
        if done.returncode != 0:
            last = done.stderr.strip().splitlines()[-1:] or ["no output"]
            raise FunctionError(f"{self.name} failed: {last[0]}")
        return json.loads(done.stdout or "null")

    def close(self) -> None:
        """Remove the extracted package."""
        self._folder.cleanup()


def _runtime_libraries(folder: Path) -> Path:
    """A folder holding only the runtime's libraries (links to this environment's copies)."""
    folder.mkdir(parents=True)
    for name in RUNTIME_LIBRARIES:
        spec = importlib.util.find_spec(name)
        if spec is None or spec.origin is None:
            continue
        origin = Path(spec.origin)
        source = origin.parent if origin.name == "__init__.py" else origin
        (folder / source.name).symlink_to(source)
    return folder
