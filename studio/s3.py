"""The STORAGES entry for an S3-compatible media store (django-storages' S3Storage).

Settings build it from STUDIO_S3_* variables; the tests build one for their loopback moto
server. Kept apart from settings.py so boto3 is imported only where S3 is used.
"""

from __future__ import annotations

from typing import Any


def storage_entry(
    bucket: str,
    *,
    endpoint_url: str = "",
    region: str = "",
    access_key: str = "",
    secret_key: str = "",
    addressing_style: str = "",
    prefix: str = "",
    presigned_ttl: int = 300,
) -> dict[str, Any]:
    from boto3.s3.transfer import TransferConfig
    from botocore.config import Config

    # Uploads go in 8 MB parts, two in flight and two in memory at most: storing a 2 GB video
    # costs about 16 MB of RAM, the same as storing a 20 MB one.
    transfer = TransferConfig(multipart_chunksize=8 * 1024**2, max_concurrency=2)
    transfer.max_in_memory_upload_chunks = 2
    options: dict[str, Any] = {
        "bucket_name": bucket,
        "endpoint_url": endpoint_url or None,
        "region_name": region or None,
        "location": prefix,
        "default_acl": None,  # objects stay private: only presigned URLs reach them
        "querystring_auth": True,
        "querystring_expire": presigned_ttl,
        "file_overwrite": False,  # like local disk: a taken name gets a suffix, never replaced
        "max_memory_size": 8 * 1024**2,  # reads over 8 MB spill to a temporary file
        "transfer_config": transfer,
        # Given a client config, django-storages takes the signature version and addressing
        # style from it alone. SigV4: every current store accepts it, some accept nothing else.
        "client_config": Config(
            signature_version="s3v4",
            s3={"addressing_style": addressing_style} if addressing_style else {},
            retries={"max_attempts": 3, "mode": "standard"},
            connect_timeout=5,
            read_timeout=60,
        ),
    }
    # Without keys boto3 uses its own chain (AWS_ACCESS_KEY_ID/…, a profile, an instance role).
    if access_key:
        options["access_key"] = access_key
    if secret_key:
        options["secret_key"] = secret_key
    return {"BACKEND": "storages.backends.s3.S3Storage", "OPTIONS": options}
