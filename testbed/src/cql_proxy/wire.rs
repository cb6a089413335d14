//! Reading and writing the protocol's notations (`[short]`, `[int]`,
//! `[string]`, `[bytes]`, `[option]`) inside a frame body.

use std::io;

/// A `[short bytes]` value (the prepared id).
pub(super) fn short_bytes<'a>(body: &'a [u8], at: &mut usize) -> io::Result<&'a [u8]> {
    let length = usize::from(read_u16(body, at)?);
    let bytes = body
        .get(*at..*at + length)
        .ok_or_else(|| invalid("id past the body"))?;
    *at += length;
    Ok(bytes)
}

pub(super) fn push_string(out: &mut Vec<u8>, s: &str) {
    out.extend_from_slice(&(s.len() as u16).to_be_bytes());
    out.extend_from_slice(s.as_bytes());
}

/// Skips a `[bytes]` value (an int length, negative for null).
pub(super) fn skip_bytes(body: &[u8], at: &mut usize) -> io::Result<()> {
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
pub(super) fn skip_option(body: &[u8], at: &mut usize) -> io::Result<()> {
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

pub(super) fn read_u16(body: &[u8], at: &mut usize) -> io::Result<u16> {
    let bytes = body
        .get(*at..*at + 2)
        .ok_or_else(|| invalid("short read"))?;
    *at += 2;
    Ok(u16::from_be_bytes([bytes[0], bytes[1]]))
}

pub(super) fn read_i32(body: &[u8], at: usize) -> io::Result<i32> {
    let bytes = body.get(at..at + 4).ok_or_else(|| invalid("short read"))?;
    Ok(i32::from_be_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]))
}

pub(super) fn read_string(body: &[u8], at: &mut usize) -> io::Result<String> {
    let length = usize::from(read_u16(body, at)?);
    let bytes = body
        .get(*at..*at + length)
        .ok_or_else(|| invalid("string past the body"))?;
    *at += length;
    String::from_utf8(bytes.to_vec()).map_err(|_| invalid("string not UTF-8"))
}

pub(super) fn invalid(what: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, what.to_owned())
}
