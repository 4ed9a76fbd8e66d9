//! URLs as Holdfast keeps them: without query values, fragment or credentials.

/// `(url without query values or fragment, host:port)` of an http(s)/ws(s) URL; `None` for
/// `data:`, `blob:`, `chrome:` and the like, which never touch the network.
pub fn clean_url(raw: &str) -> Option<(String, String)> {
    let mut u = url::Url::parse(raw).ok()?;
    if !matches!(u.scheme(), "http" | "https" | "ws" | "wss") {
        return None;
    }
    let host = format!("{}:{}", u.host_str()?, u.port_or_known_default()?);
    let keys: Vec<String> = u.query_pairs().map(|(k, _)| k.into_owned()).collect();
    u.set_fragment(None);
    let _ = u.set_username("");
    let _ = u.set_password(None);
    if keys.is_empty() {
        u.set_query(None);
    } else {
        u.set_query(Some(
            &keys
                .iter()
                .map(|k| format!("{k}="))
                .collect::<Vec<_>>()
                .join("&"),
        ));
    }
    Some((u.to_string(), host))
}
