"""An S3-compatible store for tests: moto's S3 server (an emulator, not Amazon S3), started in
this process on a private loopback port and spoken to over HTTP, as Pristan would speak to a
real bucket. Web and worker processes of a test can share it."""

import contextlib
import uuid
from collections.abc import Iterator

import boto3
from moto.server import ThreadedMotoServer

REGION = "eu-west-3"
ACCESS_KEY = "pristan-test"
SECRET_KEY = "pristan-test-secret"


@contextlib.contextmanager
def s3_server() -> Iterator[str]:
    """Run the server for the duration of the block; yields its endpoint URL."""
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


def client(endpoint: str):
    return boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name=REGION,
        aws_access_key_id=ACCESS_KEY,
        aws_secret_access_key=SECRET_KEY,
    )


def create_bucket(endpoint: str) -> str:
    name = f"pristan-{uuid.uuid4().hex[:12]}"
    client(endpoint).create_bucket(
        Bucket=name, CreateBucketConfiguration={"LocationConstraint": REGION}
    )
    return name


def storage_options(endpoint: str, bucket: str) -> dict:
    """The OPTIONS config/settings.py builds from PRISTAN_STORAGE=s3 and the AWS_* variables."""
    return {
        "bucket_name": bucket,
        "endpoint_url": endpoint,
        "region_name": REGION,
        "default_acl": "private",
        "access_key": ACCESS_KEY,
        "secret_key": SECRET_KEY,
    }


def storage_env(endpoint: str, bucket: str) -> dict:
    """The same, as the environment of another process (a worker)."""
    return {
        "PRISTAN_STORAGE": "s3",
        "AWS_STORAGE_BUCKET_NAME": bucket,
        "AWS_S3_ENDPOINT_URL": endpoint,
        "AWS_S3_REGION_NAME": REGION,
        "AWS_ACCESS_KEY_ID": ACCESS_KEY,
        "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
    }


def raw_objects(endpoint: str, bucket: str) -> dict[str, bytes]:
    """Every object in the bucket as the store holds it, read past Pristan's storage."""
    s3 = client(endpoint)
    keys = [
        entry["Key"]
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket)
        for entry in page.get("Contents", [])
    ]
    return {key: s3.get_object(Bucket=bucket, Key=key)["Body"].read() for key in keys}
