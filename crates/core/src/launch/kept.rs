//! Sessions launched by this process for a long-lived face (the app, the local API): kept so
//! they live as long as the process (dropping one would end it), stopped cleanly through their
//! own handle, and the launch progress stream those faces forward.

use std::collections::HashMap;
use std::sync::Arc;

use tokio::sync::{broadcast, Mutex};

use super::{LaunchOptions, LaunchProgress, Launched, Service, Session, SessionInfo};
use crate::error::Result;

/// Sessions launched by this process for a long-lived face (the app, the local API), kept so
/// they live as long as the process, by template id, and where their launch progress goes.
#[derive(Debug, Clone)]
pub struct Kept {
    sessions: Arc<Mutex<HashMap<String, Session>>>,
    progress: broadcast::Sender<LaunchProgress>,
}

impl Default for Kept {
    fn default() -> Self {
        Self {
            sessions: Arc::default(),
            progress: broadcast::channel(64).0,
        }
    }
}

impl Service<'_> {
    /// Launches a template's browser and keeps the session in this process; each step goes to
    /// [`Service::launch_progress`].
    pub async fn launch_kept(&self, name: &str, options: LaunchOptions) -> Result<Launched> {
        let tx = self.kept.progress.clone();
        let emit = move |p: &LaunchProgress| {
            // Nobody listening is fine.
            let _ = tx.send(p.clone());
        };
        let session = self.launch(name, options, &emit).await?;
        let out = session.launched();
        self.kept
            .sessions
            .lock()
            .await
            .insert(out.session.template_id.clone(), session);
        Ok(out)
    }

    /// The progress of launches made with [`Service::launch_kept`], from now on.
    pub fn launch_progress(&self) -> broadcast::Receiver<LaunchProgress> {
        self.kept.progress.subscribe()
    }

    /// Running sessions (after forgetting kept ones that ended).
    pub async fn list_kept(&self) -> Result<Vec<SessionInfo>> {
        self.kept
            .sessions
            .lock()
            .await
            .retain(|_, s| !s.is_finished());
        self.list().await
    }

    /// Stops a template's session: through its own handle when this process keeps it (clean
    /// shutdown, cookies written), else as [`Service::stop`] does for any process.
    pub async fn stop_kept(&self, name: &str) -> Result<SessionInfo> {
        let template = self.template(name).await?;
        let mine = self.kept.sessions.lock().await.remove(&template.id);
        match mine {
            Some(s) if !s.is_finished() => {
                let info = s.info().clone();
                s.stop().await;
                Ok(info)
            }
            _ => self.stop(name).await,
        }
    }

    /// Stops every kept session (when the process quits).
    pub async fn stop_all_kept(&self) {
        let sessions: Vec<Session> = self
            .kept
            .sessions
            .lock()
            .await
            .drain()
            .map(|(_, s)| s)
            .collect();
        for s in sessions {
            s.stop().await;
        }
    }
}
