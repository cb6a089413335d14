//! Unit tests of the frame rewrites, on frames built by hand.

use super::rewrite::*;
use super::wire::push_string;
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
    Frame {
        version,
        flags: 0,
        stream: 7,
        opcode,
        body,
    }
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
    let body = string_map(&[
        ("CQL_VERSION", "4.0.0"),
        ("COMPRESSION", "lz4"),
        ("DRIVER_NAME", "x"),
    ]);
    let out = to_server(frame(0x04, OP_STARTUP, body), &pending()).unwrap();
    assert_eq!(out.version, 0x03);
    assert_eq!(out.stream, 7);
    assert_eq!(
        out.body,
        string_map(&[("CQL_VERSION", "3.0.0"), ("DRIVER_NAME", "x")])
    );
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
    assert_eq!(
        local_topology_query("SELECT host_id, rpc_address, tokens FROM system.peers"),
        None
    );
    assert_eq!(
        local_topology_query("SELECT host_id FROM system.local"),
        None
    );
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
            &[
                ("host_id", &[0x00, 0x0C]),
                ("data_center", &[0x00, 0x0D]),
                ("tokens", set_of_text),
            ],
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
    let out = to_client(
        frame(0x83, OP_RESULT, other.clone()),
        &pending(),
        Ipv4Addr::LOCALHOST,
    );
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
    let out = to_client(
        frame(0x83, OP_RESULT, prepared(&[0xAB], &bind, &result)),
        &p,
        Ipv4Addr::LOCALHOST,
    )
    .unwrap();
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
    let result = metadata(
        0,
        &[("host_id", &[0x00, 0x0C]), ("data_center", &[0x00, 0x0D])],
    );
    let out = to_client(
        frame(0x83, OP_RESULT, prepared(&[0x01, 0x02], &bind, &result)),
        &p,
        Ipv4Addr::LOCALHOST,
    )
    .unwrap();
    let mut v4_bind = bind[..8].to_vec();
    v4_bind.extend_from_slice(&0i32.to_be_bytes());
    v4_bind.extend_from_slice(&bind[8..]);
    let with_rpc = metadata(
        0,
        &[
            ("host_id", &[0x00, 0x0C]),
            ("rpc_address", &[0x00, 0x10]),
            ("data_center", &[0x00, 0x0D]),
        ],
    );
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
    let out = to_client(
        frame(0x83, OP_RESULT, rows),
        &other,
        Ipv4Addr::new(127, 0, 0, 9),
    )
    .unwrap();
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
    assert_eq!(
        to_client(rows.clone(), &pending(), ip).unwrap(),
        Frame {
            version: 0x84,
            ..rows
        }
    );
    let options = frame(0x04, 0x05, vec![]);
    assert_eq!(
        to_server(options.clone(), &pending()).unwrap(),
        Frame {
            version: 0x03,
            ..options
        }
    );
    let v3 = frame(0x03, OP_STARTUP, vec![1, 2, 3]);
    assert_eq!(
        to_server(v3.clone(), &pending()).unwrap(),
        v3,
        "non-v4 frames pass as they are"
    );
}

#[test]
fn truncated_bodies_are_errors_not_panics() {
    let ip = Ipv4Addr::LOCALHOST;
    assert!(to_client(frame(0x83, OP_RESULT, vec![0, 0, 0, 4, 0]), &pending(), ip).is_err());
    assert!(to_server(frame(0x04, OP_STARTUP, vec![0, 1, 0, 9]), &pending()).is_err());
    assert!(to_server(frame(0x04, OP_QUERY, vec![0, 0, 0, 9, b'x']), &pending()).is_err());
    let p = pending();
    p.mark(7, Some(Fixup::Rows));
    assert!(
        to_client(
            frame(0x83, OP_RESULT, vec![0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 9]),
            &p,
            ip
        )
        .is_err()
    );
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
