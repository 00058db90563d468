//! One event file of one TensorBoard run, written record by record.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use prost::Message;
use thiserror::Error;

use crate::proto::{
    Event, FILE_VERSION, HParamsData, HParamsPluginData, PluginData, SESSION_START, SessionEndInfo,
    SessionLog, SessionStartInfo, Summary, SummaryMetadata, Value, What, hparams,
};
use crate::record::frame;

/// An event file that cannot be written.
#[derive(Debug, Error)]
#[error("{path}: {source}")]
pub struct WriteError {
    /// The file (or the folder it was to be made in).
    pub path: PathBuf,
    /// The system's error.
    pub source: std::io::Error,
}

/// A hyperparameter's value, as the hparams plugin shows it.
#[derive(Clone, Debug, PartialEq)]
pub enum HParam {
    /// A number.
    Number(f64),
    /// A word (an optimizer's name).
    Text(String),
    /// A switch (AMSGrad).
    Bool(bool),
}

/// How a session ended, in the hparams plugin's table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ended {
    /// It ran to its end.
    Success,
    /// It failed (a run that diverged).
    Failure,
}

impl Ended {
    /// `tensorboard.hparams.Status`'s number for it.
    pub(crate) const fn status(self) -> i32 {
        match self {
            Self::Success => 1,
            Self::Failure => 2,
        }
    }

    /// The inverse of [`status`](Self::status); `None` for the plugin's other statuses (unknown,
    /// running).
    pub(crate) fn from_status(status: i32) -> Option<Self> {
        [Self::Success, Self::Failure]
            .into_iter()
            .find(|ended| ended.status() == status)
    }
}

/// Whether TensorBoard reads the file at `path` as an event file: it takes every file whose name
/// holds `tfevents`.
pub fn is_event_file(path: &Path) -> bool {
    path.file_name()
        .is_some_and(|name| name.to_string_lossy().contains("tfevents"))
}

/// Event files made by this process so far: two writers in one folder within one second still get
/// files of their own.
static FILES_MADE: AtomicU64 = AtomicU64::new(0);

/// A new event file in a run's folder, written as records arrive: TensorBoard reads what
/// [`flush`](Self::flush) has written while training goes on.
pub struct EventWriter {
    path: PathBuf,
    file: BufWriter<File>,
}

impl EventWriter {
    /// Makes `dir` (and its parents) and in it a new event file, named as TensorFlow names them
    /// (`events.out.tfevents.SECONDS.HOST.PID.N`, PID and N zero-padded), which starts with the
    /// file version.
    ///
    /// # Errors
    /// [`WriteError`] naming the folder or file.
    pub fn create(dir: &Path) -> Result<Self, WriteError> {
        std::fs::create_dir_all(dir).map_err(|source| WriteError {
            path: dir.to_owned(),
            source,
        })?;
        let host = std::env::var("HOSTNAME").unwrap_or_else(|_| "localhost".into());
        // TensorBoard reads a folder's files in name order: numbers of one width keep a later
        // process's file (a resumed run's) after an earlier one's within the same second.
        let name = format!(
            "events.out.tfevents.{}.{host}.{:010}.{:06}",
            now() as u64,
            std::process::id(),
            FILES_MADE.fetch_add(1, Ordering::Relaxed)
        );
        let path = dir.join(name);
        let file = File::options()
            .write(true)
            .create_new(true)
            .open(&path)
            .map_err(|source| WriteError {
                path: path.clone(),
                source,
            })?;
        let mut writer = Self {
            path,
            file: BufWriter::new(file),
        };
        writer.write(0, What::FileVersion(FILE_VERSION.into()))?;
        Ok(writer)
    }

    /// The file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Scalars of one step, each under its tag (NaN and infinities as they are).
    ///
    /// # Errors
    /// [`WriteError`].
    pub fn scalars<'a>(
        &mut self,
        step: u64,
        values: impl IntoIterator<Item = (&'a str, f32)>,
    ) -> Result<(), WriteError> {
        let value = values
            .into_iter()
            .map(|(tag, value)| Value {
                tag: tag.to_owned(),
                simple_value: Some(value),
                metadata: None,
            })
            .collect();
        self.write(step, What::Summary(Summary { value }))
    }

    /// The hparams plugin's start of a session: its hyperparameters, and its group (sessions of
    /// one group, such as one configuration at several seeds, are shown aggregated).
    ///
    /// # Errors
    /// [`WriteError`].
    pub fn session_start<'a>(
        &mut self,
        group: &str,
        hyperparameters: impl IntoIterator<Item = (&'a str, HParam)>,
    ) -> Result<(), WriteError> {
        use prost_types::value::Kind;
        let hparams = hyperparameters
            .into_iter()
            .map(|(name, value)| {
                let kind = match value {
                    HParam::Number(n) => Kind::NumberValue(n),
                    HParam::Text(text) => Kind::StringValue(text),
                    HParam::Bool(b) => Kind::BoolValue(b),
                };
                (name.to_owned(), prost_types::Value { kind: Some(kind) })
            })
            .collect();
        let start = SessionStartInfo {
            hparams,
            group_name: group.to_owned(),
            start_time_secs: now(),
        };
        self.hparams(
            hparams::SESSION_START_INFO_TAG,
            HParamsData::SessionStartInfo(start),
        )
    }

    /// The hparams plugin's end of the session.
    ///
    /// # Errors
    /// [`WriteError`].
    pub fn session_end(&mut self, ended: Ended) -> Result<(), WriteError> {
        let end = SessionEndInfo {
            status: ended.status(),
            end_time_secs: now(),
        };
        self.hparams(
            hparams::SESSION_END_INFO_TAG,
            HParamsData::SessionEndInfo(end),
        )
    }

    /// Training (re)starts at `step`: TensorBoard drops whatever earlier files of the run recorded
    /// at this step and later (the steps a resumed run trains again).
    ///
    /// # Errors
    /// [`WriteError`].
    pub fn restart(&mut self, step: u64) -> Result<(), WriteError> {
        self.write(
            step,
            What::SessionLog(SessionLog {
                status: SESSION_START,
            }),
        )
    }

    /// Hands what is buffered to the system, for TensorBoard to read.
    ///
    /// # Errors
    /// [`WriteError`].
    pub fn flush(&mut self) -> Result<(), WriteError> {
        self.file.flush().map_err(|source| self.error(source))
    }

    fn hparams(&mut self, tag: &str, data: HParamsData) -> Result<(), WriteError> {
        let content = HParamsPluginData {
            version: 0,
            data: Some(data),
        }
        .encode_to_vec();
        let value = Value {
            tag: tag.to_owned(),
            simple_value: None,
            metadata: Some(SummaryMetadata {
                plugin_data: Some(PluginData {
                    plugin_name: hparams::PLUGIN_NAME.into(),
                    content,
                }),
            }),
        };
        self.write(0, What::Summary(Summary { value: vec![value] }))
    }

    fn write(&mut self, step: u64, what: What) -> Result<(), WriteError> {
        let event = Event {
            wall_time: now(),
            step: i64::try_from(step).unwrap_or(i64::MAX),
            what: Some(what),
        };
        let record = frame(&event.encode_to_vec());
        self.file
            .write_all(&record)
            .map_err(|source| self.error(source))
    }

    fn error(&self, source: std::io::Error) -> WriteError {
        WriteError {
            path: self.path.clone(),
            source,
        }
    }
}

/// Seconds since 1970 (0 where the clock is before).
fn now() -> f64 {
    web_time::SystemTime::now()
        .duration_since(web_time::UNIX_EPOCH)
        .map_or(0.0, |since| since.as_secs_f64())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::read_events;

    fn written(write: impl FnOnce(&mut EventWriter)) -> Vec<Event> {
        let dir = tempfile::tempdir().expect("temporary folder");
        let mut writer = EventWriter::create(&dir.path().join("run")).expect("create");
        write(&mut writer);
        writer.flush().expect("flush");
        read_events(writer.path()).expect("read back")
    }

    fn plugin_data(event: &Event) -> (String, HParamsPluginData) {
        let Some(What::Summary(summary)) = &event.what else {
            panic!("not a summary: {event:?}");
        };
        let value = &summary.value[0];
        let data = value
            .metadata
            .as_ref()
            .and_then(|m| m.plugin_data.as_ref())
            .expect("plugin data");
        assert_eq!(data.plugin_name, "hparams", "the plugin");
        let decoded = HParamsPluginData::decode(data.content.as_slice()).expect("decode");
        (value.tag.clone(), decoded)
    }

    #[test]
    fn scalars_keep_their_step_tag_and_value_nan_included() {
        let events = written(|w| {
            w.scalars(7, [("step/loss", 2.5), ("step/lr", f32::NAN)])
                .expect("scalars");
        });
        assert_eq!(
            events[0].what,
            Some(What::FileVersion(FILE_VERSION.into())),
            "the version first"
        );
        assert_eq!(events[1].step, 7, "the step");
        let Some(What::Summary(summary)) = &events[1].what else {
            panic!("a summary: {:?}", events[1]);
        };
        assert_eq!(summary.value.len(), 2, "both values");
        assert_eq!(summary.value[0].tag, "step/loss", "tag");
        assert_eq!(summary.value[0].simple_value, Some(2.5), "value");
        assert!(
            summary.value[1].simple_value.is_some_and(f32::is_nan),
            "NaN kept"
        );
    }

    #[test]
    fn sessions_start_with_their_hyperparameters_and_end_with_a_status() {
        let events = written(|w| {
            w.session_start(
                "adam",
                [
                    ("lr", HParam::Number(1e-3)),
                    ("optimizer", HParam::Text("adam".into())),
                    ("amsgrad", HParam::Bool(true)),
                ],
            )
            .expect("start");
            w.session_end(Ended::Failure).expect("end");
            w.restart(300).expect("restart");
        });
        let (tag, start) = plugin_data(&events[1]);
        assert_eq!(tag, "_hparams_/session_start_info", "start tag");
        let Some(HParamsData::SessionStartInfo(start)) = start.data else {
            panic!("a start: {start:?}");
        };
        assert_eq!(start.group_name, "adam", "group");
        assert!(start.start_time_secs > 1.5e9, "a time since 1970");
        let kinds: Vec<_> = start
            .hparams
            .iter()
            .map(|(name, value)| (name.as_str(), value.kind.clone()))
            .collect();
        use prost_types::value::Kind;
        assert_eq!(
            kinds,
            [
                ("amsgrad", Some(Kind::BoolValue(true))),
                ("lr", Some(Kind::NumberValue(1e-3))),
                ("optimizer", Some(Kind::StringValue("adam".into()))),
            ],
            "hyperparameters by name"
        );
        let (tag, end) = plugin_data(&events[2]);
        assert_eq!(tag, "_hparams_/session_end_info", "end tag");
        assert!(
            matches!(
                end.data,
                Some(HParamsData::SessionEndInfo(SessionEndInfo {
                    status: 2,
                    ..
                }))
            ),
            "a failure: {end:?}"
        );
        assert_eq!(events[3].step, 300, "restart step");
        assert_eq!(
            events[3].what,
            Some(What::SessionLog(SessionLog {
                status: SESSION_START
            })),
            "a restart"
        );
    }

    #[test]
    fn two_writers_in_one_folder_get_files_of_their_own() {
        let dir = tempfile::tempdir().expect("temporary folder");
        let a = EventWriter::create(dir.path()).expect("first");
        let b = EventWriter::create(dir.path()).expect("second");
        assert!(
            a.path() < b.path(),
            "distinct files, read in the order made"
        );
        assert!(
            a.path()
                .file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("events.out.tfevents.")),
            "TensorBoard finds files by this name: {}",
            a.path().display()
        );
    }

    #[test]
    fn a_folder_that_cannot_be_made_is_named() {
        let dir = tempfile::tempdir().expect("temporary folder");
        let file = dir.path().join("a-file");
        std::fs::write(&file, "").expect("write");
        let err = EventWriter::create(&file.join("run"))
            .err()
            .expect("a file in the way");
        assert!(
            err.to_string()
                .starts_with(&file.join("run").display().to_string()),
            "{err}"
        );
    }
}
