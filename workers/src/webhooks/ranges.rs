//! The address ranges a webhook never reaches unless the operator allows
//! them: loopback, private, link-local, CGNAT, multicast, unspecified and
//! otherwise reserved space, for IPv4 and IPv6. IPv4-mapped IPv6
//! (`::ffff:a.b.c.d`) and NAT64 (`64:ff9b::a.b.c.d`) addresses are judged
//! by the IPv4 address inside them.

use std::fmt;
use std::net::{IpAddr, Ipv6Addr};
use std::sync::LazyLock;

use ipnet::IpNet;

/// Why an address is not a public unicast one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `0.0.0.0`, `::`.
    Unspecified,
    /// `127.0.0.0/8`, `::1`.
    Loopback,
    /// RFC 1918, `fc00::/7` (and the deprecated site-local `fec0::/10`).
    Private,
    /// `169.254.0.0/16`, `fe80::/10`.
    LinkLocal,
    /// Shared address space of carrier-grade NAT, `100.64.0.0/10`.
    Cgnat,
    /// `224.0.0.0/4`, `ff00::/8`.
    Multicast,
    /// Everything else that is not public unicast: "this network",
    /// documentation, benchmarking, protocol assignments, broadcast, 6to4,
    /// Teredo, `240.0.0.0/4`, and IPv6 outside `2000::/3`.
    Reserved,
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Kind::Unspecified => "unspecified",
            Kind::Loopback => "loopback",
            Kind::Private => "private",
            Kind::LinkLocal => "link-local",
            Kind::Cgnat => "CGNAT",
            Kind::Multicast => "multicast",
            Kind::Reserved => "reserved",
        })
    }
}

/// The special ranges, most specific first where they overlap.
const RANGES: &[(&str, Kind)] = &[
    ("0.0.0.0/32", Kind::Unspecified),
    ("0.0.0.0/8", Kind::Reserved),
    ("10.0.0.0/8", Kind::Private),
    ("100.64.0.0/10", Kind::Cgnat),
    ("127.0.0.0/8", Kind::Loopback),
    ("169.254.0.0/16", Kind::LinkLocal),
    ("172.16.0.0/12", Kind::Private),
    ("192.0.0.0/24", Kind::Reserved),
    ("192.0.2.0/24", Kind::Reserved),
    ("192.88.99.0/24", Kind::Reserved),
    ("192.168.0.0/16", Kind::Private),
    ("198.18.0.0/15", Kind::Reserved),
    ("198.51.100.0/24", Kind::Reserved),
    ("203.0.113.0/24", Kind::Reserved),
    ("224.0.0.0/4", Kind::Multicast),
    ("240.0.0.0/4", Kind::Reserved),
    ("::/128", Kind::Unspecified),
    ("::1/128", Kind::Loopback),
    ("fc00::/7", Kind::Private),
    ("fec0::/10", Kind::Private),
    ("fe80::/10", Kind::LinkLocal),
    ("ff00::/8", Kind::Multicast),
    ("2001::/23", Kind::Reserved),
    ("2001:db8::/32", Kind::Reserved),
    ("2002::/16", Kind::Reserved),
    ("3fff::/20", Kind::Reserved),
];

/// A special range an address falls in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Special {
    /// What kind of range.
    pub kind: Kind,
    /// The range itself.
    pub net: IpNet,
}

static PARSED: LazyLock<Vec<Special>> = LazyLock::new(|| {
    RANGES
        .iter()
        .map(|(net, kind)| Special {
            kind: *kind,
            net: net.parse().expect("valid CIDR in the table"),
        })
        .collect()
});

/// Global unicast IPv6 space; anything outside it is reserved.
static GLOBAL_V6: LazyLock<IpNet> = LazyLock::new(|| "2000::/3".parse().expect("valid CIDR"));

/// The NAT64 well-known prefix (RFC 6052).
const NAT64: [u16; 6] = [0x64, 0xff9b, 0, 0, 0, 0];

/// The address a connection to `ip` really reaches, for judging it: the
/// IPv4 address inside an IPv4-mapped or NAT64 IPv6 address, else `ip`.
pub fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None if v6.segments()[..6] == NAT64 => IpAddr::V4(embedded_v4(v6)),
            None => ip,
        },
        v4 => v4,
    }
}

fn embedded_v4(v6: Ipv6Addr) -> std::net::Ipv4Addr {
    let o = v6.octets();
    std::net::Ipv4Addr::new(o[12], o[13], o[14], o[15])
}

/// The special range `ip` (judged by [`canonical`]) falls in, or `None` for
/// a public unicast address.
pub fn special(ip: IpAddr) -> Option<Special> {
    let ip = canonical(ip);
    if let Some(s) = PARSED.iter().find(|s| s.net.contains(&ip)) {
        return Some(*s);
    }
    match ip {
        IpAddr::V6(_) if !GLOBAL_V6.contains(&ip) => Some(Special {
            kind: Kind::Reserved,
            net: IpNet::new(ip, 128).unwrap_or(*GLOBAL_V6),
        }),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kind(ip: &str) -> Option<Kind> {
        special(ip.parse().expect("address")).map(|s| s.kind)
    }

    #[test]
    fn every_special_ipv4_range_is_named() {
        for (ip, want) in [
            ("0.0.0.0", Kind::Unspecified),
            ("0.1.2.3", Kind::Reserved),
            ("10.0.0.1", Kind::Private),
            ("10.255.255.255", Kind::Private),
            ("172.16.0.1", Kind::Private),
            ("172.31.255.254", Kind::Private),
            ("192.168.1.10", Kind::Private),
            ("100.64.0.1", Kind::Cgnat),
            ("100.127.255.254", Kind::Cgnat),
            ("127.0.0.1", Kind::Loopback),
            ("127.255.0.9", Kind::Loopback),
            ("169.254.169.254", Kind::LinkLocal),
            ("224.0.0.1", Kind::Multicast),
            ("239.255.255.250", Kind::Multicast),
            ("192.0.0.8", Kind::Reserved),
            ("192.0.2.1", Kind::Reserved),
            ("198.51.100.7", Kind::Reserved),
            ("203.0.113.9", Kind::Reserved),
            ("198.18.0.1", Kind::Reserved),
            ("198.19.255.255", Kind::Reserved),
            ("192.88.99.1", Kind::Reserved),
            ("240.0.0.1", Kind::Reserved),
            ("255.255.255.255", Kind::Reserved),
        ] {
            assert_eq!(kind(ip), Some(want), "{ip}");
        }
    }

    #[test]
    fn every_special_ipv6_range_is_named() {
        for (ip, want) in [
            ("::", Kind::Unspecified),
            ("::1", Kind::Loopback),
            ("fc00::1", Kind::Private),
            ("fd12:3456:789a::1", Kind::Private),
            ("fec0::1", Kind::Private),
            ("fe80::1", Kind::LinkLocal),
            ("febf::1", Kind::LinkLocal),
            ("ff02::1", Kind::Multicast),
            ("2001:db8::1", Kind::Reserved),
            ("2001::1", Kind::Reserved),
            ("2002:c000:0204::1", Kind::Reserved),
            ("3fff::1", Kind::Reserved),
            ("::127.0.0.1", Kind::Reserved),
            ("100::1", Kind::Reserved),
            ("5f00::1", Kind::Reserved),
            ("64:ff9b:1::1", Kind::Reserved),
        ] {
            assert_eq!(kind(ip), Some(want), "{ip}");
        }
    }

    #[test]
    fn mapped_and_nat64_addresses_are_judged_by_their_ipv4_address() {
        assert_eq!(kind("::ffff:127.0.0.1"), Some(Kind::Loopback));
        assert_eq!(kind("::ffff:10.1.2.3"), Some(Kind::Private));
        assert_eq!(kind("::ffff:169.254.169.254"), Some(Kind::LinkLocal));
        assert_eq!(kind("64:ff9b::192.168.0.1"), Some(Kind::Private));
        assert_eq!(kind("64:ff9b::100.64.0.1"), Some(Kind::Cgnat));
        assert_eq!(kind("::ffff:8.8.8.8"), None);
        assert_eq!(kind("64:ff9b::8.8.4.4"), None);
        assert_eq!(
            canonical("::ffff:1.2.3.4".parse().unwrap()),
            "1.2.3.4".parse::<IpAddr>().unwrap()
        );
    }

    #[test]
    fn public_addresses_pass() {
        for ip in [
            "1.1.1.1",
            "8.8.8.8",
            "100.63.255.255",
            "100.128.0.0",
            "172.15.255.255",
            "172.32.0.0",
            "192.167.255.255",
            "198.17.255.255",
            "198.20.0.0",
            "223.255.255.255",
            "2001:4860:4860::8888",
            "2606:4700:4700::1111",
            "2a00:1450:4001::200e",
        ] {
            assert_eq!(kind(ip), None, "{ip}");
        }
    }
}
