"""Builds the publisher Lambda's deployment zip, byte for byte the same every time for the same source."""

from __future__ import annotations

import argparse
import base64
import hashlib
import io
import os
import zipfile
from collections.abc import Sequence
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DEFAULT_SOURCE = REPO / "lambda"
# The default of infra/'s lambda_package_path (infra/build/ is git-ignored).
DEFAULT_OUTPUT = REPO / "infra" / "build" / "gas-alerts-publisher.zip"
PACKAGE_NAME = "gas_publisher"
PACKAGED_SUFFIXES = frozenset({".py", ".json"})

# Zip stores local times from 1980 on; a constant date and mode keep mtimes and umasks out of the bytes.
FIXED_DATE_TIME = (1980, 1, 1, 0, 0, 0)
FILE_MODE = 0o100644  # a regular file, rw-r--r--
COMPRESS_LEVEL = 9
UNIX_SYSTEM = 3


def package_files(source_dir: Path) -> list[Path]:
    """The .py and .json files of the gas_publisher package under source_dir, sorted by their path in the zip."""
    package = source_dir / PACKAGE_NAME
    if not package.is_dir():
        raise FileNotFoundError(f"no {PACKAGE_NAME} package in {source_dir}")
    files = [
        path
        for path in package.rglob("*")
        if path.is_file() and path.suffix in PACKAGED_SUFFIXES and "__pycache__" not in path.parts
    ]
    return sorted(files, key=lambda path: path.relative_to(source_dir).as_posix())


def _entry(name: str) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, date_time=FIXED_DATE_TIME)
    info.compress_type = zipfile.ZIP_DEFLATED
    info.create_system = UNIX_SYSTEM
    info.external_attr = FILE_MODE << 16
    return info


def zip_bytes(source_dir: Path) -> bytes:
    """The zip of the package as bytes; entries are paths relative to source_dir (gas_publisher/handler.py)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for path in package_files(source_dir):
            name = path.relative_to(source_dir).as_posix()
            archive.writestr(_entry(name), path.read_bytes(), compresslevel=COMPRESS_LEVEL)
    return buffer.getvalue()


def base64_sha256(data: bytes) -> str:
    """Base64 of the SHA-256 digest: Lambda's CodeSha256 and Terraform's filebase64sha256()."""
    return base64.b64encode(hashlib.sha256(data).digest()).decode("ascii")


def build_package(source_dir: Path, output: Path) -> str:
    """Write the publisher's zip to output and return its base64 SHA-256."""
    data = zip_bytes(source_dir)
    output.parent.mkdir(parents=True, exist_ok=True)
    # Written beside the target and renamed, so Terraform never reads a half-written zip.
    partial = output.with_name(f".{output.name}.partial")
    partial.write_bytes(data)
    os.replace(partial, output)
    return base64_sha256(data)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """The command line of `python -m gas_local.package`."""
    parser = argparse.ArgumentParser(
        prog="python -m gas_local.package",
        description="Build the publisher Lambda's deployment zip for Terraform (infra/).",
    )
    parser.add_argument(
        "--source",
        type=Path,
        default=DEFAULT_SOURCE,
        help=f"folder that holds the {PACKAGE_NAME} package (default: %(default)s)",
    )
    parser.add_argument(
        "--output",
        type=Path,
        default=DEFAULT_OUTPUT,
        help="where to write the zip, by default the path Terraform's lambda_package_path reads (%(default)s)",
    )
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> None:
    """Build the zip and print where it is and its hash."""
    args = parse_args(argv)
    code_sha256 = build_package(args.source, args.output)
    print(f"{args.output}  CodeSha256 {code_sha256}")


if __name__ == "__main__":
    main()
