//! Work the teaching view does in the background (a map, the GPU check), and how it stands.

use std::sync::mpsc::{Receiver, TryRecvError};

/// Work done in the background: a map, or the GPU check.
#[derive(Default)]
pub(super) enum Job<T> {
    #[default]
    None,
    Running(Receiver<Result<T, String>>),
    Done(T),
    Failed(String),
}

impl<T> Job<T> {
    /// How it stands, for callers outside the view.
    pub(super) fn state(&self) -> JobState<'_, T> {
        match self {
            Self::None => JobState::Idle,
            Self::Running(_) => JobState::Running,
            Self::Done(done) => JobState::Done(done),
            Self::Failed(reason) => JobState::Failed(reason),
        }
    }

    pub(super) fn poll(&mut self) {
        if let Self::Running(receiver) = self {
            *self = match receiver.try_recv() {
                Ok(Ok(done)) => Self::Done(done),
                Ok(Err(reason)) => Self::Failed(reason),
                Err(TryRecvError::Empty) => return,
                // The task ended without sending (it panicked): say so rather than spin forever.
                Err(TryRecvError::Disconnected) => {
                    Self::Failed("the background task ended without a result".into())
                }
            };
        }
    }

    pub(super) const fn is_running(&self) -> bool {
        matches!(self, Self::Running(_))
    }

    /// The job once its work was handed to [`task::spawn`], whose result `spawned` is.
    pub(super) fn running(
        receiver: Receiver<Result<T, String>>,
        spawned: Result<(), String>,
    ) -> Self {
        match spawned {
            Ok(()) => Self::Running(receiver),
            Err(reason) => Self::Failed(reason),
        }
    }
}

/// How a background computation of the view (a map, the GPU check) stands.
#[derive(Clone, Copy, Debug)]
pub enum JobState<'a, T> {
    /// Not asked for.
    Idle,
    /// Computing.
    Running,
    /// Computed.
    Done(&'a T),
    /// Why it could not be computed.
    Failed(&'a str),
}
