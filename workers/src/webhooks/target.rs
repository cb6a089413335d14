//! Where webhooks may go: http(s) URLs whose host resolves only to allowed
//! addresses. The check runs inside the HTTP client's resolver, so the address
//! checked is the address connected to (no DNS rebinding between the two).

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use ipnet::IpNet;
use reqwest::dns::{Addrs, Name, Resolve, Resolving};

/// Address ranges webhooks must never reach (default: cloud metadata).
#[derive(Debug, Clone)]
pub struct DenyList(pub Arc<Vec<IpNet>>);

impl Default for DenyList {
    fn default() -> Self {
        DenyList(Arc::new(vec![
            "169.254.0.0/16".parse().expect("valid CIDR"),
            "fe80::/10".parse().expect("valid CIDR"),
        ]))
    }
}

impl DenyList {
    /// True when `ip` falls in a denied range (IPv4-mapped IPv6 counts as IPv4).
    pub fn denies(&self, ip: IpAddr) -> bool {
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(ip),
            v4 => v4,
        };
        self.0.iter().any(|net| net.contains(&ip))
    }

    /// Checks a URL before sending: http or https, a host, and (for an IP
    /// literal) an allowed address. Host names are checked when resolved.
    pub fn check_url(&self, url: &reqwest::Url) -> Result<(), String> {
        if !matches!(url.scheme(), "http" | "https") {
            return Err(format!("scheme {} is not http(s)", url.scheme()));
        }
        match url.host() {
            None => Err("no host".into()),
            Some(url::Host::Ipv4(ip)) if self.denies(IpAddr::V4(ip)) => {
                Err(format!("address {ip} is denied"))
            }
            Some(url::Host::Ipv6(ip)) if self.denies(IpAddr::V6(ip)) => {
                Err(format!("address {ip} is denied"))
            }
            Some(_) => Ok(()),
        }
    }
}

impl Resolve for DenyList {
    fn resolve(&self, name: Name) -> Resolving {
        let deny = self.clone();
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let addrs: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            if let Some(bad) = addrs.iter().find(|a| deny.denies(a.ip())) {
                return Err(format!("{host} resolves to denied address {}", bad.ip()).into());
            }
            if addrs.is_empty() {
                return Err(format!("{host} has no address").into());
            }
            let addrs: Addrs = Box::new(addrs.into_iter());
            Ok(addrs)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metadata_addresses_and_other_schemes_are_refused() {
        let deny = DenyList::default();
        assert!(
            deny.check_url(&"http://169.254.169.254/latest".parse().unwrap())
                .is_err()
        );
        assert!(
            deny.check_url(&"ftp://example.com/".parse().unwrap())
                .is_err()
        );
        assert!(
            deny.check_url(&"http://[::ffff:169.254.1.1]/".parse().unwrap())
                .is_err()
        );
        assert!(
            deny.check_url(&"http://127.0.0.1:8080/hook".parse().unwrap())
                .is_ok()
        );
        assert!(
            deny.check_url(&"https://toko.example/hook".parse().unwrap())
                .is_ok()
        );
    }
}
