//! The local API's token and endpoint file, for `holdfast serve`, the app and `holdfast api`.

use crate::api::{new_token, ApiEndpoint, ENDPOINT_FILE, TOKEN_ACCOUNT};
use crate::context::Context;
use crate::error::{Error, Result};
use crate::secret::Secret;

/// The local API's token and endpoint file.
pub struct Service<'a> {
    ctx: &'a Context,
}

impl<'a> Service<'a> {
    pub(crate) fn new(ctx: &'a Context) -> Self {
        Self { ctx }
    }

    /// The token (made and kept in the keyring the first time). Without a keyring (a server
    /// with no Secret Service) the token of the last `api.json` is reused, else a new one is
    /// made: it then lives only in that owner-only file.
    pub async fn token(&self) -> Result<String> {
        match self.ctx.keyring_get(TOKEN_ACCOUNT).await {
            Ok(Some(t)) => Ok(t.expose().to_owned()),
            Ok(None) => {
                let t = new_token();
                self.ctx
                    .keyring_set(TOKEN_ACCOUNT, Secret::new(t.clone()))
                    .await?;
                Ok(t)
            }
            Err(Error::KeyringUnavailable { detail }) => {
                tracing::warn!(
                    "no keyring ({detail}): the API token is kept only in {ENDPOINT_FILE} (0600)"
                );
                Ok(self.endpoint().map(|e| e.token).unwrap_or_else(new_token))
            }
            Err(e) => Err(e),
        }
    }

    /// Replaces the token in the keyring and in `api.json` (a running server reads that file
    /// again when it changes: the old token fails from the next request). Returns the new one.
    pub async fn rotate_token(&self) -> Result<String> {
        let t = new_token();
        self.ctx
            .keyring_set(TOKEN_ACCOUNT, Secret::new(t.clone()))
            .await?;
        if let Some(mut e) = self.endpoint() {
            e.token = t.clone();
            self.write_endpoint(&e)?;
        }
        Ok(t)
    }

    /// The endpoint file's contents, if a server wrote one.
    pub fn endpoint(&self) -> Option<ApiEndpoint> {
        ApiEndpoint::read(&self.ctx.home.root().join(ENDPOINT_FILE))
    }

    /// Writes the endpoint file (owner-only).
    pub fn write_endpoint(&self, endpoint: &ApiEndpoint) -> Result<()> {
        let path = self.ctx.home.root().join(ENDPOINT_FILE);
        let json = serde_json::to_vec_pretty(endpoint).map_err(|e| Error::Io {
            action: "cannot encode",
            path: path.clone(),
            source: std::io::Error::other(e),
        })?;
        crate::home::write_private(&path, &json)
    }

    /// Removes the endpoint file if this process wrote it (a newer server's stays).
    pub fn remove_endpoint(&self) {
        if self.endpoint().is_some_and(|e| e.pid == std::process::id()) {
            let _ = std::fs::remove_file(self.ctx.home.root().join(ENDPOINT_FILE));
        }
    }
}
