//! Held sensitive requests of the API's sessions wait for an answer through the API
//! (`GET /v1/holds`, `POST /v1/holds/{id}`, announced on `/v1/events`), up to the guard's
//! prompt timeout (no answer: cancel), instead of the unattended policy.

use std::sync::Arc;

use holdfast_core::Holdfast;

/// Switches `hf`'s guard to waiting for answers through the API. (The desktop app keeps its
/// own prompt, which announces holds on the same stream.)
pub fn answer_through_api(hf: &Holdfast) {
    let kept = hf.sessions().kept();
    hf.guard()
        .enable_prompt(Arc::new(move |hold| kept.hold_waiting(hold)));
}
