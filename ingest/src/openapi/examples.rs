//! An example on every schema of the document, and on every request and
//! response body that names a schema (the schema's example, unless the
//! annotation gave one). `scripts/sdk-check.sh` validates each example against
//! its schema with an independent JSON Schema validator.

use serde_json::{Value, json};
use utoipa::Modify;
use utoipa::openapi::content::Content;
use utoipa::openapi::{OpenApi, RefOr, Schema};

use super::problems::{operations_mut, problem_example};

/// Puts the examples into the document.
pub(super) struct Examples;

const ORDER_ID: &str = "ord_3f9c2a7b1e0d4c5a6b7c";
const CHANNEL_ID: &str = "ch_5f1e2d3c4b5a69788796";

fn product() -> Value {
    json!({"product_code": "KOPI-250", "sku": "KOPI-250", "name": "Kopi Toraja 250g",
           "active": true, "barcode": "8991234567890", "updated_at": "2026-05-04T08:15:00Z"})
}

fn stock() -> Value {
    json!({"sku": "KOPI-250", "product_code": "KOPI-250", "on_hand": 98, "reserved": 2,
           "available": 96, "damaged": 1, "version": 7, "updated_at": "2026-05-04T09:30:12Z"})
}

fn order_line() -> Value {
    json!({"sku": "KOPI-250", "product_code": "KOPI-250", "quantity": 2})
}

fn order() -> Value {
    json!({"id": ORDER_ID, "external_id": "INV-1001", "channel_id": CHANNEL_ID,
           "status": "reserved", "lines": [order_line()], "expires_at": "2026-05-04T10:00:00Z",
           "tracking_number": null, "carrier": null, "created_at": "2026-05-04T09:30:00Z",
           "updated_at": "2026-05-04T09:30:00Z", "customer": {"name": "Siti Rahma"},
           "shipping_address": {"city": "Makassar", "postal_code": "90111"}})
}

fn return_line() -> Value {
    json!({"sku": "KOPI-250", "product_code": "KOPI-250", "quantity": 1})
}

fn return_view() -> Value {
    json!({"id": "rtn_00063f2a9c1d2e40a1b2c3d4", "order_id": ORDER_ID, "status": "requested",
           "lines": [return_line()], "reason": "wrong roast",
           "created_at": "2026-05-09T10:00:00Z"})
}

fn movement() -> Value {
    json!({"at": "2026-05-04T09:30:00Z", "kind": "reserve", "delta_on_hand": 0,
           "delta_reserved": 2, "delta_damaged": 0, "reference": ORDER_ID, "version": 7})
}

fn attempt() -> Value {
    json!({"at": "2026-05-04T09:31:02Z", "status_code": 503, "error": null, "duration_ms": 84})
}

fn delivery() -> Value {
    json!({"id": "dlv_0a1b2c3d4e5f60718293", "event_id": "evt_9c8b7a6f5e4d3c2b1a09",
           "channel_id": CHANNEL_ID, "type": "order.dispatched", "status": "failed",
           "attempts": [attempt()], "next_attempt_at": null,
           "payload": {"id": "evt_9c8b7a6f5e4d3c2b1a09", "type": "order.dispatched",
                       "created_at": "2026-05-04T09:31:00Z",
                       "data": {"order_id": ORDER_ID, "external_id": "INV-1001",
                                "tracking_number": "JNE0012345", "carrier": "JNE",
                                "dispatched_at": "2026-05-04T09:31:00Z"}},
           "created_at": "2026-05-04T09:31:00Z", "updated_at": "2026-05-04T09:32:10Z"})
}

fn channel() -> Value {
    json!({"id": CHANNEL_ID, "name": "Toko Kopi", "webhook_url": "https://toko.example/hooks",
           "allowed_ips": ["203.0.113.0/24"], "rate_limit_per_second": 50,
           "webhook_disabled": false, "stock_buffer": 2, "stock_buffer_percent": 10,
           "stock_floor": 1, "created_at": "2026-05-01T07:00:00Z",
           "updated_at": "2026-05-01T07:00:00Z"})
}

fn page(item: Value) -> Value {
    json!({"items": [item], "next_cursor": "eyJrIjoiS09QSS0yNTAifQ"})
}

/// The example of the component schema `name`, if it has one here.
pub(super) fn schema_example(name: &str) -> Option<Value> {
    Some(match name {
        "ProductBody" => {
            json!({"name": "Kopi Toraja 250g", "active": true, "barcode": "8991234567890"})
        }
        "ProductView" => product(),
        "PageOf_ProductView" => page(product()),
        "SkuBody" => json!({"product_code": "KOPI-250", "stock_max": 20}),
        "SkuMappingView" => {
            json!({"channel_id": CHANNEL_ID, "sku": "TK-KOPI-250", "product_code": "KOPI-250",
                   "stock_buffer": null, "stock_max": 20})
        }
        "StockView" => stock(),
        "PageOf_StockView" => page(stock()),
        "ReceiptLine" => json!({"product_code": "KOPI-250", "quantity": 100}),
        "ReceiptBody" => json!({"reference": "PO-2026-001",
                                "lines": [{"product_code": "KOPI-250", "quantity": 100}]}),
        "ReceiptLineView" => {
            json!({"product_code": "KOPI-250", "on_hand": 100, "available": 98, "version": 8})
        }
        "ReceiptView" => json!({"id": "rcpt_1a2b3c4d5e6f70819203", "lines": [
            {"product_code": "KOPI-250", "on_hand": 100, "available": 98, "version": 8}]}),
        "AdjustmentBody" => {
            json!({"product_code": "KOPI-250", "move_to_damaged": 3, "reason": "3 bags torn"})
        }
        "AdjustmentView" => json!({"id": "adj_2b3c4d5e6f7081920314", "product_code": "KOPI-250",
                                   "on_hand": 95, "reserved": 2, "available": 93, "damaged": 4,
                                   "version": 9}),
        "StockStateName" => json!("damaged"),
        "MovementKindName" => json!("reserve"),
        "MovementView" => movement(),
        "PageOf_MovementView" => page(movement()),
        "NewOrderLine" => json!({"sku": "KOPI-250", "quantity": 2}),
        "NewOrderBody" => json!({"external_id": "INV-1001",
                                 "lines": [{"sku": "KOPI-250", "quantity": 2}],
                                 "customer": {"name": "Siti Rahma"},
                                 "shipping_address": {"city": "Makassar", "postal_code": "90111"}}),
        "OrderLineView" => order_line(),
        "OrderStatusName" => json!("pending_approval"),
        "ComponentBody" => json!({"product_code": "KOPI-250", "quantity": 2}),
        "ReturnLineBody" => json!({"sku": "KOPI-250", "quantity": 1}),
        "ReturnBody" => {
            json!({"lines": [{"sku": "KOPI-250", "quantity": 1}], "reason": "wrong roast"})
        }
        "ReceivedLineBody" => json!({"product_code": "KOPI-250", "restock": 1, "damaged": 0}),
        "ReceiveBody" => {
            json!({"lines": [{"product_code": "KOPI-250", "restock": 1, "damaged": 0}]})
        }
        "ReturnStatusName" => json!("requested"),
        "ReturnLineView" => return_line(),
        "ReturnView" => return_view(),
        "ReturnsView" => json!({"items": [return_view()]}),
        "PageOf_ReturnView" => page(return_view()),
        "OrderView" => order(),
        "PageOf_OrderView" => page(order()),
        "Processing" => json!({"id": ORDER_ID, "status": "processing"}),
        "CompleteBody" => json!({"tracking_number": "JNE0012345", "carrier": "JNE"}),
        "HistoryEntry" => json!({"status": "reserved", "at": "2026-05-04T09:30:00Z"}),
        "StatusView" => json!({"id": ORDER_ID, "external_id": "INV-1001", "status": "dispatched",
                               "tracking_number": "JNE0012345", "carrier": "JNE",
                               "updated_at": "2026-05-04T11:02:00Z", "history": [
            {"status": "reserved", "at": "2026-05-04T09:30:00Z"},
            {"status": "pending_approval", "at": "2026-05-04T09:41:00Z"},
            {"status": "picking", "at": "2026-05-04T10:15:00Z"},
            {"status": "packed", "at": "2026-05-04T10:40:00Z"},
            {"status": "dispatched", "at": "2026-05-04T11:02:00Z"}]}),
        "NewChannelBody" => {
            json!({"name": "Toko Kopi", "webhook_url": "https://toko.example/hooks",
                                   "allowed_ips": ["203.0.113.0/24"], "rate_limit_per_second": 50,
                                   "stock_buffer": 2, "stock_buffer_percent": 10, "stock_floor": 1})
        }
        "ChannelPatchBody" => json!({"webhook_url": "https://toko.example/hooks/v2"}),
        "ChannelView" => channel(),
        "CreatedChannel" => {
            let mut created = channel();
            created["api_token"] = json!("agc_4m0JQ1x8b2vX9yVnq3TzKp6wHfE5dL7sRgU0iNoYcAe");
            created["webhook_secret"] = json!("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw/0eJ6Yh5G1E=");
            created
        }
        "TokenRoleName" => json!("staff"),
        "NewTokenBody" => json!({"role": "staff", "name": "gudang-shift-pagi"}),
        "CreatedToken" => json!({"id": "tok_3c4d5e6f708192031425",
                                 "token": "ags_Zq3v8KXb1mP0sT6yWnR4hJ2eF9dL5cA7gU1iOoYkQwE",
                                 "role": "staff", "name": "gudang-shift-pagi"}),
        "DeliveryStatusName" => json!("failed"),
        "AttemptView" => attempt(),
        "DeliveryView" => delivery(),
        "PageOf_DeliveryView" => page(delivery()),
        "FieldError" => json!({"field": "lines[0].quantity", "message": "must be > 0"}),
        "ShortageBody" => json!({"sku": "KOPI-250", "requested": 5, "available": 2}),
        "Problem" => problem_example(),
        "RetryAfter" => json!(1),
        _ => return None,
    })
}

/// The example a body gets from the schema it references, if any.
fn fill(content: &mut Content) {
    if content.example.is_some() || !content.examples.is_empty() {
        return;
    }
    if let Some(RefOr::Ref(r)) = &content.schema {
        let name = r.ref_location.rsplit('/').next().unwrap_or_default();
        content.example = schema_example(name);
    }
}

impl Modify for Examples {
    fn modify(&self, doc: &mut OpenApi) {
        let components = doc.components.get_or_insert_with(Default::default);
        for (name, schema) in components.schemas.iter_mut() {
            let Some(example) = schema_example(name) else {
                continue;
            };
            match schema {
                RefOr::T(Schema::Object(o)) => o.examples = vec![example],
                RefOr::T(Schema::Array(a)) => a.examples = vec![example],
                RefOr::T(Schema::OneOf(o)) => o.examples = vec![example],
                RefOr::T(Schema::AllOf(o)) => o.examples = vec![example],
                RefOr::T(Schema::AnyOf(o)) => o.examples = vec![example],
                _ => {}
            }
        }
        for item in doc.paths.paths.values_mut() {
            for op in operations_mut(item) {
                if let Some(RefOr::T(body)) = &mut op.request_body {
                    body.content.values_mut().for_each(|c| {
                        if let RefOr::T(c) = c {
                            fill(c)
                        }
                    });
                }
                for response in op.responses.responses.values_mut() {
                    if let RefOr::T(response) = response {
                        response.content.values_mut().for_each(|c| {
                            if let RefOr::T(c) = c {
                                fill(c)
                            }
                        });
                    }
                }
            }
        }
    }
}
