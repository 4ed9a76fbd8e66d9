//! The team-wide lease of a session: taken at launch (after the local lock), renewed by a
//! heartbeat, and given up — the browser closed cleanly first — before it could expire
//! unrenewed, so that a partitioned holder and its replacement never run at once.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::watch;

use crate::context::{Context, TeamLink};
use crate::error::{Error, Result};
use crate::settings::Settings;
use crate::store::team::TeamDb;
use crate::team::key::{state_binding, TeamKey};
use crate::template::Template;

use super::state::SessionState;

/// How long the end of a session waits to free its lease before leaving it to expire.
const RELEASE_TIMEOUT: Duration = Duration::from_secs(2);

/// A held team lease and its heartbeat.
pub(crate) struct TeamLease {
    link: Arc<TeamLink>,
    db: TeamDb,
    template_id: String,
    /// The fencing epoch this holder took.
    pub epoch: i64,
    /// Set to why, once the lease can no longer be trusted.
    lost: watch::Receiver<Option<String>>,
    heartbeat: tokio::task::JoinHandle<()>,
    /// The team key (to seal and open session state), if the keyring gave it.
    key: Option<TeamKey>,
    /// How long the browser gets to close when the lease is lost (a third of the margin: the
    /// rest absorbs a late timer, the kill and the reaping of its processes).
    pub close_within: Duration,
}

impl TeamLease {
    /// Takes the team lease of `template`: `Ok(None)` without a team; `already_running`
    /// naming the holder when another machine has it; `team_unavailable` when the store does
    /// not answer (nobody launches while the team cannot tell who runs what).
    pub(crate) async fn take(
        ctx: &Context,
        template: &Template,
        settings: &Settings,
    ) -> Result<Option<Self>> {
        let Some(link) = ctx.team.clone() else {
            return Ok(None);
        };
        let db = ctx.team_db(&link).await?;
        let ttl = settings.team_lease();
        let every = settings.team_heartbeat().min(ttl / 3);
        // The browser must be gone before the database lets another take the lease: give up
        // half of the lease early, and use a third of that to close cleanly (a measured close
        // and reap of a headless browser: ~1.4 s). A third of the lease was once the margin: a
        // CI machine loaded with twenty browsers took longer than that to kill and reap one.
        let margin = (ttl / 2).max(Duration::from_secs(2));
        let c = &link.config;
        // A refused take whose holder is gone by the time we ask who it was: the lease ran
        // out in between (a killed holder's, typically), so it is free — take it again.
        let mut tries = 0;
        let (epoch, asked) = loop {
            tries += 1;
            let asked = Instant::now();
            let taken = db
                .lease_take(
                    &template.id,
                    &c.member_id,
                    &c.member_name,
                    &c.machine_id,
                    ttl,
                )
                .await?;
            if let Some(epoch) = taken {
                break (epoch, asked);
            }
            match db.lease_holder(&template.id).await? {
                Some(h) => {
                    return Err(Error::RunningElsewhere {
                        name: template.name.clone(),
                        holder: h.member_name,
                        machine: h.machine_id,
                        since: crate::store::timestamp(h.taken_at),
                    })
                }
                None if tries < 3 => continue,
                None => {
                    return Err(Error::TeamUnavailable {
                        detail: "the lease kept changing hands; launch again".into(),
                    })
                }
            }
        };
        link.hold(&template.id, epoch);
        tracing::info!(template = %template.name, epoch, "team lease taken");
        let key = ctx
            .team_key(&link)
            .await
            .inspect_err(|e| tracing::warn!("no team key: session state will not travel: {e}"))
            .ok();
        let (lost_tx, lost) = watch::channel(None);
        let heartbeat = tokio::spawn(heartbeat(
            db.clone(),
            template.id.clone(),
            epoch,
            Beat {
                ttl,
                every,
                margin,
                last_ok: asked,
            },
            lost_tx,
        ));
        Ok(Some(Self {
            link,
            db,
            template_id: template.id.clone(),
            epoch,
            lost,
            heartbeat,
            key,
            close_within: margin / 3,
        }))
    }

    /// The team's latest session state of this template and the epoch that wrote it.
    pub(crate) async fn latest_state(&self) -> Result<Option<(i64, SessionState)>> {
        let Some((epoch, sealed)) = self.db.state_latest(&self.template_id, self.epoch).await?
        else {
            return Ok(None);
        };
        let key = self.key.as_ref().ok_or_else(no_key)?;
        let plain = key.open(&state_binding(&self.template_id, epoch), &sealed)?;
        Ok(Some((epoch, SessionState::from_bytes(&plain)?)))
    }

    /// Stores this session's state under its epoch (while the lease is still held).
    pub(crate) async fn save_state(&self, state: &SessionState) -> Result<()> {
        let key = self.key.as_ref().ok_or_else(no_key)?;
        let bytes = state.to_bytes()?;
        let sealed = key.seal(&state_binding(&self.template_id, self.epoch), &bytes)?;
        let saved = self
            .db
            .state_save(
                &self.template_id,
                self.epoch,
                &sealed,
                &self.link.config.member_name,
            )
            .await?;
        if !saved {
            return Err(Error::TeamUnavailable {
                detail: "the session state was not stored: the lease is no longer held".into(),
            });
        }
        tracing::info!(
            epoch = self.epoch,
            bytes = bytes.len(),
            cookies = state.cookies.len(),
            "session state stored in the team"
        );
        Ok(())
    }

    /// Resolves with the reason once the lease is lost (never, while it is kept).
    pub(crate) async fn lost(&mut self) -> String {
        loop {
            if let Some(why) = self.lost.borrow().clone() {
                return why;
            }
            if self.lost.changed().await.is_err() {
                // The heartbeat ended without a word: treat as lost.
                return "the lease heartbeat stopped".into();
            }
        }
    }

    /// Stops the heartbeat and frees the lease (best effort, and not at all once lost: an
    /// unreleased lease expires on its own).
    pub(crate) async fn release(self) {
        self.heartbeat.abort();
        self.link.unhold(&self.template_id);
        if self.lost.borrow().is_some() {
            return;
        }
        let released = tokio::time::timeout(
            RELEASE_TIMEOUT,
            self.db.lease_release(&self.template_id, self.epoch),
        )
        .await;
        match released {
            Ok(Ok(())) => tracing::info!(epoch = self.epoch, "team lease released"),
            Ok(Err(e)) => {
                tracing::warn!("cannot release the team lease (it expires on its own): {e}")
            }
            Err(_) => tracing::warn!("releasing the team lease timed out (it expires on its own)"),
        }
    }
}

fn no_key() -> Error {
    Error::TeamPassphrase {
        detail: "the team key is not in this keyring: run `holdfast team join` again".into(),
    }
}

/// The heartbeat's timing.
struct Beat {
    ttl: Duration,
    every: Duration,
    /// Given up this long before the lease would expire unrenewed.
    margin: Duration,
    /// When the last successful take or renewal was *sent*: the database's expiry is at
    /// least `ttl` after that, whatever the clocks say.
    last_ok: Instant,
}

async fn heartbeat(
    db: TeamDb,
    template_id: String,
    epoch: i64,
    mut beat: Beat,
    lost: watch::Sender<Option<String>>,
) {
    loop {
        let give_up = beat.last_ok + beat.ttl.saturating_sub(beat.margin);
        tokio::select! {
            _ = tokio::time::sleep_until(give_up.into()) => {
                let _ = lost.send(Some(format!(
                    "its team lease could not be renewed for {} s (team store unreachable); the \
                     browser was closed before the lease expired so that nobody else runs the \
                     account at the same time",
                    beat.last_ok.elapsed().as_secs()
                )));
                return;
            }
            _ = tokio::time::sleep(beat.every) => {}
        }
        let sent = Instant::now();
        let left = give_up.saturating_duration_since(sent);
        match tokio::time::timeout(left, db.lease_renew(&template_id, epoch, beat.ttl)).await {
            Ok(Ok(true)) => beat.last_ok = sent,
            Ok(Ok(false)) => {
                let _ = lost.send(Some(
                    "its team lease expired and may be held elsewhere now".to_owned(),
                ));
                return;
            }
            Ok(Err(e)) => tracing::warn!(epoch, "cannot renew the team lease: {e}"),
            Err(_) => tracing::warn!(epoch, "renewing the team lease timed out"),
        }
    }
}
