//! URLs as Holdfast keeps them: without query values, fragment or credentials, and no longer
//! than [`MAX_STORED`] (a page can request a megabyte-long path; the store must not grow by it).

use std::borrow::Cow;

/// Longest URL or free text (bytes) Holdfast stores; longer ones are cut and marked.
pub const MAX_STORED: usize = 1024;
/// Appended where text was cut.
pub const CUT_MARKER: &str = "…[cut]";

/// `text` cut to at most `max` bytes (at a character boundary) plus [`CUT_MARKER`].
pub fn cap(text: &str, max: usize) -> Cow<'_, str> {
    if text.len() <= max {
        return Cow::Borrowed(text);
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    Cow::Owned(format!("{}{CUT_MARKER}", &text[..end]))
}

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
    Some((cap(u.as_str(), MAX_STORED).into_owned(), host))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_megabyte_path_is_stored_cut_and_marked() {
        let long = format!("https://example.test/{}", "é".repeat(600_000));
        let (url, host) = clean_url(&long).unwrap();
        assert_eq!(host, "example.test:443");
        assert!(url.len() <= MAX_STORED + CUT_MARKER.len(), "{}", url.len());
        assert!(url.ends_with(CUT_MARKER), "the cut is visible");
        assert_eq!(cap("short", 10), "short");
    }
}
