"""The local AWS: moto on 127.0.0.1, in this process or in one of its own, keeping stream records for our runner.

moto cannot run a Lambda function (no Docker), yet when a table's stream has an event source mapping it hands the
records to the function, fails, and then drops them from the stream. Locally the stream runner plays that mapping,
so the records must stay: every moto this project starts keeps them. Every one also writes DynamoDB items directly
(ItemsAsTheyAre), because moto's generic serializer makes a large Query take seconds, and backs up only the items a
transaction names, instead of whole tables once per item of it. Every one is served by waitress, which keeps
connections open, rather than by werkzeug's development server.
"""

from __future__ import annotations

import argparse
import copy
import functools
import logging
import signal
import threading
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from cryptography.hazmat.primitives.asymmetric import rsa
from moto.core.serialize import SERVICE_SPECIFIC_SERIALIZERS, JSONSerializer

from gas_local.environment import local_aws_environment, patched_environment


def keep_stream_records() -> None:
    """Make moto leave a stream's records in place instead of handing them to a function it cannot run."""
    from moto.awslambda.models import LambdaBackend

    def leave_them(self: LambdaBackend, function_arn: str, items: list[Any], source: str) -> None:
        """The local stream runner delivers them, as the mapping would."""

    LambdaBackend.send_dynamodb_items = leave_them  # type: ignore[assignment,method-assign]


def _is_plain(value: Any) -> bool:
    """Whether an attribute value, with everything nested in it, is already in its JSON wire form.

    That is: strings for S and N, lists of strings for SS and NS, booleans for BOOL and NULL, and maps and lists of
    such values. Anything else, binary values (base64-encoded on the way out) among them, takes moto's own path.
    """
    if type(value) is not dict or len(value) != 1:
        return False
    [(kind, inner)] = value.items()
    if kind == "M" and type(inner) is dict:
        return all(_is_plain(nested) for nested in inner.values())
    if kind == "L" and type(inner) is list:
        return all(_is_plain(nested) for nested in inner)
    if kind in ("S", "N"):
        return type(inner) is str
    if kind in ("SS", "NS"):
        return type(inner) is list and all(type(member) is str for member in inner)
    return kind in ("BOOL", "NULL") and type(inner) is bool


class ItemsAsTheyAre(JSONSerializer):
    """moto's JSON serializer, but an attribute value already in DynamoDB's JSON form is written as it is.

    The generic one visits the ten members of every attribute value through a chain of alias lookups: a Query of the
    full history (838 weeks) took 5.7 s, a hundred times its JSON encoding. The bytes that come out are the same
    (tests/unit/test_moto_serialization.py).
    """

    def _serialize_type_structure(self, serialized: Any, value: Any, shape: Any, key: str) -> None:
        if shape.name == "AttributeValue" and _is_plain(value):
            self._default_serialize(serialized, value, shape, key)
            return
        super()._serialize_type_structure(serialized, value, shape, key)


class _TablesAsTheyAre:
    """The `copy` module as moto's DynamoDB models see it, except that a table is not copied during a transaction.

    moto backs up a table before a transaction so that it can roll back, and copies the whole table (its items and its
    stream) once for each of the transaction's items: 100 puts into a table of 800 weeks made 100 copies of it, took
    minutes, and timed out into retries. Within a transaction, _ItemsBackup keeps what it changes instead.
    """

    def __init__(self) -> None:
        self.local = threading.local()

    def __getattr__(self, name: str) -> Any:
        return getattr(copy, name)

    def deepcopy(self, value: Any, memo: dict[int, Any] | None = None) -> Any:
        """copy.deepcopy, except that within a transaction a table is itself (moto then "restores" it in place)."""
        from moto.dynamodb.models.table import Table

        if getattr(self.local, "in_transaction", False) and isinstance(value, Table):
            return value
        return copy.deepcopy(value, memo)


class _ItemsBackup:
    """What a transaction may change, taken before it: the items it names and the length of each table's stream."""

    def __init__(self, tables: dict[str, Any], transact_items: list[dict[str, Any]]) -> None:
        from moto.dynamodb.models.dynamo_type import DynamoType

        self.items: list[tuple[Any, Any, Any, Any]] = []  # (table, hash key, range key, a copy of the item or None)
        self.streams: dict[str, tuple[Any, int]] = {}
        for entry in transact_items:
            operation: dict[str, Any] = next(iter(entry.values()), {})
            table = tables.get(operation.get("TableName", ""))
            key = operation.get("Key") or operation.get("Item") or {}
            if table is None or table.hash_key_attr not in key:
                continue
            hash_key = DynamoType(key[table.hash_key_attr])
            range_key = DynamoType(key[table.range_key_attr]) if table.range_key_attr in key else None
            stored = table.items.get(hash_key)  # the item, or for a table with a sort key, its partition
            current = stored if range_key is None or stored is None else stored.get(range_key)
            self.items.append((table, hash_key, range_key, copy.deepcopy(current)))
            if table.stream_shard is not None:
                self.streams.setdefault(table.name, (table.stream_shard, len(table.stream_shard.items)))

    def restore(self) -> None:
        """Put every named item back as it was, and drop the stream records written since."""
        for table, hash_key, range_key, before in reversed(self.items):
            if range_key is None:
                if before is None:
                    table.items.pop(hash_key, None)
                else:
                    table.items[hash_key] = before
            elif before is None:
                table.items[hash_key].pop(range_key, None)
            else:
                table.items[hash_key][range_key] = before
        for shard, length in self.streams.values():
            del shard.items[length:]


def back_up_only_what_transactions_change() -> None:
    """Make moto's TransactWriteItems back up the items it names, not whole tables (see _TablesAsTheyAre)."""
    from moto.dynamodb import models

    if isinstance(vars(models)["copy"], _TablesAsTheyAre):
        return
    proxy = _TablesAsTheyAre()
    transact = models.DynamoDBBackend.transact_write_items

    def transact_with_items_backup(self: Any, transact_items: list[dict[str, Any]]) -> None:
        backup = _ItemsBackup(self.tables, transact_items)
        proxy.local.in_transaction = True
        try:
            transact(self, transact_items)
        except Exception:
            backup.restore()
            raise
        finally:
            proxy.local.in_transaction = False

    vars(models)["copy"] = proxy
    models.DynamoDBBackend.transact_write_items = transact_with_items_backup  # type: ignore[method-assign]


def serialize_items_directly() -> None:
    """Make moto write the items of DynamoDB tables and streams with ItemsAsTheyAre."""
    for service in ("dynamodb", "dynamodbstreams"):
        SERVICE_SPECIFIC_SERIALIZERS[service] = {"json": ItemsAsTheyAre}


def list_moto_modules_once() -> None:
    """Make moto list its own service folders once, instead of reading its package directory on every request.

    moto's server asks for that list to route each request, and a listing with a stat of each of some 150 entries
    was a fifth of the time of a small request (tests/unit/test_moto_serialization.py holds the list the same).
    """
    from moto import backends

    if isinstance(backends.list_of_moto_modules, _FolderList):
        return
    backends.list_of_moto_modules = _FolderList(backends.list_of_moto_modules())


class _FolderList:
    """moto's service folders, read once; called as moto calls list_of_moto_modules."""

    def __init__(self, folders: Iterable[str]) -> None:
        self.folders = tuple(folders)

    def __call__(self) -> tuple[str, ...]:
        return self.folders


def check_item_size_once() -> None:
    """Make moto check a new item's size once, as its last attribute goes in, not again before every attribute.

    moto's LimitedSizeDict adds up the size of every attribute already in an item each time one more goes in, so
    building an item cost the square of its attribute count. Sizes are never negative, so the sum moto's own check
    makes with the last attribute is over the limit exactly when any earlier sum would have been.
    """
    from moto.dynamodb.models import dynamo_type

    dynamo_type.Item.__init__ = _build_item  # type: ignore[method-assign]


def _build_item(self: Any, hash_key: Any, range_key: Any, attrs: dict[str, Any]) -> None:
    from moto.dynamodb.models.dynamo_type import DynamoType, LimitedSizeDict

    self.hash_key = hash_key
    self.range_key = range_key
    self.attrs = LimitedSizeDict()
    attributes = list(attrs.items())
    for key, value in attributes[:-1]:
        dict.__setitem__(self.attrs, key, DynamoType(value))
    for key, value in attributes[-1:]:
        self.attrs[key] = DynamoType(value)  # moto's own check, over the whole item


def sign_with_one_key() -> None:
    """Make moto's SNS sign the messages of every subscription with one RSA key, made once per process.

    moto made a 2,048-bit key for each subscription the first time it delivered to it, about 45 ms of CPU, and a
    local stack or a test suite makes a fresh topic and its subscriptions again and again. SNS itself signs with one
    certificate per region, not one per subscription.
    """
    from moto.sns.models import Subscription

    Subscription.private_key = _signing_key  # type: ignore[method-assign,assignment]


def _signing_key(_: object) -> rsa.RSAPrivateKey:
    return _one_signing_key()


@functools.cache
def _one_signing_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def prepare_moto() -> None:
    """What every moto this project starts needs: records kept, quick items and transactions, routing, one SNS key."""
    keep_stream_records()
    serialize_items_directly()
    back_up_only_what_transactions_change()
    list_moto_modules_once()
    sign_with_one_key()
    check_item_size_once()


@contextmanager
def local_aws(port: int = 0) -> Iterator[str]:
    """Run moto on 127.0.0.1 (a free port by default) and point boto3 at it; yields the endpoint."""
    prepare_moto()
    with _KeepAliveServer(port) as server:
        endpoint = f"http://127.0.0.1:{server.port}"
        with patched_environment(local_aws_environment(endpoint)):
            yield endpoint


class _KeepAliveServer:
    """moto's WSGI application served by waitress in a thread of this process, until the block ends.

    moto's own ThreadedMotoServer runs werkzeug's development server, which closes the connection after every
    response and starts a thread for the next one: over a quarter of the CPU of a small call. waitress keeps
    connections open and answers from a pool of threads (a GetItem: 2.5 ms of CPU, then 1.8 ms).
    """

    # Enough that a few long polls (SQS WaitTimeSeconds) never hold up everything else.
    THREADS = 16

    def __init__(self, port: int, host: str = "127.0.0.1") -> None:
        from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
        from waitress.server import create_server

        # waitress logs its address at INFO and a warning whenever requests queue, which is normal here.
        logging.getLogger("waitress").setLevel(logging.ERROR)
        self.server = create_server(
            DomainDispatcherApplication(create_backend_app), host=host, port=port, threads=self.THREADS
        )
        self.port: int = self.server.effective_port
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._serve, name="moto", daemon=True)

    def __enter__(self) -> _KeepAliveServer:
        self.thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stopping.set()
        self.server.trigger.pull_trigger()  # wakes the loop from its wait
        self.thread.join()
        # The loop has ended, so its connections and listening socket can be closed from this thread.
        # waitress keeps its sockets in _map, the loop's own map.
        for channel in list(self.server._map.values()):
            channel.close()
        self.server.task_dispatcher.shutdown()

    def _serve(self) -> None:
        while not self.stopping.is_set():
            self.server.asyncore.loop(
                timeout=self.server.adj.asyncore_loop_timeout,
                map=self.server._map,  # as waitress's own run() passes it
                use_poll=self.server.adj.asyncore_use_poll,
                count=1,
            )


def main(argv: Sequence[str] | None = None) -> None:
    """`python -m gas_local.moto_server -H 127.0.0.1 -p 5000`: moto in a process of its own, until it is stopped."""
    parser = argparse.ArgumentParser(
        prog="python -m gas_local.moto_server",
        description="Serve moto, prepared as every local moto of this project is, until SIGTERM or Ctrl-C.",
    )
    parser.add_argument("-H", "--host", default="127.0.0.1", help="the address to listen on (default: 127.0.0.1)")
    parser.add_argument("-p", "--port", type=int, default=5000, help="the port to listen on (default: 5000)")
    arguments = parser.parse_args(argv)
    prepare_moto()
    # SIGTERM (how `make down` and the tests stop it) ends the block below like Ctrl-C does, closing the sockets.
    signal.signal(signal.SIGTERM, _exit)
    with _KeepAliveServer(arguments.port, host=arguments.host) as server:
        print(f"moto listening on http://{arguments.host}:{server.port}", flush=True)
        server.thread.join()


def _exit(*_: object) -> None:
    raise SystemExit(0)


if __name__ == "__main__":
    main()
