"""The served OpenAPI document, checked by independent tools, and the seed
workflow run through the Python SDK generated from it.

Starts `agusto serve` on 127.0.0.1:0 (temporary data dir, AGUSTO_ADMIN_TOKEN
set), fetches /api/v1/openapi.json, validates it (openapi_checks.py),
generates a client with openapi-python-client (failing on any warning), imports
it and drives stock in -> order -> paid -> pick -> pack -> complete -> status,
plus the error answers an SDK user meets (422, 409, 401), through the generated
functions only.

Usage: python tests/interop/sdk_workflow.py [--bin target/debug/agusto]
(scripts/sdk-check.sh runs it with the .venv of scripts/test-all).
"""

import argparse
import importlib
import json
import os
import shutil
import sys
import tempfile

sys.dont_write_bytecode = True  # leave no __pycache__ in the checkout
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import CheckFailed, Processes, agusto_env, http, wait_until  # noqa: E402
import openapi_checks  # noqa: E402

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
PACKAGE = "agusto_client"


def value(x):
    """An enum member's wire value, anything else as it is."""
    return getattr(x, "value", x)


def need(condition, what):
    if not condition:
        raise CheckFailed(what)


def answer(response, status, model=None):
    """The parsed body of a generated `sync_detailed` call with this status."""
    if response.status_code != status:
        raise CheckFailed(f"HTTP {int(response.status_code)}, expected {status}: {response.content[:400]!r}")
    if model is not None and not isinstance(response.parsed, model):
        raise CheckFailed(f"parsed as {type(response.parsed).__name__}, expected {model.__name__}")
    return response.parsed


def workflow(base, admin_token):
    """Stock in -> order -> paid -> pick -> pack -> complete -> status, through the SDK."""
    sdk = importlib.import_module(PACKAGE)
    api = lambda area, op: importlib.import_module(f"{PACKAGE}.api.{area}.{op}")  # noqa: E731
    m = importlib.import_module(f"{PACKAGE}.models")
    client = lambda token: sdk.AuthenticatedClient(  # noqa: E731
        base_url=base, token=token, timeout=30.0, raise_on_unexpected_status=True)
    admin = client(admin_token)

    health = api("operations", "get_health").sync_detailed(client=sdk.Client(base_url=base, timeout=30.0))
    need(answer(health, 200) == "ok", f"healthz said {health.parsed!r}")

    product = answer(api("catalogue", "put_product").sync_detailed(
        product_code="SDK-KOPI", client=admin,
        body=m.ProductBody(name="Kopi Toraja 250g", active=True)), 201, m.ProductView)
    need(product.product_code == "SDK-KOPI", "putProduct answered another product")
    staff_token = answer(api("tokens", "create_token").sync_detailed(
        client=admin, body=m.NewTokenBody(role=m.TokenRoleName.STAFF, name="sdk-check")),
        201, m.CreatedToken)
    staff = client(staff_token.token)
    receipt = answer(api("stock", "create_receipt").sync_detailed(client=staff, body=m.ReceiptBody(
        reference="PO-SDK-1", lines=[m.ReceiptLine(product_code="SDK-KOPI", quantity=10)])),
        201, m.ReceiptView)
    need(receipt.lines[0].on_hand == 10, f"receipt levels {receipt.to_dict()}")

    channel = answer(api("channels", "create_channel").sync_detailed(
        client=admin, body=m.NewChannelBody(name="Toko SDK")), 201, m.CreatedChannel)
    shop = client(channel.api_token)
    answer(api("catalogue", "put_sku_mapping").sync_detailed(
        channel_id=channel.id, sku="TK-KOPI", client=staff, body=m.SkuBody(product_code="SDK-KOPI")),
        200, m.SkuMappingView)

    new_order = m.NewOrderBody(external_id="SDK-1001",
                               lines=[m.NewOrderLine(sku="TK-KOPI", quantity=2)])
    create_order = api("orders", "create_order")
    order = answer(create_order.sync_detailed(client=shop, body=new_order, idempotency_key="sdk-cart-1"),
                   201, m.OrderView)
    need(value(order.status) == "reserved", f"new order is {value(order.status)}")
    again = answer(create_order.sync_detailed(client=shop, body=new_order, idempotency_key="sdk-cart-1"),
                   200, m.OrderView)
    need(again.id == order.id, "a replayed order got another id")
    short = answer(create_order.sync_detailed(client=shop, body=m.NewOrderBody(
        external_id="SDK-1002", lines=[m.NewOrderLine(sku="TK-KOPI", quantity=1000)])), 422, m.Problem)
    need(short.code == "insufficient_stock", f"short order: {short.to_dict()}")
    shortage = short.shortages[0]
    need((shortage.sku, shortage.available) == ("TK-KOPI", 8), f"shortages {short.to_dict()}")

    stock = answer(api("stock", "get_inventory").sync_detailed(sku="TK-KOPI", client=shop), 200, m.StockView)
    need((stock.on_hand, stock.reserved, stock.available) == (10, 2, 8), f"inventory {stock.to_dict()}")

    paid = answer(api("orders", "mark_order_paid").sync_detailed(id=order.id, client=shop), 200, m.OrderView)
    need(value(paid.status) == "pending_approval", f"paid order is {value(paid.status)}")
    pick_list = answer(api("orders", "list_orders").sync_detailed(
        client=staff, status=m.OrderStatusName.PENDING_APPROVAL), 200, m.PageOfOrderView)
    need([o.id for o in pick_list.items] == [order.id], "the pick list is not the paid order")
    need(isinstance(pick_list.items[0], m.OrderView), "page items are not OrderView models")
    answer(api("orders", "pick_order").sync_detailed(id=order.id, client=staff), 200, m.OrderView)
    answer(api("orders", "pack_order").sync_detailed(id=order.id, client=staff), 200, m.OrderView)
    done = answer(api("orders", "complete_order").sync_detailed(
        id=order.id, client=staff, body=m.CompleteBody(tracking_number="JNE-SDK-1", carrier="JNE")),
        200, m.OrderView)
    need(value(done.status) == "dispatched", f"completed order is {value(done.status)}")

    status = answer(api("orders", "get_order_status").sync_detailed(id=order.id, client=shop), 200, m.StatusView)
    need(value(status.status) == "dispatched" and status.tracking_number == "JNE-SDK-1",
         f"status {status.to_dict()}")
    need([value(h.status) for h in status.history]
         == ["reserved", "pending_approval", "picking", "packed", "dispatched"],
         f"history {status.to_dict()}")
    stock = answer(api("stock", "get_inventory").sync_detailed(sku="TK-KOPI", client=shop), 200, m.StockView)
    need((stock.on_hand, stock.reserved) == (8, 0), f"inventory after dispatch {stock.to_dict()}")
    ledger = answer(api("stock", "list_movements").sync_detailed(sku="SDK-KOPI", client=staff),
                    200, m.PageOfMovementView)
    need({"receipt", "reserve", "stock_out"} <= {value(r.kind) for r in ledger.items},
         f"ledger {ledger.to_dict()}")

    ret = answer(api("returns", "request_return").sync_detailed(
        id=order.id, client=shop, body=m.ReturnBody(lines=[m.ReturnLineBody(sku="TK-KOPI", quantity=2)])),
        201, m.ReturnView)
    need(value(ret.status) == "requested", f"return {ret.to_dict()}")
    waiting = answer(api("returns", "list_returns").sync_detailed(client=staff), 200, m.PageOfReturnView)
    need([r.id for r in waiting.items] == [ret.id], f"receiving list {waiting.to_dict()}")
    got = answer(api("returns", "receive_return").sync_detailed(
        id=ret.id, client=staff,
        body=m.ReceiveBody(lines=[m.ReceivedLineBody(product_code="SDK-KOPI", restock=1, damaged=1)])),
        200, m.ReturnView)
    need(value(got.status) == "received", f"received {got.to_dict()}")
    stock = answer(api("stock", "get_inventory").sync_detailed(sku="SDK-KOPI", client=staff), 200, m.StockView)
    need((stock.on_hand, stock.damaged) == (9, 1), f"inventory after the return {stock.to_dict()}")

    other = answer(create_order.sync_detailed(client=shop, body=m.NewOrderBody(
        external_id="SDK-1003", lines=[m.NewOrderLine(sku="TK-KOPI", quantity=1)])), 201, m.OrderView)
    cancel = api("orders", "cancel_order")
    cancelled = answer(cancel.sync_detailed(id=other.id, client=shop), 200, m.OrderView)
    need(value(cancelled.status) == "cancelled", f"cancelled order is {value(cancelled.status)}")
    refused = answer(cancel.sync_detailed(id=order.id, client=shop), 409, m.Problem)
    need(refused.code == "invalid_transition", f"cancel after dispatch: {refused.to_dict()}")

    answer(api("webhooks", "list_webhook_deliveries").sync_detailed(client=staff), 200, m.PageOfDeliveryView)
    answer(api("tokens", "revoke_token").sync_detailed(id=staff_token.id, client=admin), 204)
    gone = answer(api("stock", "get_inventory").sync_detailed(sku="SDK-KOPI", client=staff), 401, m.Problem)
    need(gone.code == "unauthorized", f"revoked token: {gone.to_dict()}")
    print(f"sdk_workflow: order {order.id} placed, paid, picked, packed, dispatched, returned; "
          "422, 409 and 401 parsed as Problem, all through the generated client")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bin", default=os.path.join(ROOT, "target", "debug", "agusto"))
    args = parser.parse_args()
    work = tempfile.mkdtemp(prefix="agusto-sdk-check-")
    procs = Processes(work)
    token = "aga_sdk_check_admin_token_" + os.urandom(8).hex()
    try:
        server = procs.start("serve", [os.path.abspath(args.bin), "serve", "--listen", "127.0.0.1:0",
                                       "--data-dir", os.path.join(work, "data")],
                             agusto_env({"AGUSTO_ADMIN_TOKEN": token}))
        base = procs.base_url("serve", server)
        wait_until("/healthz", 30, lambda: http("GET", base + "/healthz")[0] == 200)
        status, doc = http("GET", base + "/api/v1/openapi.json")
        if status != 200:
            raise CheckFailed(f"GET /api/v1/openapi.json: HTTP {status}")
        doc_path = os.path.join(work, "openapi.json")
        with open(doc_path, "w", encoding="utf-8") as f:
            json.dump(doc, f, indent=1)
        openapi_checks.validate_document(doc_path)
        openapi_checks.check_made_for_sdks(doc)
        openapi_checks.check_examples(doc)
        openapi_checks.generate_client(doc_path, os.path.join(work, PACKAGE))
        sys.path.insert(0, work)
        workflow(base, token)
    except Exception as e:  # a check, or the generated client raising (e.g. UnexpectedStatus)
        print(f"sdk_workflow: FAILED: {type(e).__name__}: {e}", file=sys.stderr)
        print(f"--- server log ---\n{procs.tail('serve')}", file=sys.stderr)
        return 1
    finally:
        procs.stop_all()
        shutil.rmtree(work, ignore_errors=True)
    print("sdk_workflow: passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
