"""The `s3` adapter of the blob store: any S3-compatible endpoint, through boto3."""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from incidents.conversation.store import BlobMissing, BlobStoreUnavailable, checked_key


@dataclass(frozen=True)
class S3Settings:
    """Where the bucket is and how to sign requests to it."""

    bucket: str
    endpoint_url: str | None = None
    region: str | None = None
    access_key_id: str | None = None
    secret_access_key: str | None = None


class S3BlobStore:
    """Blobs as objects of one bucket."""

    def __init__(self, settings: S3Settings):
        self.bucket = settings.bucket
        self.client = boto3.client(
            "s3", endpoint_url=settings.endpoint_url, region_name=settings.region,
            aws_access_key_id=settings.access_key_id, aws_secret_access_key=settings.secret_access_key,
            config=Config(connect_timeout=3, read_timeout=30, retries={"max_attempts": 3, "mode": "standard"}))

    def put(self, key: str, data: bytes) -> None:
        """Upload the object."""
        self._call(self.client.put_object, Bucket=self.bucket, Key=checked_key(key), Body=data)

    def get(self, key: str) -> bytes:
        """Download the object; BlobMissing when the bucket has no such key."""
        try:
            answer = self.client.get_object(Bucket=self.bucket, Key=checked_key(key))
            return answer["Body"].read()
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
                raise BlobMissing(key) from exc
            raise BlobStoreUnavailable(str(exc)) from exc
        except BotoCoreError as exc:
            raise BlobStoreUnavailable(str(exc)) from exc

    def delete(self, key: str) -> None:
        """Delete the object (S3 answers the same whether it existed or not)."""
        self._call(self.client.delete_object, Bucket=self.bucket, Key=checked_key(key))

    def exists(self, key: str) -> bool:
        """Whether the object exists."""
        try:
            self.client.head_object(Bucket=self.bucket, Key=checked_key(key))
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "404", "NotFound"):
                return False
            raise BlobStoreUnavailable(str(exc)) from exc
        except BotoCoreError as exc:
            raise BlobStoreUnavailable(str(exc)) from exc
        return True

    def keys_older_than(self, prefix: str, moment: datetime) -> Iterator[str]:
        """Objects under the prefix last modified before the moment, page by page."""
        try:
            for page in self.client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket,
                                                                              Prefix=checked_key(prefix)):
                for item in page.get("Contents", []):
                    if item["LastModified"] < moment:
                        yield item["Key"]
        except (ClientError, BotoCoreError) as exc:
            raise BlobStoreUnavailable(str(exc)) from exc

    def _call(self, method, **kwargs) -> None:
        """Call boto3, its errors turned into ours."""
        try:
            method(**kwargs)
        except (ClientError, BotoCoreError) as exc:
            raise BlobStoreUnavailable(str(exc)) from exc
