//! A loopback proxy that lets a CQL native protocol **v4** client (the
//! `scylla` crate 1.x) talk to a server that speaks only **v3** (Apache
//! Cassandra 2.1).
//!
//! v3 and v4 frames share one 9-byte header (version, flags, stream,
//! opcode, length), and almost every body is the same. What differs, and is
//! rewritten here, frame by frame:
//!
//! - the version byte, both ways (`0x04` → `0x03` to the server, `0x83` →
//!   `0x84` back);
//! - STARTUP: `CQL_VERSION` is set to `3.0.0` (the driver sends `4.0.0`),
//!   and `COMPRESSION` is dropped (frames pass through uncompressed);
//! - a PREPARED result: v4 puts the partition-key count and indices after
//!   the column count of the bind metadata; v3 has no such field, so a count
//!   of 0 is inserted (the client then has no token-aware routing, which
//!   one node does not need);
//! - the driver's topology query reads `rpc_address` from `system.local`,
//!   a column Cassandra 2.1.0 lacks there: the query goes to the server
//!   without it, and the proxy adds the column to the answer, holding its
//!   own IP (the driver pairs it with the port it connected to: this
//!   proxy's, so every later connection comes through here too).
//!
//! Everything else passes through byte for byte. This is test tooling, not
//! product code: it trusts both ends and handles one client per upstream
//! connection.

use std::collections::{HashMap, HashSet};
use std::io;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex, PoisonError};

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

/// Request opcodes the proxy rewrites.
const OP_STARTUP: u8 = 0x01;
const OP_QUERY: u8 = 0x07;
const OP_PREPARE: u8 = 0x09;
const OP_EXECUTE: u8 = 0x0A;
/// Response opcode of results; kind 4 is PREPARED.
const OP_RESULT: u8 = 0x08;
const RESULT_ROWS: i32 = 2;
const RESULT_PREPARED: i32 = 4;
/// The largest frame body the protocol allows (256 MiB).
const MAX_BODY: usize = 256 * 1024 * 1024;

/// One protocol frame: the 9-byte header fields and the body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    /// Protocol version; the high bit is set on responses.
    pub version: u8,
    /// Frame flags (compression, tracing, …).
    pub flags: u8,
    /// Stream id, echoed by the server.
    pub stream: i16,
    /// Operation.
    pub opcode: u8,
    /// The body, exactly as on the wire.
    pub body: Vec<u8>,
}

impl Frame {
    /// Reads one frame, or `None` on a clean end of stream before a header.
    pub async fn read<R: AsyncRead + Unpin>(reader: &mut R) -> io::Result<Option<Frame>> {
        let mut header = [0u8; 9];
        match reader.read_exact(&mut header[..1]).await {
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(None),
            Err(e) => return Err(e),
        }
        reader.read_exact(&mut header[1..]).await?;
        let length = u32::from_be_bytes([header[5], header[6], header[7], header[8]]) as usize;
        if length > MAX_BODY {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("frame body of {length} bytes"),
            ));
        }
        let mut body = vec![0u8; length];
        reader.read_exact(&mut body).await?;
        Ok(Some(Frame {
            version: header[0],
            flags: header[1],
            stream: i16::from_be_bytes([header[2], header[3]]),
            opcode: header[4],
            body,
        }))
    }

    /// The frame as bytes on the wire (header with the body's length).
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(9 + self.body.len());
        out.push(self.version);
        out.push(self.flags);
        out.extend_from_slice(&self.stream.to_be_bytes());
        out.push(self.opcode);
        let length = u32::try_from(self.body.len()).unwrap_or(u32::MAX);
        out.extend_from_slice(&length.to_be_bytes());
        out.extend_from_slice(&self.body);
        out
    }
}

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
    shared: Arc<Shared>,
    waiting: Mutex<HashMap<i16, Fixup>>,
}

impl Connection {
    /// A connection's state over `shared`.
    pub fn new(shared: Arc<Shared>) -> Connection {
        Connection { shared, waiting: Mutex::default() }
    }

    fn mark(&self, stream: i16, fixup: Option<Fixup>) {
        let mut waiting = self.waiting.lock().unwrap_or_else(PoisonError::into_inner);
        match fixup {
            Some(f) => waiting.insert(stream, f),
            None => waiting.remove(&stream),
        };
    }

    fn take(&self, stream: i16) -> Option<Fixup> {
        self.waiting.lock().unwrap_or_else(PoisonError::into_inner).remove(&stream)
    }

    fn topology_ids(&self) -> std::sync::MutexGuard<'_, HashSet<Vec<u8>>> {
        self.shared.topology_ids.lock().unwrap_or_else(PoisonError::into_inner)
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
            if frame.opcode == OP_QUERY { Fixup::Rows } else { Fixup::Prepared }
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
            out.extend_from_slice(body.get(at..at + 8).ok_or_else(|| invalid("short PREPARED"))?);
            out.extend_from_slice(&0i32.to_be_bytes());
            let bind_start = at + 8;
            at = bind_start;
            let (flags, count) = (read_i32(body, bind_start - 8)?, read_i32(body, bind_start - 4)?);
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
    let length = usize::try_from(read_i32(body, 0)?)
        .map_err(|_| invalid("negative query length"))?;
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
fn skip_specs(body: &[u8], at: &mut usize, flags: i32, count: i32, from_start: bool) -> io::Result<()> {
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

/// A `[short bytes]` value (the prepared id).
fn short_bytes<'a>(body: &'a [u8], at: &mut usize) -> io::Result<&'a [u8]> {
    let length = usize::from(read_u16(body, at)?);
    let bytes = body.get(*at..*at + length).ok_or_else(|| invalid("id past the body"))?;
    *at += length;
    Ok(bytes)
}

fn push_string(out: &mut Vec<u8>, s: &str) {
    out.extend_from_slice(&(s.len() as u16).to_be_bytes());
    out.extend_from_slice(s.as_bytes());
}

/// Skips a `[bytes]` value (an int length, negative for null).
fn skip_bytes(body: &[u8], at: &mut usize) -> io::Result<()> {
    let length = read_i32(body, *at)?;
    *at += 4;
    if length > 0 {
        *at += length as usize;
        if *at > body.len() {
            return Err(invalid("value past the body"));
        }
    }
    Ok(())
}

/// Skips a column type `[option]`, with the types it is made of.
fn skip_option(body: &[u8], at: &mut usize) -> io::Result<()> {
    match read_u16(body, at)? {
        0x0000 => {
            read_string(body, at)?;
        }
        0x0020 | 0x0022 => skip_option(body, at)?,
        0x0021 => {
            skip_option(body, at)?;
            skip_option(body, at)?;
        }
        0x0030 | 0x0031 => return Err(invalid("user and tuple types are not proxied")),
        _ => {}
    }
    Ok(())
}

fn read_u16(body: &[u8], at: &mut usize) -> io::Result<u16> {
    let bytes = body.get(*at..*at + 2).ok_or_else(|| invalid("short read"))?;
    *at += 2;
    Ok(u16::from_be_bytes([bytes[0], bytes[1]]))
}

fn read_i32(body: &[u8], at: usize) -> io::Result<i32> {
    let bytes = body.get(at..at + 4).ok_or_else(|| invalid("short read"))?;
    Ok(i32::from_be_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]))
}

fn read_string(body: &[u8], at: &mut usize) -> io::Result<String> {
    let length = usize::from(read_u16(body, at)?);
    let bytes = body
        .get(*at..*at + length)
        .ok_or_else(|| invalid("string past the body"))?;
    *at += length;
    String::from_utf8(bytes.to_vec()).map_err(|_| invalid("string not UTF-8"))
}

fn invalid(what: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, what.to_owned())
}

/// A running proxy; it stops accepting when dropped (open connections end
/// when either side closes).
#[derive(Debug)]
pub struct Proxy {
    /// Where clients connect.
    pub address: SocketAddr,
    accept: JoinHandle<()>,
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.accept.abort();
    }
}

impl Proxy {
    /// Listens on `listen` (an IPv4 address; port 0: a free one) and
    /// forwards every client connection to `upstream`, translating frames.
    pub async fn start(listen: SocketAddr, upstream: SocketAddr) -> io::Result<Proxy> {
        let IpAddr::V4(ip) = listen.ip() else {
            return Err(invalid("the proxy listens on IPv4 only"));
        };
        let listener = TcpListener::bind(listen).await?;
        let address = listener.local_addr()?;
        let shared = Arc::new(Shared::default());
        let accept = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let conn = Connection::new(shared.clone());
                tokio::spawn(async move {
                    if let Ok(server) = TcpStream::connect(upstream).await {
                        let _ = relay(client, server, conn, ip).await;
                    }
                });
            }
        });
        Ok(Proxy { address, accept })
    }
}

/// Pumps frames both ways until either side closes or sends garbage.
async fn relay(client: TcpStream, server: TcpStream, conn: Connection, ip: Ipv4Addr) -> io::Result<()> {
    client.set_nodelay(true)?;
    server.set_nodelay(true)?;
    let (mut client_read, mut client_write) = client.into_split();
    let (mut server_read, mut server_write) = server.into_split();
    let requests = pump(&mut client_read, &mut server_write, |f| to_server(f, &conn));
    let responses = pump(&mut server_read, &mut client_write, |f| to_client(f, &conn, ip));
    tokio::select! {
        r = requests => r,
        r = responses => r,
    }
}

async fn pump<R, W, F>(from: &mut R, to: &mut W, mut rewrite: F) -> io::Result<()>
where
    R: AsyncRead + Unpin,
    W: AsyncWrite + Unpin,
    F: FnMut(Frame) -> io::Result<Frame>,
{
    while let Some(frame) = Frame::read(from).await? {
        to.write_all(&rewrite(frame)?.encode()).await?;
    }
    to.shutdown().await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn string_map(pairs: &[(&str, &str)]) -> Vec<u8> {
        let mut out = (pairs.len() as u16).to_be_bytes().to_vec();
        for (k, v) in pairs {
            for s in [k, v] {
                out.extend_from_slice(&(s.len() as u16).to_be_bytes());
                out.extend_from_slice(s.as_bytes());
            }
        }
        out
    }

    fn frame(version: u8, opcode: u8, body: Vec<u8>) -> Frame {
        Frame { version, flags: 0, stream: 7, opcode, body }
    }

    fn pending() -> Connection {
        Connection::default()
    }

    fn long_string(text: &str, rest: &[u8]) -> Vec<u8> {
        let mut body = (text.len() as i32).to_be_bytes().to_vec();
        body.extend_from_slice(text.as_bytes());
        body.extend_from_slice(rest);
        body
    }

    fn push_bytes(out: &mut Vec<u8>, b: Option<&[u8]>) {
        match b {
            Some(b) => {
                out.extend_from_slice(&(b.len() as i32).to_be_bytes());
                out.extend_from_slice(b);
            }
            None => out.extend_from_slice(&(-1i32).to_be_bytes()),
        }
    }

    #[test]
    fn startup_asks_for_cql_3_without_compression() {
        let body = string_map(&[("CQL_VERSION", "4.0.0"), ("COMPRESSION", "lz4"), ("DRIVER_NAME", "x")]);
        let out = to_server(frame(0x04, OP_STARTUP, body), &pending()).unwrap();
        assert_eq!(out.version, 0x03);
        assert_eq!(out.stream, 7);
        assert_eq!(out.body, string_map(&[("CQL_VERSION", "3.0.0"), ("DRIVER_NAME", "x")]));
    }

    #[test]
    fn the_local_topology_query_leaves_out_rpc_address_and_is_remembered() {
        let text = "SELECT host_id, rpc_address, data_center FROM system.local WHERE key='local'";
        let p = pending();
        let out = to_server(frame(0x04, OP_QUERY, long_string(text, &[0, 1, 0])), &p).unwrap();
        let want = "SELECT host_id, data_center FROM system.local WHERE key='local'";
        assert_eq!(out.body, long_string(want, &[0, 1, 0]));
        assert_eq!(p.take(7), Some(Fixup::Rows));
        p.mark(7, Some(Fixup::Rows));
        // Another query on the same stream id clears the mark.
        to_server(frame(0x04, OP_QUERY, long_string("SELECT 1", &[])), &p).unwrap();
        assert_eq!(p.take(7), None);
        // Other queries, including peers (which has the column), are untouched.
        assert_eq!(local_topology_query("SELECT host_id, rpc_address, tokens FROM system.peers"), None);
        assert_eq!(local_topology_query("SELECT host_id FROM system.local"), None);
    }

    /// A ROWS body: flags, columns (per-column keyspace and table), rows.
    fn rows(global: bool, columns: &[(&str, &[u8])], rows: &[Vec<Option<&[u8]>>]) -> Vec<u8> {
        let mut body = RESULT_ROWS.to_be_bytes().to_vec();
        body.extend_from_slice(&i32::from(global).to_be_bytes());
        body.extend_from_slice(&(columns.len() as i32).to_be_bytes());
        if global {
            push_string(&mut body, "system");
            push_string(&mut body, "local");
        }
        for (name, option) in columns {
            if !global {
                push_string(&mut body, "system");
                push_string(&mut body, "local");
            }
            push_string(&mut body, name);
            body.extend_from_slice(option);
        }
        body.extend_from_slice(&(rows.len() as i32).to_be_bytes());
        for row in rows {
            for cell in row {
                push_bytes(&mut body, *cell);
            }
        }
        body
    }

    #[test]
    fn the_topology_answer_gains_rpc_address_as_second_column() {
        let uuid: &[u8] = &[9; 16];
        let set_of_text: &[u8] = &[0x00, 0x22, 0x00, 0x0D];
        for global in [true, false] {
            let server = rows(
                global,
                &[("host_id", &[0x00, 0x0C]), ("data_center", &[0x00, 0x0D]), ("tokens", set_of_text)],
                &[vec![Some(uuid), Some(b"dc1"), None]],
            );
            let p = pending();
            p.mark(7, Some(Fixup::Rows));
            let out = to_client(frame(0x83, OP_RESULT, server), &p, Ipv4Addr::LOCALHOST).unwrap();
            let want = rows(
                global,
                &[
                    ("host_id", &[0x00, 0x0C]),
                    ("rpc_address", &[0x00, 0x10]),
                    ("data_center", &[0x00, 0x0D]),
                    ("tokens", set_of_text),
                ],
                &[vec![Some(uuid), Some(&[127, 0, 0, 1]), Some(b"dc1"), None]],
            );
            assert_eq!(out.body, want, "global table spec: {global}");
            assert_eq!(p.take(7), None);
        }
        // Rows for a stream that is not pending pass unchanged.
        let other = rows(true, &[("x", &[0x00, 0x0C])], &[vec![Some(uuid)]]);
        let out = to_client(frame(0x83, OP_RESULT, other.clone()), &pending(), Ipv4Addr::LOCALHOST);
        assert_eq!(out.unwrap().body, other);
    }

    /// A metadata section with a global table spec and these columns.
    fn metadata(flags: i32, columns: &[(&str, &[u8])]) -> Vec<u8> {
        let mut out = (flags | 1).to_be_bytes().to_vec();
        out.extend_from_slice(&(columns.len() as i32).to_be_bytes());
        push_string(&mut out, "ks");
        push_string(&mut out, "t");
        for (name, option) in columns {
            push_string(&mut out, name);
            out.extend_from_slice(option);
        }
        out
    }

    fn prepared(id: &[u8], bind: &[u8], result: &[u8]) -> Vec<u8> {
        let mut body = RESULT_PREPARED.to_be_bytes().to_vec();
        body.extend_from_slice(&(id.len() as u16).to_be_bytes());
        body.extend_from_slice(id);
        body.extend_from_slice(bind);
        body.extend_from_slice(result);
        body
    }

    #[test]
    fn a_prepared_result_gains_an_empty_pk_index_list() {
        let bind = metadata(0, &[("p", &[0x00, 0x02])]);
        let result = metadata(0, &[("v", &[0x00, 0x0D])]);
        let p = pending();
        let out = to_client(frame(0x83, OP_RESULT, prepared(&[0xAB], &bind, &result)), &p, Ipv4Addr::LOCALHOST).unwrap();
        assert_eq!(out.version, 0x84);
        let mut v4_bind = bind[..8].to_vec();
        v4_bind.extend_from_slice(&0i32.to_be_bytes());
        v4_bind.extend_from_slice(&bind[8..]);
        assert_eq!(out.body, prepared(&[0xAB], &v4_bind, &result));
        assert!(p.topology_ids().is_empty(), "not the topology query");
    }

    #[test]
    fn the_prepared_topology_query_and_its_executions_gain_rpc_address() {
        let text = "SELECT host_id, rpc_address, data_center FROM system.local WHERE key='local'";
        let p = pending();
        to_server(frame(0x04, OP_PREPARE, long_string(text, &[])), &p).unwrap();
        let bind = metadata(0, &[]);
        let result = metadata(0, &[("host_id", &[0x00, 0x0C]), ("data_center", &[0x00, 0x0D])]);
        let out = to_client(frame(0x83, OP_RESULT, prepared(&[0x01, 0x02], &bind, &result)), &p, Ipv4Addr::LOCALHOST).unwrap();
        let mut v4_bind = bind[..8].to_vec();
        v4_bind.extend_from_slice(&0i32.to_be_bytes());
        v4_bind.extend_from_slice(&bind[8..]);
        let with_rpc = metadata(0, &[("host_id", &[0x00, 0x0C]), ("rpc_address", &[0x00, 0x10]), ("data_center", &[0x00, 0x0D])]);
        assert_eq!(out.body, prepared(&[0x01, 0x02], &v4_bind, &with_rpc));
        // Executing that id (on any connection of the proxy) fixes its rows,
        // also when the client asked the server to skip the metadata.
        let other = Connection::new(p.shared.clone());
        let mut execute = vec![0x00, 0x02, 0x01, 0x02];
        execute.extend_from_slice(&[0x00, 0x01, 0x02]);
        to_server(frame(0x04, OP_EXECUTE, execute), &other).unwrap();
        let mut rows = RESULT_ROWS.to_be_bytes().to_vec();
        rows.extend_from_slice(&4i32.to_be_bytes()); // No_metadata
        rows.extend_from_slice(&2i32.to_be_bytes());
        rows.extend_from_slice(&1i32.to_be_bytes());
        push_bytes(&mut rows, Some(&[9; 16]));
        push_bytes(&mut rows, Some(b"dc1"));
        let out = to_client(frame(0x83, OP_RESULT, rows), &other, Ipv4Addr::new(127, 0, 0, 9)).unwrap();
        let mut want = RESULT_ROWS.to_be_bytes().to_vec();
        want.extend_from_slice(&4i32.to_be_bytes());
        want.extend_from_slice(&3i32.to_be_bytes());
        want.extend_from_slice(&1i32.to_be_bytes());
        push_bytes(&mut want, Some(&[9; 16]));
        push_bytes(&mut want, Some(&[127, 0, 0, 9]));
        push_bytes(&mut want, Some(b"dc1"));
        assert_eq!(out.body, want);
    }

    #[test]
    fn other_frames_only_change_version() {
        let ip = Ipv4Addr::LOCALHOST;
        let rows = frame(0x83, OP_RESULT, 1i32.to_be_bytes().to_vec());
        assert_eq!(to_client(rows.clone(), &pending(), ip).unwrap(), Frame { version: 0x84, ..rows });
        let options = frame(0x04, 0x05, vec![]);
        assert_eq!(to_server(options.clone(), &pending()).unwrap(), Frame { version: 0x03, ..options });
        let v3 = frame(0x03, OP_STARTUP, vec![1, 2, 3]);
        assert_eq!(to_server(v3.clone(), &pending()).unwrap(), v3, "non-v4 frames pass as they are");
    }

    #[test]
    fn truncated_bodies_are_errors_not_panics() {
        let ip = Ipv4Addr::LOCALHOST;
        assert!(to_client(frame(0x83, OP_RESULT, vec![0, 0, 0, 4, 0]), &pending(), ip).is_err());
        assert!(to_server(frame(0x04, OP_STARTUP, vec![0, 1, 0, 9]), &pending()).is_err());
        assert!(to_server(frame(0x04, OP_QUERY, vec![0, 0, 0, 9, b'x']), &pending()).is_err());
        let p = pending();
        p.mark(7, Some(Fixup::Rows));
        assert!(to_client(frame(0x83, OP_RESULT, vec![0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 9]), &p, ip).is_err());
    }

    #[tokio::test]
    async fn frames_round_trip_through_the_wire_format() {
        let f = frame(0x84, OP_RESULT, vec![1, 2, 3, 4, 5]);
        let bytes = f.encode();
        assert_eq!(bytes.len(), 14);
        let mut reader: &[u8] = &bytes;
        assert_eq!(Frame::read(&mut reader).await.unwrap(), Some(f));
        assert_eq!(Frame::read(&mut reader).await.unwrap(), None);
    }
}
