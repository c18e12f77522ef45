"""A real S3 protocol server on loopback (moto's server mode) and media storage on it.

`moto_server` starts `python -m moto.server` once per test process on a free loopback port;
`s3_media` gives a test a fresh bucket and points Django's default storage at it (through
the same `studio.s3.storage_entry` that STUDIO_STORAGE=s3 uses), so the code under test
talks HTTP to an S3 endpoint exactly as it would in production.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from studio.s3 import storage_entry

REGION = "us-east-1"
KEY_ID, SECRET = "studio-test", "studio-test-secret"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="session")
def moto_server() -> Iterator[str]:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    try:
        while True:
            try:
                httpx.get(f"{url}/moto-api/", timeout=2)
                break
            except httpx.TransportError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("the moto S3 server did not start") from None
                time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@dataclass
class Bucket:
    name: str
    client: Any  # a boto3 S3 client on the moto server

    def keys(self) -> list[str]:
        listing = self.client.list_objects_v2(Bucket=self.name)
        return sorted(item["Key"] for item in listing.get("Contents", []))

    def read(self, key: str) -> bytes:
        return bytes(self.client.get_object(Bucket=self.name, Key=key)["Body"].read())


@pytest.fixture
def s3_media(moto_server: str, settings: Any) -> Bucket:
    """Media storage on a fresh bucket of the moto server for this test."""
    import boto3

    name = f"studio-{uuid.uuid4().hex[:16]}"
    client = boto3.client(
        "s3",
        endpoint_url=moto_server,
        region_name=REGION,
        aws_access_key_id=KEY_ID,
        aws_secret_access_key=SECRET,
    )
    client.create_bucket(Bucket=name)
    settings.STUDIO_STORAGE = "s3"
    settings.STORAGES = {
        **settings.STORAGES,
        "default": storage_entry(
            name,
            endpoint_url=moto_server,
            region=REGION,
            access_key=KEY_ID,
            secret_key=SECRET,
            addressing_style="path",
            presigned_ttl=settings.STUDIO_S3_PRESIGNED_TTL,
        ),
    }
    return Bucket(name, client)
