//! Work beside the UI: a thread of its own on the desktop, a task on the browser's event loop on
//! the web (which has no threads and must never block).

use std::future::Future;

/// Runs `work` in the background; `Err` says why it could not start.
#[cfg(not(target_arch = "wasm32"))]
pub fn spawn(name: &str, work: impl Future<Output = ()> + Send + 'static) -> Result<(), String> {
    std::thread::Builder::new()
        .name(name.to_owned())
        .spawn(move || pollster::block_on(work))
        .map(drop)
        .map_err(|err| format!("cannot start the {name} thread: {err}"))
}

/// Runs `work` in the background; `Err` says why it could not start.
#[cfg(target_arch = "wasm32")]
pub fn spawn(_name: &str, work: impl Future<Output = ()> + 'static) -> Result<(), String> {
    wasm_bindgen_futures::spawn_local(work);
    Ok(())
}

/// Waits `millis` milliseconds without holding up the UI.
#[cfg(not(target_arch = "wasm32"))]
pub async fn sleep(millis: u32) {
    std::thread::sleep(std::time::Duration::from_millis(u64::from(millis)));
}

/// Waits `millis` milliseconds (0: until the browser has had a turn to draw and take input).
#[cfg(target_arch = "wasm32")]
pub async fn sleep(millis: u32) {
    let promise = js_sys::Promise::new(&mut |resolve, _reject| {
        let timeout = i32::try_from(millis).unwrap_or(i32::MAX);
        let scheduled = web_sys::window().is_some_and(|window| {
            window
                .set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, timeout)
                .is_ok()
        });
        if !scheduled {
            // No window (a worker): go on at once rather than wait forever.
            let _ = resolve.call0(&wasm_bindgen::JsValue::NULL);
        }
    });
    let _ = wasm_bindgen_futures::JsFuture::from(promise).await;
}
