"""The local moto's changes keep what moto does: items written as its serializer writes them, routing, signing."""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import uuid4

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from moto.core.models import DEFAULT_ACCOUNT_ID
from moto.core.serialize import (
    SERVICE_SPECIFIC_SERIALIZERS,
    JSONSerializer,
    XFormedAttributePicker,
    get_serializer_class,
)
from moto.core.utils import get_service_model
from moto.dynamodb.exceptions import ItemSizeTooLarge
from moto.dynamodb.models.dynamo_type import DynamoType, Item, LimitedSizeDict
from moto.sns.models import Subscription, sns_backends

from gas_local.moto_server import (
    ItemsAsTheyAre,
    check_item_size_once,
    list_moto_modules_once,
    serialize_items_directly,
    sign_with_one_key,
)
from tests.support.data import load_event

WEEK_ITEM = load_event("alert_insert.json")["Records"][0]["dynamodb"]["NewImage"]
# Every type an attribute value can have, nested in maps and lists, beside a real week item.
EVERY_KIND: dict[str, Any] = {
    "pk": {"S": "wuxr-ni2i"},
    "sk": {"S": "2026-11-30"},
    "names": {"SS": ["albany", "nassau"]},
    "numbers": {"NS": ["3.41", "-0.07"]},
    "nothing": {"NULL": True},
    "flag": {"BOOL": False},
    "log": {"L": [{"M": {"rev": {"N": "2"}, "old": {"M": {"albany": {"N": "3.40"}}}}}, {"L": []}, {"M": {}}]},
    "empty": {"S": ""},
}
WITH_BINARY = {**EVERY_KIND, "blob": {"B": base64.b64encode(b"\x00\x01").decode()}, "inner": {"L": [{"BS": ["AAE="]}]}}


def body(serializer: type[JSONSerializer], service: str, operation: str, result: dict[str, Any]) -> str:
    """The response body a serializer writes for one operation's result."""
    model = get_service_model(service).operation_model(operation)
    written = serializer(operation_model=model, value_picker=XFormedAttributePicker()).serialize(result)
    text = written["body"]
    return text if isinstance(text, str) else text.decode()


QUERY_RESULTS = {
    "week-item": {"Items": [WEEK_ITEM], "Count": 1, "ScannedCount": 1},
    "every-kind-with-a-last-key": {
        "Items": [WEEK_ITEM, EVERY_KIND],
        "Count": 2,
        "ScannedCount": 2,
        "LastEvaluatedKey": {"pk": EVERY_KIND["pk"], "sk": EVERY_KIND["sk"]},
    },
    "binary-falls-back": {"Items": [WITH_BINARY], "Count": 1, "ScannedCount": 1},
    # Values not yet in their JSON types (a number, a set) take moto's own path, which converts them.
    "unconverted-falls-back": {"Items": [{"n": {"N": 3}, "ss": {"SS": {"albany"}}, "m": {"M": {"n": {"N": 2.5}}}}]},
    "empty": {"Items": [], "Count": 0, "ScannedCount": 0},
}


@pytest.mark.parametrize("result", QUERY_RESULTS.values(), ids=QUERY_RESULTS)
def test_a_query_answer_is_byte_for_byte_what_moto_writes(result: dict[str, Any]) -> None:
    """For items of every kind (binary ones included, which take moto's own path) the bodies are identical."""
    assert body(ItemsAsTheyAre, "dynamodb", "Query", result) == body(JSONSerializer, "dynamodb", "Query", result)


def test_put_item_old_values_and_a_stream_record_are_byte_for_byte_what_moto_writes() -> None:
    """Returned attributes of a write and the images of a stream record also come out unchanged."""
    put = {"Attributes": EVERY_KIND}
    assert body(ItemsAsTheyAre, "dynamodb", "PutItem", put) == body(JSONSerializer, "dynamodb", "PutItem", put)
    record = {
        "eventID": "1",
        "eventName": "INSERT",
        "dynamodb": {
            "ApproximateCreationDateTime": datetime(2026, 11, 28, tzinfo=UTC),
            "Keys": {"pk": WEEK_ITEM["pk"], "sk": WEEK_ITEM["sk"]},
            "NewImage": WEEK_ITEM,
            "SequenceNumber": "100",
            "StreamViewType": "NEW_IMAGE",
        },
    }
    records = {"Records": [record], "NextShardIterator": "next"}
    direct = body(ItemsAsTheyAre, "dynamodbstreams", "GetRecords", records)
    assert direct == body(JSONSerializer, "dynamodbstreams", "GetRecords", records)
    assert '"NewImage": {"pk": {"S": "wuxr-ni2i"}' in direct


def test_the_local_moto_uses_it_for_tables_and_streams_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """After serialize_items_directly, DynamoDB and its streams use ItemsAsTheyAre; other services keep moto's own."""
    for service in ("dynamodb", "dynamodbstreams"):
        # Registers the entry's current state, so moto's table is as it was once the test ends.
        monkeypatch.setitem(SERVICE_SPECIFIC_SERIALIZERS, service, SERVICE_SPECIFIC_SERIALIZERS.get(service, {}))
    serialize_items_directly()
    assert get_serializer_class("dynamodb", "json") is ItemsAsTheyAre
    assert get_serializer_class("dynamodbstreams", "json") is ItemsAsTheyAre
    assert get_serializer_class("sns", "query") is not ItemsAsTheyAre


def test_moto_routes_by_the_same_service_folders_once_they_are_read_once() -> None:
    """The folder list moto routes requests by is the one it would read from its package on every request."""
    import moto
    from moto import backends

    package = Path(moto.__file__).parent
    folders = sorted(entry.name for entry in package.iterdir() if entry.is_dir() and not entry.name.startswith("__"))
    list_moto_modules_once()

    assert list(backends.list_of_moto_modules()) == folders
    assert list(backends.list_of_moto_modules()) == folders, "a second request routes by the same list"
    assert {"dynamodb", "dynamodbstreams", "sns", "sqs", "awslambda"} <= set(folders)


def test_every_subscription_signs_with_one_key_and_each_signature_verifies() -> None:
    """Messages of two topics' subscriptions carry certificates of one key, and each signature verifies with its own.

    The signed text is the one SNS documents for a notification: each name, then its value, one per line.
    """
    sign_with_one_key()
    backend = sns_backends[DEFAULT_ACCOUNT_ID]["us-east-1"]
    topics = [backend.create_topic(f"signing-{uuid4().hex}") for _ in range(2)]
    try:
        posts = [
            Subscription(
                DEFAULT_ACCOUNT_ID, topic, f"arn:aws:sqs:us-east-1:{DEFAULT_ACCOUNT_ID}:inbox", "sqs"
            ).get_post_data("Gas fell 3 cents in Albany", f"message-{n}", "Gas fell")
            for n, topic in enumerate(topics)
        ]
    finally:
        for topic in topics:
            backend.delete_topic(topic.arn)

    keys = []
    for post in posts:
        certificate = x509.load_pem_x509_certificate(
            backend._message_public_keys[post["SigningCertURL"].rsplit("/", 1)[1]]
        )
        key = certificate.public_key()
        assert isinstance(key, rsa.RSAPublicKey)
        signed = "".join(
            f"{name}\n{post[name]}\n" for name in ("Message", "MessageId", "Timestamp", "TopicArn", "Type")
        )
        key.verify(base64.b64decode(post["Signature"]), signed.encode(), padding.PKCS1v15(), hashes.SHA256())
        keys.append(key.public_numbers())
    assert keys[0] == keys[1]


@pytest.mark.parametrize(
    "sizes",
    [(404_000,), (405_100,), (250_000, 250_000), (1, 2, 3), ()],
    ids=["one-under", "one-over", "two-over-together", "small", "no-attributes"],
)
def test_an_item_checked_once_is_refused_exactly_when_moto_refused_it(sizes: tuple[int, ...]) -> None:
    """The same attributes, and ItemSizeTooLarge for the same items, as moto's check before every attribute gave."""
    attributes = {f"a{n}": {"S": "x" * size} for n, size in enumerate(sizes)}
    checked_each_time = LimitedSizeDict()
    try:
        for key, value in attributes.items():
            checked_each_time[key] = DynamoType(value)
        moto_refused = False
    except ItemSizeTooLarge:
        moto_refused = True

    check_item_size_once()
    try:
        item = Item(DynamoType({"S": "key"}), None, attributes)
    except ItemSizeTooLarge:
        assert moto_refused
    else:
        assert not moto_refused
        assert item.attrs == checked_each_time
        assert isinstance(item.attrs, LimitedSizeDict)
