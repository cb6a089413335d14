//! The v4 ↔ v3 rewrites of request and response frames.

use std::collections::{HashMap, HashSet};
use std::io;
use std::net::Ipv4Addr;
use std::sync::{Arc, Mutex, PoisonError};

use super::wire::*;
use super::{
    Frame, OP_EXECUTE, OP_PREPARE, OP_QUERY, OP_RESULT, OP_STARTUP, RESULT_PREPARED, RESULT_ROWS,
};

/// What the proxy remembers across every connection: the prepared ids of
/// the topology query (the driver prepares it on one connection and may
/// execute it on another).
#[derive(Debug, Default)]
pub struct Shared {
    topology_ids: Mutex<HashSet<Vec<u8>>>,
}

/// What one answer needs beyond the version byte.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fixup {
    /// The PREPARED result of the stripped topology query.
    Prepared,
    /// ROWS of the stripped topology query: add `rpc_address`.
    Rows,
}

/// One client connection's state: the shared part and, by stream id, the
/// answers that need a fix-up.
#[derive(Debug, Default)]
pub struct Connection {
    pub(super) shared: Arc<Shared>,
    waiting: Mutex<HashMap<i16, Fixup>>,
}

impl Connection {
    /// A connection's state over `shared`.
    pub fn new(shared: Arc<Shared>) -> Connection {
        Connection {
            shared,
            waiting: Mutex::default(),
        }
    }

    pub(super) fn mark(&self, stream: i16, fixup: Option<Fixup>) {
        let mut waiting = self.waiting.lock().unwrap_or_else(PoisonError::into_inner);
        match fixup {
            Some(f) => waiting.insert(stream, f),
            None => waiting.remove(&stream),
        };
    }

    pub(super) fn take(&self, stream: i16) -> Option<Fixup> {
        self.waiting
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&stream)
    }

    pub(super) fn topology_ids(&self) -> std::sync::MutexGuard<'_, HashSet<Vec<u8>>> {
        self.shared
            .topology_ids
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

/// Rewrites a request frame of a v4 client for a v3 server. Frames of any
/// other version pass unchanged (the server will refuse them itself).
pub fn to_server(mut frame: Frame, conn: &Connection) -> io::Result<Frame> {
    if frame.version != 0x04 {
        return Ok(frame);
    }
    frame.version = 0x03;
    let fixup = match frame.opcode {
        OP_STARTUP => {
            frame.body = rewrite_startup(&frame.body)?;
            None
        }
        OP_QUERY | OP_PREPARE => rewrite_query(&frame.body)?.map(|body| {
            frame.body = body;
            if frame.opcode == OP_QUERY {
                Fixup::Rows
            } else {
                Fixup::Prepared
            }
        }),
        OP_EXECUTE => {
            let id = short_bytes(&frame.body, &mut 0)?;
            conn.topology_ids().contains(id).then_some(Fixup::Rows)
        }
        _ => None,
    };
    conn.mark(frame.stream, fixup);
    Ok(frame)
}

/// Rewrites a response frame of a v3 server for a v4 client; `ip` is what
/// a topology answer gets as `rpc_address`.
pub fn to_client(mut frame: Frame, conn: &Connection, ip: Ipv4Addr) -> io::Result<Frame> {
    if frame.version != 0x83 {
        return Ok(frame);
    }
    frame.version = 0x84;
    let fixup = conn.take(frame.stream);
    if frame.opcode != OP_RESULT {
        return Ok(frame);
    }
    let body = &frame.body;
    match read_i32(body, 0)? {
        RESULT_PREPARED => {
            let mut at = 4;
            let id = short_bytes(body, &mut at)?.to_vec();
            let mut out = body[..at].to_vec();
            // Bind metadata: flags, column count, then v4's pk indices.
            out.extend_from_slice(
                body.get(at..at + 8)
                    .ok_or_else(|| invalid("short PREPARED"))?,
            );
            out.extend_from_slice(&0i32.to_be_bytes());
            let bind_start = at + 8;
            at = bind_start;
            let (flags, count) = (
                read_i32(body, bind_start - 8)?,
                read_i32(body, bind_start - 4)?,
            );
            skip_specs(body, &mut at, flags, count, true)?;
            out.extend_from_slice(&body[bind_start..at]);
            if fixup == Some(Fixup::Prepared) {
                metadata_with_rpc_address(body, &mut at, &mut out)?;
                conn.topology_ids().insert(id);
            }
            out.extend_from_slice(&body[at..]);
            frame.body = out;
        }
        RESULT_ROWS if fixup == Some(Fixup::Rows) => {
            let mut at = 4;
            let mut out = body[..at].to_vec();
            let columns = metadata_with_rpc_address(body, &mut at, &mut out)?;
            let rows = read_i32(body, at)?;
            out.extend_from_slice(&body[at..at + 4]);
            at += 4;
            for _ in 0..rows {
                let start = at;
                skip_bytes(body, &mut at)?;
                out.extend_from_slice(&body[start..at]);
                out.extend_from_slice(&4i32.to_be_bytes());
                out.extend_from_slice(&ip.octets());
                let rest = at;
                for _ in 1..columns {
                    skip_bytes(body, &mut at)?;
                }
                out.extend_from_slice(&body[rest..at]);
            }
            out.extend_from_slice(&body[at..]);
            frame.body = out;
        }
        _ => {}
    }
    Ok(frame)
}

/// STARTUP's string map with `CQL_VERSION` 3.0.0 and no `COMPRESSION`.
fn rewrite_startup(body: &[u8]) -> io::Result<Vec<u8>> {
    let mut at = 0;
    let count = read_u16(body, &mut at)?;
    let mut pairs = Vec::with_capacity(usize::from(count));
    for _ in 0..count {
        let key = read_string(body, &mut at)?;
        let value = read_string(body, &mut at)?;
        match key.as_str() {
            "COMPRESSION" => {}
            "CQL_VERSION" => pairs.push((key, "3.0.0".to_owned())),
            _ => pairs.push((key, value)),
        }
    }
    let mut out = Vec::new();
    out.extend_from_slice(&(pairs.len() as u16).to_be_bytes());
    for (k, v) in pairs {
        for s in [k, v] {
            out.extend_from_slice(&(s.len() as u16).to_be_bytes());
            out.extend_from_slice(s.as_bytes());
        }
    }
    Ok(out)
}

/// A QUERY or PREPARE body with the driver's `system.local` topology read
/// made valid for Cassandra 2.1 (`rpc_address` left out), or `None` for
/// any other query.
fn rewrite_query(body: &[u8]) -> io::Result<Option<Vec<u8>>> {
    let length =
        usize::try_from(read_i32(body, 0)?).map_err(|_| invalid("negative query length"))?;
    let text = body
        .get(4..4 + length)
        .ok_or_else(|| invalid("query text past the body"))?;
    let text = std::str::from_utf8(text).map_err(|_| invalid("query text not UTF-8"))?;
    let Some(rewritten) = local_topology_query(text) else {
        return Ok(None);
    };
    let mut out = Vec::with_capacity(body.len());
    out.extend_from_slice(&(rewritten.len() as i32).to_be_bytes());
    out.extend_from_slice(rewritten.as_bytes());
    out.extend_from_slice(&body[4 + length..]);
    Ok(Some(out))
}

/// `Some(rewritten)` for a query that selects `host_id, rpc_address, …`
/// from `system.local`: the same query without `rpc_address`.
pub fn local_topology_query(text: &str) -> Option<String> {
    let lower = text.to_ascii_lowercase();
    if !lower.contains("from system.local") || !lower.starts_with("select host_id, rpc_address,") {
        return None;
    }
    Some(text.replacen("rpc_address, ", "", 1))
}

/// Copies the rows metadata at `body[*at..]` to `out` with an
/// `rpc_address` (inet) column spec inserted second; returns the column
/// count the server sent. With `No_metadata` only the count changes.
fn metadata_with_rpc_address(body: &[u8], at: &mut usize, out: &mut Vec<u8>) -> io::Result<i32> {
    let flags = read_i32(body, *at)?;
    let columns = read_i32(body, *at + 4)?;
    if columns < 1 {
        return Err(invalid("topology answer without columns"));
    }
    out.extend_from_slice(&flags.to_be_bytes());
    out.extend_from_slice(&(columns + 1).to_be_bytes());
    *at += 8;
    let start = *at;
    if flags & 0x0002 != 0 {
        skip_bytes(body, at)?; // paging state
    }
    if flags & 0x0004 != 0 {
        out.extend_from_slice(&body[start..*at]);
        return Ok(columns);
    }
    let global = flags & 0x0001 != 0;
    if global {
        read_string(body, at)?;
        read_string(body, at)?;
    }
    // The first column's spec: [keyspace, table,] name, type.
    let (mut keyspace, mut table) = (String::new(), String::new());
    if !global {
        keyspace = read_string(body, at)?;
        table = read_string(body, at)?;
    }
    read_string(body, at)?;
    skip_option(body, at)?;
    out.extend_from_slice(&body[start..*at]);
    if !global {
        push_string(out, &keyspace);
        push_string(out, &table);
    }
    push_string(out, "rpc_address");
    out.extend_from_slice(&0x0010u16.to_be_bytes()); // inet
    let rest = *at;
    skip_specs(body, at, flags, columns - 1, false)?;
    out.extend_from_slice(&body[rest..*at]);
    Ok(columns)
}

/// Skips `count` column specs, first the global table spec when
/// `from_start` and `flags` says there is one.
fn skip_specs(
    body: &[u8],
    at: &mut usize,
    flags: i32,
    count: i32,
    from_start: bool,
) -> io::Result<()> {
    let global = flags & 0x0001 != 0;
    if global && from_start {
        read_string(body, at)?;
        read_string(body, at)?;
    }
    for _ in 0..count {
        if !global {
            read_string(body, at)?;
            read_string(body, at)?;
        }
        read_string(body, at)?;
        skip_option(body, at)?;
    }
    Ok(())
}
