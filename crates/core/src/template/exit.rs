//! The exit of a template: `direct`, or an upstream proxy URL. Parsing splits the password off
//! so that it can go to the keyring and nowhere else.

use std::fmt;
use std::net::Ipv6Addr;

use percent_encoding::{percent_decode_str, utf8_percent_encode, AsciiSet, CONTROLS};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::error::{Error, Result};
use crate::secret::Secret;

/// Kind of upstream an exit uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitKind {
    Direct,
    Http,
    Socks5,
}

impl ExitKind {
    /// The kind as stored in SQLite and written in URLs.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Direct => "direct",
            Self::Http => "http",
            Self::Socks5 => "socks5",
        }
    }

    /// Parses the stored form.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "direct" => Some(Self::Direct),
            "http" => Some(Self::Http),
            "socks5" => Some(Self::Socks5),
            _ => None,
        }
    }
}

/// An upstream proxy address with its optional username (the password lives in the keyring).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProxyAddr {
    pub kind: ExitKind,
    pub host: String,
    pub port: u16,
    pub username: Option<String>,
}

/// Where a template's traffic leaves: straight out, or through one upstream proxy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Exit {
    Direct,
    Proxy(ProxyAddr),
}

/// An exit as parsed from user input, with the password (if any) split off.
#[derive(Debug)]
pub struct ParsedExit {
    pub exit: Exit,
    pub password: Option<Secret>,
}

/// Characters escaped in the username part of a displayed URL.
const USERINFO: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'@')
    .add(b':')
    .add(b'/')
    .add(b'%')
    .add(b'?')
    .add(b'#');

impl Exit {
    /// Kind of this exit.
    pub fn kind(&self) -> ExitKind {
        match self {
            Self::Direct => ExitKind::Direct,
            Self::Proxy(p) => p.kind,
        }
    }

    /// Parses `direct`, `http://[user[:pass]@]host:port` or `socks5://[user[:pass]@]host:port`.
    pub fn parse(input: &str) -> Result<ParsedExit> {
        let input = input.trim();
        if input.eq_ignore_ascii_case("direct") {
            return Ok(ParsedExit {
                exit: Exit::Direct,
                password: None,
            });
        }
        // Errors quote the input with any password removed.
        let shown = redact(input);
        let invalid = |reason| Error::InvalidExit {
            value: shown.clone(),
            reason,
        };
        let Some((scheme, rest)) = input.split_once("://") else {
            return Err(if input.is_empty() {
                invalid("empty; use direct, http://host:port or socks5://host:port")
            } else {
                Error::UnsupportedScheme { value: shown }
            });
        };
        let kind = match scheme.to_ascii_lowercase().as_str() {
            "http" => ExitKind::Http,
            "socks5" | "socks5h" => ExitKind::Socks5,
            _ => return Err(Error::UnsupportedScheme { value: shown }),
        };
        let rest = rest.strip_suffix('/').unwrap_or(rest);
        if rest.contains(['/', '?', '#']) {
            return Err(invalid("a proxy URL has no path, query or fragment"));
        }
        let (userinfo, hostport) = match rest.rsplit_once('@') {
            Some((u, h)) => (Some(u), h),
            None => (None, rest),
        };
        let (username, password) = match userinfo {
            None => (None, None),
            Some(u) => {
                let (user, pass) = match u.split_once(':') {
                    Some((user, pass)) => (user, Some(pass)),
                    None => (u, None),
                };
                let user = decode(user).ok_or_else(|| invalid("username is not valid UTF-8"))?;
                if user.is_empty() {
                    return Err(invalid("empty username before '@'"));
                }
                let pass = match pass {
                    Some(p) => {
                        Some(decode(p).ok_or_else(|| invalid("password is not valid UTF-8"))?)
                    }
                    None => None,
                };
                (Some(user), pass.filter(|p| !p.is_empty()).map(Secret::new))
            }
        };
        let (host, port) =
            split_host_port(hostport).ok_or_else(|| invalid("expected host:port"))?;
        let port = parse_port(port).ok_or(Error::InvalidPort {
            value: port.to_owned(),
        })?;
        validate_host(&host).map_err(invalid)?;
        if username.iter().any(|u| u.chars().any(char::is_control)) {
            return Err(invalid("username contains a control character"));
        }
        Ok(ParsedExit {
            exit: Exit::Proxy(ProxyAddr {
                kind,
                host,
                port,
                username,
            }),
            password,
        })
    }

    /// Rebuilds an exit from its stored columns.
    pub fn from_parts(kind: ExitKind, host: String, port: u16, username: Option<String>) -> Self {
        match kind {
            ExitKind::Direct => Exit::Direct,
            kind => Exit::Proxy(ProxyAddr {
                kind,
                host,
                port,
                username,
            }),
        }
    }

    /// Username of the proxy, if any.
    pub fn username(&self) -> Option<&str> {
        match self {
            Self::Direct => None,
            Self::Proxy(p) => p.username.as_deref(),
        }
    }
}

/// The URL form, without the password: `direct` or `scheme://[user@]host:port`.
impl fmt::Display for Exit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Direct => f.write_str("direct"),
            Self::Proxy(p) => {
                write!(f, "{}://", p.kind.as_str())?;
                if let Some(u) = &p.username {
                    write!(f, "{}@", utf8_percent_encode(u, USERINFO))?;
                }
                if p.host.contains(':') {
                    write!(f, "[{}]:{}", p.host, p.port)
                } else {
                    write!(f, "{}:{}", p.host, p.port)
                }
            }
        }
    }
}

impl Serialize for Exit {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// Reads the shown form back (as stored; it never holds a password).
impl<'de> Deserialize<'de> for Exit {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        match Exit::parse(&s) {
            Ok(ParsedExit {
                exit,
                password: None,
            }) => Ok(exit),
            Ok(_) => Err(serde::de::Error::custom(
                "a stored exit must not hold a password",
            )),
            Err(e) => Err(serde::de::Error::custom(e)),
        }
    }
}

fn decode(s: &str) -> Option<String> {
    percent_decode_str(s)
        .decode_utf8()
        .ok()
        .map(|c| c.into_owned())
}

fn split_host_port(s: &str) -> Option<(String, &str)> {
    if let Some(rest) = s.strip_prefix('[') {
        let (host, after) = rest.split_once(']')?;
        let port = after.strip_prefix(':')?;
        host.parse::<Ipv6Addr>().ok()?;
        return Some((host.to_owned(), port));
    }
    let (host, port) = s.rsplit_once(':')?;
    Some((host.to_ascii_lowercase(), port))
}

fn parse_port(s: &str) -> Option<u16> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    match s.parse::<u32>() {
        Ok(p @ 1..=65535) => u16::try_from(p).ok(),
        _ => None,
    }
}

fn validate_host(host: &str) -> std::result::Result<(), &'static str> {
    if host.is_empty() {
        return Err("empty host");
    }
    if host.parse::<std::net::IpAddr>().is_ok() {
        return Ok(());
    }
    if host.len() > 253 {
        return Err("host name longer than 253 characters");
    }
    let label_ok = |l: &str| {
        !l.is_empty()
            && l.len() <= 63
            && !l.starts_with('-')
            && !l.ends_with('-')
            && l.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    };
    if host.split('.').all(label_ok) {
        Ok(())
    } else {
        Err("host is not a valid host name or IP address")
    }
}

/// Removes the password from a proxy URL so that it can be shown in errors and logs.
pub fn redact(input: &str) -> String {
    // Without `://` (`user:pass@host:port`, a scheme forgotten) the userinfo is still there.
    let (prefix, rest) = match input.split_once("://") {
        Some((scheme, rest)) => (format!("{scheme}://"), rest),
        None => (String::new(), input),
    };
    let Some((userinfo, hostport)) = rest.rsplit_once('@') else {
        return input.to_owned();
    };
    let user = userinfo.split_once(':').map_or(userinfo, |(u, _)| u);
    if user.len() == userinfo.len() {
        input.to_owned()
    } else {
        format!("{prefix}{user}:***@{hostport}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn proxy(input: &str) -> (ProxyAddr, Option<String>) {
        let p = Exit::parse(input).unwrap();
        match p.exit {
            Exit::Proxy(a) => (a, p.password.map(|s| s.expose().to_owned())),
            Exit::Direct => panic!("expected a proxy exit for {input}"),
        }
    }

    #[test]
    fn parses_direct_http_and_socks5() {
        assert_eq!(Exit::parse("direct").unwrap().exit, Exit::Direct);
        let (a, pw) = proxy("http://alice:s3cret@127.0.0.1:8888");
        assert_eq!(
            (a.kind, a.host.as_str(), a.port),
            (ExitKind::Http, "127.0.0.1", 8888)
        );
        assert_eq!(a.username.as_deref(), Some("alice"));
        assert_eq!(pw.as_deref(), Some("s3cret"));
        let (a, pw) = proxy("socks5://proxy.example.net:1080");
        assert_eq!(
            (a.kind, a.port, a.username, pw),
            (ExitKind::Socks5, 1080, None, None)
        );
    }

    #[test]
    fn percent_encoded_credentials_and_ipv6_round_trip_without_password() {
        let (a, pw) = proxy("socks5://bob%40corp:p%3Ass@[::1]:1080");
        assert_eq!(a.username.as_deref(), Some("bob@corp"));
        assert_eq!(pw.as_deref(), Some("p:ss"));
        let shown = Exit::Proxy(a).to_string();
        assert_eq!(
            shown, "socks5://bob%40corp@[::1]:1080",
            "display must drop the password"
        );
    }

    #[test]
    fn bad_ports_and_schemes_get_their_own_codes() {
        for bad in [
            "http://h:0",
            "http://h:65536",
            "http://h:99999",
            "http://h:x",
            "http://h:",
        ] {
            let e = Exit::parse(bad).unwrap_err();
            assert_eq!(e.code(), crate::error::ErrorCode::InvalidPort, "{bad}");
        }
        for bad in ["ftp://h:21", "socks4://h:1080", "h:80", "https://h:443"] {
            let e = Exit::parse(bad).unwrap_err();
            assert_eq!(
                e.code(),
                crate::error::ErrorCode::UnsupportedScheme,
                "{bad}"
            );
        }
        for bad in [
            "http://:80",
            "http://h",
            "http://a b:80",
            "http://h:80/path",
            "",
        ] {
            let e = Exit::parse(bad).unwrap_err();
            assert_eq!(e.code(), crate::error::ErrorCode::InvalidExit, "{bad}");
        }
    }

    #[test]
    fn errors_never_quote_the_password() {
        let e = Exit::parse("http://u:hunter2@h:0").unwrap_err();
        assert!(!e.to_string().contains("hunter2"));
        let e = Exit::parse("http://u:hunter2@bad host:80").unwrap_err();
        assert!(!e.to_string().contains("hunter2"), "{e}");
        let e = Exit::parse("gopher://u:hunter2@h:80").unwrap_err();
        assert!(!e.to_string().contains("hunter2"), "{e}");
        let e = Exit::parse("u:hunter2@h:80").unwrap_err();
        assert!(
            !e.to_string().contains("hunter2"),
            "a URL without a scheme still hides its password: {e}"
        );
        assert!(e.to_string().contains("u:***@h:80"), "{e}");
    }
}
