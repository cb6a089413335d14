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

use std::io;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

mod rewrite;
mod wire;

pub use rewrite::{Connection, Fixup, Shared, local_topology_query, to_client, to_server};

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
            return Err(wire::invalid("the proxy listens on IPv4 only"));
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
async fn relay(
    client: TcpStream,
    server: TcpStream,
    conn: Connection,
    ip: Ipv4Addr,
) -> io::Result<()> {
    client.set_nodelay(true)?;
    server.set_nodelay(true)?;
    let (mut client_read, mut client_write) = client.into_split();
    let (mut server_read, mut server_write) = server.into_split();
    let requests = pump(&mut client_read, &mut server_write, |f| to_server(f, &conn));
    let responses = pump(&mut server_read, &mut client_write, |f| {
        to_client(f, &conn, ip)
    });
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
mod tests;
