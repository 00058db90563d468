//! A result the teaching view computes in the background (a map, the GPU check), and how it
//! stands.

use crate::task::{Background, MaybeSend, Reporter};

/// A result computed in the background: a map, or the GPU check.
#[derive(Default)]
pub(super) enum Job<T> {
    #[default]
    None,
    Running(Background<Result<T, String>>),
    Done(T),
    Failed(String),
}

impl<T: MaybeSend + 'static> Job<T> {
    /// Computes `work`'s result beside the UI, in a thread or task named `name`.
    pub(super) fn spawn(
        name: &str,
        work: impl Future<Output = Result<T, String>> + MaybeSend + 'static,
    ) -> Self {
        let computing = |report: Reporter<Result<T, String>>| async move {
            report.send(work.await);
        };
        match Background::spawn(name, None, computing) {
            Ok(running) => Self::Running(running),
            Err(reason) => Self::Failed(reason),
        }
    }
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

    /// Takes the result, if it has come.
    pub(super) fn poll(&mut self) {
        if let Self::Running(running) = self {
            let (results, over) = running.take();
            *self = match results.into_iter().next() {
                Some(Ok(done)) => Self::Done(done),
                Some(Err(reason)) => Self::Failed(reason),
                None if !over => return,
                // The work ended without sending (it panicked): say so rather than spin forever.
                None => Self::Failed("the background task ended without a result".into()),
            };
        }
    }

    pub(super) const fn is_running(&self) -> bool {
        matches!(self, Self::Running(_))
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
