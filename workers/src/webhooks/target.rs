//! Where webhooks may go (SSRF protection): `http(s)` URLs whose host is a
//! public unicast address, or one the operator allows.
//!
//! An address is refused when it is in `webhook_deny_cidrs` (cloud metadata
//! by default; this list wins over everything), else accepted when it is in
//! `webhook_allow_cidrs`, else refused when it is in a special range
//! ([`super::ranges`]: loopback, private, link-local, CGNAT, multicast,
//! unspecified, reserved). The check runs on the address actually connected
//! to: the HTTP client resolves names through [`TargetPolicy`] (a
//! `reqwest::dns::Resolve`), which hands the connector only the accepted
//! addresses, so nothing is resolved twice (no DNS rebinding between check
//! and connect); IP-literal hosts, which the client never resolves, are
//! checked by [`TargetPolicy::check_url`] before sending. The client follows
//! no redirects and uses no proxy.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use ipnet::IpNet;
use reqwest::dns::{Addrs, Name, Resolve, Resolving};

use super::ranges;

/// A target the policy refuses; the text names the address and the reason.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("target refused: {0}")]
pub struct Refused(pub String);

/// Which addresses webhooks may reach. Cheap to clone.
#[derive(Debug, Clone)]
pub struct TargetPolicy {
    allow: Arc<Vec<IpNet>>,
    deny: Arc<Vec<IpNet>>,
}

impl Default for TargetPolicy {
    /// Nothing allowed beyond public unicast; cloud metadata denied.
    fn default() -> Self {
        TargetPolicy::new(
            Vec::new(),
            vec![
                "169.254.0.0/16".parse().expect("valid CIDR"),
                "fe80::/10".parse().expect("valid CIDR"),
            ],
        )
    }
}

impl TargetPolicy {
    /// A policy allowing the special-range addresses inside `allow`, and
    /// refusing every address inside `deny` (even an allowed one).
    pub fn new(allow: Vec<IpNet>, deny: Vec<IpNet>) -> Self {
        TargetPolicy {
            allow: Arc::new(allow),
            deny: Arc::new(deny),
        }
    }

    /// Accepts `ip` or says why not. An IPv4-mapped address is judged as
    /// its IPv4 address (and matched against the lists in both forms).
    pub fn check(&self, ip: IpAddr) -> Result<(), Refused> {
        let canonical = ranges::canonical(ip);
        let within = |nets: &[IpNet]| {
            nets.iter()
                .find(|n| n.contains(&ip) || n.contains(&canonical))
                .copied()
        };
        if let Some(net) = within(&self.deny) {
            return Err(Refused(format!("{ip} is in webhook_deny_cidrs ({net})")));
        }
        if within(&self.allow).is_some() {
            return Ok(());
        }
        match ranges::special(ip) {
            None => Ok(()),
            Some(s) => Err(Refused(format!(
                "{ip} is {} ({}), not in webhook_allow_cidrs",
                s.kind, s.net
            ))),
        }
    }

    /// Checks a URL before sending: http or https, a host, and (for an IP
    /// literal) an accepted address. Names are checked when resolved.
    pub fn check_url(&self, url: &reqwest::Url) -> Result<(), Refused> {
        if !matches!(url.scheme(), "http" | "https") {
            return Err(Refused(format!("scheme {} is not http(s)", url.scheme())));
        }
        match url.host() {
            None => Err(Refused("the URL has no host".into())),
            Some(url::Host::Ipv4(ip)) => self.check(IpAddr::V4(ip)),
            Some(url::Host::Ipv6(ip)) => self.check(IpAddr::V6(ip)),
            Some(url::Host::Domain(_)) => Ok(()),
        }
    }

    /// The accepted ones among the addresses `host` resolved to; `Refused`
    /// naming every address when none is accepted.
    pub fn filter(&self, host: &str, addrs: Vec<SocketAddr>) -> Result<Vec<SocketAddr>, Refused> {
        let mut why = Vec::new();
        let accepted: Vec<SocketAddr> = addrs
            .into_iter()
            .filter(|a| match self.check(a.ip()) {
                Ok(()) => true,
                Err(Refused(reason)) => {
                    why.push(reason);
                    false
                }
            })
            .collect();
        if accepted.is_empty() {
            return Err(Refused(if why.is_empty() {
                format!("{host} has no address")
            } else {
                format!(
                    "{host} resolves only to refused addresses: {}",
                    why.join("; ")
                )
            }));
        }
        Ok(accepted)
    }

    /// The HTTP client that delivers webhooks: resolves through this policy,
    /// follows no redirect, uses no proxy.
    pub fn client(&self) -> reqwest::Result<reqwest::Client> {
        reqwest::Client::builder()
            .dns_resolver(Arc::new(self.clone()))
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .user_agent(concat!("agusto-webhooks/", env!("CARGO_PKG_VERSION")))
            .build()
    }
}

impl Resolve for TargetPolicy {
    fn resolve(&self, name: Name) -> Resolving {
        let policy = self.clone();
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let found: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let addrs: Addrs = Box::new(policy.filter(&host, found)?.into_iter());
            Ok(addrs)
        })
    }
}

/// The refusal somewhere in an error's chain of causes (the client wraps
/// what the resolver returned).
pub fn refusal<'e>(e: &'e (dyn std::error::Error + 'static)) -> Option<&'e Refused> {
    let mut next = Some(e);
    while let Some(err) = next {
        if let Some(r) = err.downcast_ref::<Refused>() {
            return Some(r);
        }
        next = err.source();
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nets(list: &[&str]) -> Vec<IpNet> {
        list.iter().map(|n| n.parse().expect("CIDR")).collect()
    }

    fn url(u: &str) -> reqwest::Url {
        u.parse().expect("url")
    }

    #[test]
    fn special_addresses_are_refused_unless_allowed_and_deny_wins() {
        let strict = TargetPolicy::default();
        for u in [
            "http://127.0.0.1:8080/hook",
            "http://127.1/hook",
            "http://2130706433/hook",
            "http://[::1]/hook",
            "http://[::ffff:127.0.0.1]/hook",
            "http://10.0.0.5/hook",
            "http://100.64.1.1/hook",
            "http://169.254.169.254/latest",
            "http://0.0.0.0/",
            "http://[fd00::1]/",
        ] {
            assert!(strict.check_url(&url(u)).is_err(), "{u}");
        }
        let e = strict.check_url(&url("http://127.0.0.1/")).unwrap_err();
        assert_eq!(
            e.to_string(),
            "target refused: 127.0.0.1 is loopback (127.0.0.0/8), not in webhook_allow_cidrs"
        );
        assert!(strict.check_url(&url("ftp://example.com/")).is_err());
        assert!(strict.check_url(&url("https://toko.example/hook")).is_ok());
        assert!(strict.check_url(&url("http://8.8.8.8/hook")).is_ok());

        let local = TargetPolicy::new(
            nets(&["127.0.0.0/8", "169.254.0.0/16"]),
            nets(&["169.254.169.254/32"]),
        );
        assert!(local.check_url(&url("http://127.0.0.1:9/")).is_ok());
        assert!(local.check_url(&url("http://[::ffff:127.0.0.1]/")).is_ok());
        assert!(
            local.check_url(&url("http://[::1]/")).is_err(),
            "v6 loopback not allowed"
        );
        assert!(local.check_url(&url("http://169.254.1.1/")).is_ok());
        let denied = local
            .check_url(&url("http://169.254.169.254/"))
            .unwrap_err();
        assert!(denied.0.contains("webhook_deny_cidrs"), "{denied}");
        assert!(
            local
                .check_url(&url("http://[::ffff:169.254.169.254]/"))
                .is_err(),
            "mapped form of a denied address"
        );
    }

    #[test]
    fn resolved_addresses_are_filtered_to_the_accepted_ones() {
        let addr = |s: &str| SocketAddr::new(s.parse().expect("ip"), 0);
        let local = TargetPolicy::new(nets(&["127.0.0.0/8"]), Vec::new());
        let both = vec![addr("::1"), addr("127.0.0.1")];
        assert_eq!(
            local.filter("localhost", both.clone()),
            Ok(vec![addr("127.0.0.1")])
        );
        let e = TargetPolicy::default()
            .filter("localhost", both)
            .unwrap_err();
        assert!(
            e.0.starts_with("localhost resolves only to refused addresses: ::1 is loopback")
                && e.0.contains("127.0.0.1 is loopback"),
            "{e}"
        );
        assert!(local.filter("nowhere", Vec::new()).is_err());
    }

    #[tokio::test]
    async fn the_client_refuses_a_name_that_resolves_to_loopback() {
        let client = TargetPolicy::default().client().expect("client");
        let e = client
            .post("http://localhost:9/hook")
            .send()
            .await
            .expect_err("refused");
        let r = refusal(&e).unwrap_or_else(|| panic!("not a refusal: {e:?}"));
        assert!(r.0.contains("is loopback"), "{r}");
    }
}
