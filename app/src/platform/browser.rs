//! The browser's services: the shipped CIFAR-10 sample fetched from beside the page, files offered
//! as downloads, and the page's link (the settings in its URL fragment).

use std::cell::{Cell, RefCell};
use std::path::Path;
use std::rc::Rc;

use stepwise_data::{Cifar10, SAMPLE_TEST_FILE, SAMPLE_TRAIN_FILE, sample_from_bytes};
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;

/// Where the page serves the sample's files, relative to itself (`web/build.sh` puts them there).
const SAMPLE_FOLDER: &str = "data";

/// The sample, fetched from beside the page once and kept.
///
/// # Errors
/// What failed: the fetch (with the URL and HTTP status) or the records (with the file).
pub async fn fetch_sample() -> Result<Cifar10, String> {
    thread_local! {
        static SAMPLE: RefCell<Option<Cifar10>> = const { RefCell::new(None) };
    }
    if let Some(sample) = SAMPLE.with_borrow(Clone::clone) {
        return Ok(sample);
    }
    let train = fetch_bytes(&format!("{SAMPLE_FOLDER}/{SAMPLE_TRAIN_FILE}")).await?;
    let test = fetch_bytes(&format!("{SAMPLE_FOLDER}/{SAMPLE_TEST_FILE}")).await?;
    let sample = sample_from_bytes(
        &train,
        &test,
        Path::new(SAMPLE_FOLDER),
        // No folder was looked in: the browser has none.
        Path::new(""),
    )
    .map_err(|err| err.to_string())?;
    SAMPLE.set(Some(sample.clone()));
    Ok(sample)
}

/// Offers `bytes` to the user as a file called `name` (the browser saves it to its downloads).
///
/// # Errors
/// What the browser refused, as text.
pub fn download(name: &str, bytes: &[u8]) -> Result<(), String> {
    let failed = |what: &str, err: JsValue| format!("downloading {name}: {what} ({err:?})");
    let window = web_sys::window().ok_or_else(|| format!("downloading {name}: no window"))?;
    let document = window
        .document()
        .ok_or_else(|| format!("downloading {name}: no document"))?;
    let parts = js_sys::Array::of1(&js_sys::Uint8Array::from(bytes));
    let blob = web_sys::Blob::new_with_u8_array_sequence(&parts)
        .map_err(|err| failed("cannot make a blob", err))?;
    let url = web_sys::Url::create_object_url_with_blob(&blob)
        .map_err(|err| failed("cannot make its address", err))?;
    let anchor: web_sys::HtmlAnchorElement = document
        .create_element("a")
        .map_err(|err| failed("cannot make a link", err))?
        .unchecked_into();
    anchor.set_href(&url);
    anchor.set_download(name);
    anchor.click();
    // Some browsers read the blob after the click returns: free its address a minute later.
    let revoke = Closure::once_into_js(move || {
        let _ = web_sys::Url::revoke_object_url(&url);
    });
    let _ = window
        .set_timeout_with_callback_and_timeout_and_arguments_0(revoke.unchecked_ref(), 60_000);
    Ok(())
}

/// The body of `url` (relative to the page).
async fn fetch_bytes(url: &str) -> Result<Vec<u8>, String> {
    let failed = |what: &str, err: JsValue| format!("{url}: {what}: {err:?}");
    let window = web_sys::window().ok_or_else(|| format!("{url}: no window to fetch with"))?;
    let response: web_sys::Response = JsFuture::from(window.fetch_with_str(url))
        .await
        .map_err(|err| failed("fetch failed", err))?
        .dyn_into()
        .map_err(|err| failed("not a response", err))?;
    if !response.ok() {
        return Err(format!(
            "{url}: HTTP {} {}",
            response.status(),
            response.status_text()
        ));
    }
    let body = response
        .array_buffer()
        .map_err(|err| failed("unreadable body", err))?;
    let buffer = JsFuture::from(body)
        .await
        .map_err(|err| failed("unreadable body", err))?;
    Ok(js_sys::Uint8Array::new(&buffer).to_vec())
}

/// The settings a link carries: the app's persisted settings (the same serde form eframe stores)
/// as JSON in the URL's fragment, rewritten as they change, so that copying the address shares
/// the view. A fragment typed or pasted by hand is applied as the page's `hashchange` reports it.
#[derive(Default)]
pub struct Link {
    /// The JSON last written to or read from the fragment.
    written: String,
    /// Set by the page when the user changed the fragment.
    changed_by_user: Rc<Cell<bool>>,
    /// Whether the fragment the page was opened with has been read.
    read_once: bool,
}

impl Link {
    /// A link that hears the page's `hashchange` (and asks `ctx` for a frame to apply it in).
    pub fn listen(ctx: &egui::Context) -> Self {
        let changed_by_user = Rc::new(Cell::new(false));
        if let Some(window) = web_sys::window() {
            let (flag, ctx) = (Rc::clone(&changed_by_user), ctx.clone());
            let listener = Closure::<dyn Fn()>::new(move || {
                flag.set(true);
                ctx.request_repaint();
            });
            let _ = window
                .add_event_listener_with_callback("hashchange", listener.as_ref().unchecked_ref());
            // The page lives as long as the app: the listener is never removed.
            listener.forget();
        }
        Self {
            written: String::new(),
            changed_by_user,
            read_once: false,
        }
    }

    /// The page's fragment, decoded, when there is one to apply: at the first call (the page was
    /// opened with it) and after the user changed it. It counts as written: the same settings are
    /// not written back.
    pub fn fragment_to_apply(&mut self) -> Option<String> {
        let read_before = std::mem::replace(&mut self.read_once, true);
        if read_before && !self.changed_by_user.replace(false) {
            return None;
        }
        let json = page_fragment()?;
        self.written.clone_from(&json);
        Some(json)
    }

    /// Writes `json`, the settings, into the fragment if they changed (`replaceState`: no history
    /// entry per slider move).
    pub fn write(&mut self, json: String) {
        if json == self.written {
            return;
        }
        // A fragment the user changed is applied before anything is written over it: its
        // `hashchange` may still be on its way.
        if page_fragment().is_some_and(|current| current != self.written) {
            return;
        }
        let fragment = format!("#{}", js_sys::encode_uri_component(&json));
        let written = web_sys::window()
            .and_then(|window| window.history().ok())
            .is_some_and(|history| {
                history
                    .replace_state_with_url(&JsValue::NULL, "", Some(&fragment))
                    .is_ok()
            });
        if written {
            self.written = json;
        }
    }
}

/// The page's fragment, decoded, if it has one.
fn page_fragment() -> Option<String> {
    let hash = web_sys::window()?.location().hash().ok()?;
    let encoded = hash.strip_prefix('#').unwrap_or(&hash);
    if encoded.is_empty() {
        return None;
    }
    js_sys::decode_uri_component(encoded)
        .ok()
        .and_then(|decoded| decoded.as_string())
}
