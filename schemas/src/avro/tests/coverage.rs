//! The samples exercise every branch of every union in every schema (each
//! variant of each Rust enum, each `Option` as `None` and as `Some`), so the
//! round-trip tests cover the whole mapping.

use std::collections::{BTreeMap, BTreeSet};

use apache_avro::{Schema, types::Value};

use super::generic::read_generic;
use super::{events, order_envelopes, reply_envelopes, stock_envelopes};
use crate::avro::AvroMessage;

/// Union fields by "record full name.field" → branch count.
type Unions = BTreeMap<String, usize>;
/// Named types by full name.
type Named<'a> = BTreeMap<String, &'a Schema>;

/// Collects named definitions and the union fields of every record.
fn collect<'a>(s: &'a Schema, named: &mut Named<'a>, unions: &mut Unions) {
    match s {
        Schema::Record(r) => {
            let full = r.name.fullname(None);
            if named.insert(full.clone(), s).is_some() {
                return;
            }
            for f in &r.fields {
                if let Schema::Union(u) = &f.schema {
                    unions.insert(format!("{full}.{}", f.name), u.variants().len());
                }
                collect(&f.schema, named, unions);
            }
        }
        Schema::Enum(e) => {
            named.insert(e.name.fullname(None), s);
        }
        Schema::Union(u) => u.variants().iter().for_each(|v| collect(v, named, unions)),
        Schema::Array(a) => collect(&a.items, named, unions),
        _ => {}
    }
}

/// Records which branch each union field value took.
fn walk(s: &Schema, v: &Value, named: &Named, seen: &mut BTreeMap<String, BTreeSet<u32>>) {
    match (s, v) {
        (Schema::Ref { name }, _) => walk(named[&name.fullname(None)], v, named, seen),
        (Schema::Record(r), Value::Record(fields)) => {
            let full = r.name.fullname(None);
            for (f, (_, fv)) in r.fields.iter().zip(fields) {
                if let (Schema::Union(_), Value::Union(i, _)) = (&f.schema, fv) {
                    let key = format!("{full}.{}", f.name);
                    seen.entry(key).or_default().insert(*i);
                }
                walk(&f.schema, fv, named, seen);
            }
        }
        (Schema::Union(u), Value::Union(i, inner)) => {
            walk(&u.variants()[*i as usize], inner, named, seen)
        }
        (Schema::Array(a), Value::Array(items)) => items
            .iter()
            .for_each(|item| walk(&a.items, item, named, seen)),
        _ => {}
    }
}

fn covers_every_branch<T: AvroMessage>(samples: &[T]) {
    let file = T::codec().file();
    let mut seen = BTreeMap::new();
    let mut schema = None;
    for sample in samples {
        let (s, value) = read_generic(file, &sample.encode());
        let mut named = Named::new();
        collect(&s, &mut named, &mut Unions::new());
        walk(&s, &value, &named, &mut seen);
        schema = Some(s);
    }
    let schema = schema.expect("samples");
    let mut unions = Unions::new();
    collect(&schema, &mut Named::new(), &mut unions);
    assert!(!unions.is_empty());
    for (key, count) in unions {
        let taken = seen.get(&key).cloned().unwrap_or_default();
        let all: BTreeSet<u32> = (0..count as u32).collect();
        assert_eq!(taken, all, "{file}: branches of {key} the samples take");
    }
}

#[test]
fn samples_take_every_union_branch() {
    covers_every_branch(&stock_envelopes());
    covers_every_branch(&order_envelopes());
    covers_every_branch(&reply_envelopes());
    covers_every_branch(&events());
}

#[test]
fn samples_use_every_enum_symbol() {
    let mut symbols = BTreeSet::new();
    let mut note = |v: &Value| {
        fn visit(v: &Value, out: &mut BTreeSet<String>) {
            match v {
                Value::Enum(_, s) => {
                    out.insert(s.clone());
                }
                Value::Union(_, inner) => visit(inner, out),
                Value::Record(fields) => fields.iter().for_each(|(_, f)| visit(f, out)),
                Value::Array(items) => items.iter().for_each(|i| visit(i, out)),
                _ => {}
            }
        }
        visit(v, &mut symbols);
    };
    stock_envelopes().iter().for_each(|e| note(&e.to_value()));
    reply_envelopes().iter().for_each(|e| note(&e.to_value()));
    events().iter().for_each(|e| note(&e.to_value()));
    for s in crate::OrderStatus::ALL {
        assert!(symbols.contains(s.as_str()), "{s:?}");
    }
    for s in ["cancelled", "expired", "compensation"] {
        assert!(symbols.contains(s), "release reason {s}");
    }
    for s in [
        "stock_changed",
        "order_dispatched",
        "order_status_changed",
        "order_returned",
    ] {
        assert!(symbols.contains(s), "event type {s}");
    }
}
