//! The profile's `Default/Preferences`: the few keys Holdfast owns are merged into whatever
//! Chromium keeps there.

use std::path::Path;

use serde_json::{json, Value};

use crate::error::{Error, Result};
use crate::template::Template;

/// Sets WebRTC to proxied traffic only and the accepted languages of the template. The switch
/// on the command line says the same; the preference keeps it when the profile is opened
/// some other way.
pub fn apply(profile_dir: &Path, template: &Template) -> Result<()> {
    let dir = profile_dir.join("Default");
    std::fs::create_dir_all(&dir).map_err(|e| Error::io("cannot create", &dir, e))?;
    let path = dir.join("Preferences");
    let mut prefs = match std::fs::read(&path) {
        Ok(bytes) => serde_json::from_slice::<Value>(&bytes).unwrap_or_else(|e| {
            // Chromium rewrites a broken file too; ours must not stop the launch.
            tracing::warn!(path = %path.display(), "unreadable Preferences replaced: {e}");
            json!({})
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => json!({}),
        Err(e) => return Err(Error::io("cannot read", &path, e)),
    };
    if !prefs.is_object() {
        prefs = json!({});
    }
    set(
        &mut prefs,
        &["webrtc", "ip_handling_policy"],
        json!("disable_non_proxied_udp"),
    );
    set(
        &mut prefs,
        &["intl", "accept_languages"],
        json!(super::args::accept_languages(&template.locale)),
    );
    let bytes = serde_json::to_vec(&prefs)
        .map_err(|e| Error::io("cannot encode", &path, std::io::Error::other(e)))?;
    let tmp = dir.join("Preferences.holdfast-tmp");
    std::fs::write(&tmp, bytes).map_err(|e| Error::io("cannot write", &tmp, e))?;
    std::fs::rename(&tmp, &path).map_err(|e| Error::io("cannot write", &path, e))
}

fn set(root: &mut Value, path: &[&str], value: Value) {
    let mut cur = root;
    for (i, key) in path.iter().enumerate() {
        let Some(obj) = cur.as_object_mut() else {
            return;
        };
        if i == path.len() - 1 {
            obj.insert((*key).to_owned(), value);
            return;
        }
        let next = obj.entry((*key).to_owned()).or_insert_with(|| json!({}));
        if !next.is_object() {
            *next = json!({});
        }
        cur = next;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_merged_into_what_chromium_keeps() {
        let mut v = json!({"webrtc": {"other": 1}, "profile": {"name": "x"}});
        set(&mut v, &["webrtc", "ip_handling_policy"], json!("p"));
        assert_eq!(
            v,
            json!({"webrtc": {"other": 1, "ip_handling_policy": "p"}, "profile": {"name": "x"}})
        );
    }
}
