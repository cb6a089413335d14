//! Pages refer to their item schema: utoipa inlines the item type of the
//! generic `PageOf<T>`, which would give SDKs a second model per item type
//! (`PageOfOrderViewItemsItem` beside `OrderView`).

use utoipa::Modify;
use utoipa::openapi::schema::{ArrayBuilder, Schema};
use utoipa::openapi::{OpenApi, Ref, RefOr};

/// Points `PageOf_<T>.items` at the component `T`.
pub(super) struct Pages;

impl Modify for Pages {
    fn modify(&self, doc: &mut OpenApi) {
        let schemas = &mut doc.components.get_or_insert_with(Default::default).schemas;
        let names: Vec<String> = schemas.keys().cloned().collect();
        for name in names {
            let Some(item) = name.strip_prefix("PageOf_") else {
                continue;
            };
            if !schemas.contains_key(item) {
                continue;
            }
            let Some(RefOr::T(Schema::Object(page))) = schemas.get_mut(&name) else {
                continue;
            };
            page.description = Some(format!(
                "A page of `{item}` items; `next_cursor` is the `cursor` of the next page, \
                 null on the last one."
            ));
            let items = ArrayBuilder::new()
                .items(Ref::from_schema_name(item))
                .description(Some("The items of this page, in the list's order."))
                .build();
            page.properties
                .insert("items".into(), RefOr::T(Schema::Array(items)));
        }
    }
}
