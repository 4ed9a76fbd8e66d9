//! Reading and changing settings.

use crate::error::Result;
use crate::settings::{self, SettingView, Settings};
use crate::store;

crate::context::service! {
    /// Settings operations.
}

impl Service<'_> {
    /// The settings in effect.
    pub async fn current(&self) -> Result<Settings> {
        let mut conn = self.store.pool().acquire().await?;
        Ok(Settings::from_stored(
            store::settings::all(&mut conn).await?,
        ))
    }

    /// Validates and stores a setting; returns every setting as now in effect.
    pub async fn set(&self, key: &str, value: &str) -> Result<Vec<SettingView>> {
        let value = settings::validate(key, value)?;
        let mut conn = self.store.pool().acquire().await?;
        store::settings::set(&mut conn, key, &value).await?;
        drop(conn);
        Ok(self.settings().await?.view())
    }

    /// Puts a setting back to its default.
    pub async fn unset(&self, key: &str) -> Result<Vec<SettingView>> {
        if !settings::is_known(key) {
            // Same message as for `set` with an unknown key.
            settings::validate(key, "")?;
        }
        let mut conn = self.store.pool().acquire().await?;
        store::settings::unset(&mut conn, key).await?;
        drop(conn);
        Ok(self.settings().await?.view())
    }
}
