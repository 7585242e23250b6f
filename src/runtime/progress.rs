//! Where the runtime writes its [`Progress`] events.

use std::sync::Mutex;

use tokio::sync::mpsc::UnboundedSender;

pub use crate::core::progress::Progress;

/// Receives progress events as they happen. Reporting never blocks and
/// never fails: a front end that has gone away just stops listening.
pub trait Reporter: Send + Sync {
    fn report(&self, event: Progress);
}

/// Sends events down a channel (the TUI's event loop reads it).
pub struct Channel(pub UnboundedSender<Progress>);

impl Reporter for Channel {
    fn report(&self, event: Progress) {
        let _ = self.0.send(event);
    }
}

/// Keeps every event, in order (tests, and callers that only want the end).
#[derive(Default)]
pub struct Collect(Mutex<Vec<Progress>>);

impl Collect {
    pub fn events(&self) -> Vec<Progress> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

impl Reporter for Collect {
    fn report(&self, event: Progress) {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).push(event);
    }
}

/// Drops every event.
pub struct Silent;

impl Reporter for Silent {
    fn report(&self, _event: Progress) {}
}
