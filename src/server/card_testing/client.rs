//! Which client a request comes from, as the card-testing limits count it: the connection's
//! address, or the one a trusted reverse proxy wrote (`CHECKOUT_TRUSTED_PROXY_HEADER`).

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use axum::extract::{ConnectInfo, Request, State};
use axum::middleware::Next;
use axum::response::Response;

use crate::server::state::AppState;

/// The client's address (an IPv6 one as its /64, which one subscriber usually has whole);
/// `None` for a request that came through no socket (made in process).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClientAddress(pub Option<String>);

/// Puts the request's [`ClientAddress`] in its extensions.
pub async fn identify(
    State(state): State<Arc<AppState>>,
    mut request: Request,
    next: Next,
) -> Response {
    let from_proxy = state
        .operations
        .trusted_proxy_header
        .as_ref()
        .and_then(|name| request.headers().get(name))
        .and_then(|value| value.to_str().ok())
        .and_then(last_address);
    let address = from_proxy.or_else(|| {
        request
            .extensions()
            .get::<ConnectInfo<SocketAddr>>()
            .map(|info| info.0.ip())
    });
    request
        .extensions_mut()
        .insert(ClientAddress(address.map(counted_as)));
    next.run(request).await
}

/// The address a proxy appended last (`X-Forwarded-For: client, proxy1` → what the trusted
/// proxy saw connect to it), with or without a port.
fn last_address(value: &str) -> Option<IpAddr> {
    let last = value.rsplit(',').next()?.trim();
    last.parse::<IpAddr>()
        .ok()
        .or_else(|| last.parse::<SocketAddr>().ok().map(|s| s.ip()))
}

/// How an address is counted: IPv4 (or IPv4 mapped in IPv6) as it is, IPv6 by its /64.
fn counted_as(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => {
                let s = v6.segments();
                format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
            }
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_trusted_proxy_s_address_is_the_last_one_it_wrote() {
        assert_eq!(
            last_address("203.0.113.9, 10.0.0.2"),
            Some("10.0.0.2".parse().unwrap()),
            "a client can write the first entries itself"
        );
        assert_eq!(
            last_address("198.51.100.7"),
            Some("198.51.100.7".parse().unwrap())
        );
        assert_eq!(
            last_address("198.51.100.7:5123"),
            Some("198.51.100.7".parse().unwrap())
        );
        assert_eq!(
            last_address("[2001:db8::1]:443"),
            Some("2001:db8::1".parse().unwrap())
        );
        assert_eq!(last_address("not an address"), None);
    }

    #[test]
    fn an_ipv6_client_is_counted_by_its_64_and_a_mapped_ipv4_as_ipv4() {
        let a = counted_as("2001:db8:aa:bb:1::1".parse().unwrap());
        let b = counted_as("2001:db8:aa:bb:ffff::2".parse().unwrap());
        assert_eq!(a, b);
        assert_eq!(a, "2001:db8:aa:bb::/64");
        assert_ne!(a, counted_as("2001:db8:aa:bc::1".parse().unwrap()));
        assert_eq!(counted_as("::ffff:192.0.2.1".parse().unwrap()), "192.0.2.1");
    }
}
