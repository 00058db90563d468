//! Work beside the UI: a thread of its own on the desktop, a task on the browser's event loop on
//! the web (which has no threads and must never block); and [`Background`], the one way the views
//! hand work there and hear back from it (the teaching view's maps and GPU check, a live
//! experiment).

use std::sync::mpsc::{Receiver, Sender, TryRecvError, channel};

#[cfg(target_arch = "wasm32")]
pub use browser::{sleep, spawn, yield_now};

/// `Send` where work runs on a thread of its own (the desktop); nothing on the web, where it
/// stays on the page's one thread.
#[cfg(not(target_arch = "wasm32"))]
pub trait MaybeSend: Send {}
#[cfg(not(target_arch = "wasm32"))]
impl<T: Send> MaybeSend for T {}
/// `Send` where work runs on a thread of its own (the desktop); nothing on the web, where it
/// stays on the page's one thread.
#[cfg(target_arch = "wasm32")]
pub trait MaybeSend {}
#[cfg(target_arch = "wasm32")]
impl<T> MaybeSend for T {}

/// Work running beside the UI that reports as it goes: messages of type `M`, which the UI takes
/// each frame with [`take`](Self::take).
pub struct Background<M> {
    messages: Receiver<M>,
}

/// The work's side of a [`Background`]: sends a message, and wakes the UI to take it when asked
/// to.
pub struct Reporter<M> {
    sender: Sender<M>,
    repaint: Option<egui::Context>,
}

impl<M> Reporter<M> {
    /// Sends `message` (dropped when the UI is gone) and wakes the UI.
    pub fn send(&self, message: M) {
        let _ = self.sender.send(message);
        if let Some(ctx) = &self.repaint {
            ctx.request_repaint();
        }
    }
}

impl<M> Background<M> {
    /// Runs `work(reporter)` beside the UI (a thread named `name`, or a browser task); `repaint`,
    /// when given, is woken at every message.
    ///
    /// # Errors
    /// Why the work could not start.
    pub fn spawn<W: Future<Output = ()> + MaybeSend + 'static>(
        name: &str,
        repaint: Option<egui::Context>,
        work: impl FnOnce(Reporter<M>) -> W,
    ) -> Result<Self, String> {
        let (sender, messages) = channel();
        spawn(name, work(Reporter { sender, repaint }))?;
        Ok(Self { messages })
    }

    /// Everything that arrived since the last call, in order, and whether the work is over (it
    /// returned, or panicked) so that nothing more will come.
    pub fn take(&mut self) -> (Vec<M>, bool) {
        let mut arrived = Vec::new();
        loop {
            match self.messages.try_recv() {
                Ok(message) => arrived.push(message),
                Err(TryRecvError::Empty) => return (arrived, false),
                Err(TryRecvError::Disconnected) => return (arrived, true),
            }
        }
    }
}

/// Runs `work` in the background; `Err` says why it could not start.
#[cfg(not(target_arch = "wasm32"))]
pub fn spawn(
    name: &str,
    work: impl Future<Output = ()> + MaybeSend + 'static,
) -> Result<(), String> {
    std::thread::Builder::new()
        .name(name.to_owned())
        .spawn(move || pollster::block_on(work))
        .map(drop)
        .map_err(|err| format!("cannot start the {name} thread: {err}"))
}

/// Waits `millis` milliseconds without holding up the UI.
#[cfg(not(target_arch = "wasm32"))]
pub async fn sleep(millis: u32) {
    std::thread::sleep(std::time::Duration::from_millis(u64::from(millis)));
}

#[cfg(target_arch = "wasm32")]
mod browser {
    use std::cell::RefCell;
    use std::collections::VecDeque;
    use std::future::Future;
    use std::rc::Rc;

    use js_sys::{Function, Promise};
    use wasm_bindgen::closure::Closure;
    use wasm_bindgen::{JsCast as _, JsValue};
    use wasm_bindgen_futures::JsFuture;
    use web_sys::MessageChannel;

    /// Runs `work` in the background; `Err` says why it could not start.
    pub fn spawn(
        _name: &str,
        work: impl Future<Output = ()> + super::MaybeSend + 'static,
    ) -> Result<(), String> {
        wasm_bindgen_futures::spawn_local(work);
        Ok(())
    }

    /// Waits `millis` milliseconds.
    pub async fn sleep(millis: u32) {
        let promise = Promise::new(&mut |resolve, _reject| {
            let timeout = i32::try_from(millis).unwrap_or(i32::MAX);
            let scheduled = web_sys::window().is_some_and(|window| {
                window
                    .set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, timeout)
                    .is_ok()
            });
            if !scheduled {
                // No window (a worker): go on at once rather than wait forever.
                let _ = resolve.call0(&JsValue::NULL);
            }
        });
        let _ = JsFuture::from(promise).await;
    }

    /// Gives the browser a turn to draw and take input, then goes on: a message the page posts
    /// to itself, which is not held back as chained `setTimeout`s are (to 4 ms each, and to once
    /// a second or less in a hidden tab), so long work, a training run, keeps its pace.
    pub async fn yield_now() {
        let promise = Promise::new(&mut |resolve, _reject| {
            let posted = YIELD_CHANNEL.with(|channel| {
                channel
                    .as_ref()
                    .is_some_and(|channel| channel.post(resolve.clone()))
            });
            if !posted {
                let _ = resolve.call0(&JsValue::NULL);
            }
        });
        let _ = JsFuture::from(promise).await;
    }

    /// The page's channel to itself: each message resumes the oldest waiting [`yield_now`].
    struct YieldChannel {
        channel: MessageChannel,
        waiting: Rc<RefCell<VecDeque<Function>>>,
        /// Kept alive as long as the channel calls it.
        _on_message: Closure<dyn FnMut()>,
    }

    impl YieldChannel {
        fn new() -> Option<Self> {
            let channel = MessageChannel::new().ok()?;
            let waiting = Rc::<RefCell<VecDeque<Function>>>::default();
            let next = Rc::clone(&waiting);
            let on_message = Closure::<dyn FnMut()>::new(move || {
                let resume = next.borrow_mut().pop_front();
                if let Some(resume) = resume {
                    let _ = resume.call0(&JsValue::NULL);
                }
            });
            channel
                .port1()
                .set_onmessage(Some(on_message.as_ref().unchecked_ref()));
            Some(Self {
                channel,
                waiting,
                _on_message: on_message,
            })
        }

        /// Queues `resume` behind a message; false when the message could not be posted.
        fn post(&self, resume: Function) -> bool {
            let posted = self.channel.port2().post_message(&JsValue::NULL).is_ok();
            if posted {
                self.waiting.borrow_mut().push_back(resume);
            }
            posted
        }
    }

    thread_local! {
        static YIELD_CHANNEL: Option<YieldChannel> = YieldChannel::new();
    }
}
