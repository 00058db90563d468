//! A run's event files read back as what they say: scalars by tag, hyperparameters, how it ended.

use std::collections::BTreeMap;
use std::path::Path;

use prost::Message;
use prost_types::value::Kind;

use crate::proto::{HParamsData, HParamsPluginData, SESSION_START, What, hparams};
use crate::record::{ReadError, read_events};
use crate::{Ended, HParam, is_event_file};

/// What a run's folder holds, every event file in name order (the order they were made in).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Run {
    /// Each tag's (step, value) pairs, in the order written; a restart drops what was written
    /// before it at its step and later, as TensorBoard's reader does.
    pub scalars: BTreeMap<String, Vec<(i64, f32)>>,
    /// The hparams plugin's hyperparameters (the last session start's).
    pub hparams: BTreeMap<String, HParam>,
    /// The session's group.
    pub group: Option<String>,
    /// How the session ended, if it did.
    pub ended: Option<Ended>,
    /// The steps training restarted at (resumed runs).
    pub restarts: Vec<i64>,
    /// The event files read.
    pub files: usize,
}

/// Reads every event file in `folder` (not below it).
///
/// # Errors
/// [`ReadError`]: the folder or a file cannot be read, or a record is damaged.
pub fn read_run(folder: &Path) -> Result<Run, ReadError> {
    let io = |source| ReadError::Io {
        path: folder.to_owned(),
        source,
    };
    let mut files: Vec<_> = std::fs::read_dir(folder)
        .map_err(io)?
        .map(|entry| entry.map(|entry| entry.path()))
        .collect::<Result<_, _>>()
        .map_err(io)?;
    files.retain(|path| is_event_file(path));
    files.sort();
    let mut run = Run {
        files: files.len(),
        ..Run::default()
    };
    for file in &files {
        for event in read_events(file)? {
            match event.what {
                Some(What::Summary(summary)) => {
                    for value in summary.value {
                        if let Some(number) = value.simple_value {
                            let series = run.scalars.entry(value.tag).or_default();
                            series.push((event.step, number));
                        } else if let Some(data) =
                            value.metadata.and_then(|metadata| metadata.plugin_data)
                            && data.plugin_name == hparams::PLUGIN_NAME
                        {
                            let decoded = HParamsPluginData::decode(data.content.as_slice())
                                .map_err(|err| ReadError::PluginData {
                                    path: file.clone(),
                                    problem: err.to_string(),
                                })?;
                            session(&mut run, decoded);
                        }
                    }
                }
                Some(What::SessionLog(log)) if log.status == SESSION_START => {
                    for series in run.scalars.values_mut() {
                        series.retain(|&(step, _)| step < event.step);
                    }
                    run.restarts.push(event.step);
                }
                Some(What::FileVersion(_) | What::SessionLog(_)) | None => {}
            }
        }
    }
    Ok(run)
}

fn session(run: &mut Run, data: HParamsPluginData) {
    match data.data {
        Some(HParamsData::SessionStartInfo(start)) => {
            run.group = Some(start.group_name);
            run.hparams = start
                .hparams
                .into_iter()
                .filter_map(|(name, value)| {
                    let value = match value.kind? {
                        Kind::NumberValue(n) => HParam::Number(n),
                        Kind::StringValue(text) => HParam::Text(text),
                        Kind::BoolValue(b) => HParam::Bool(b),
                        _ => return None,
                    };
                    Some((name, value))
                })
                .collect();
        }
        Some(HParamsData::SessionEndInfo(end)) => {
            run.ended = Ended::from_status(end.status);
        }
        None => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::EventWriter;

    #[test]
    fn a_restart_drops_what_earlier_files_wrote_from_its_step_on() {
        let dir = tempfile::tempdir().expect("temporary folder");
        let mut first = EventWriter::create(dir.path()).expect("first process");
        for step in 1..=4 {
            first.scalars(step, [("loss", step as f32)]).expect("write");
        }
        first.flush().expect("flush");
        // Resumed from a checkpoint after step 2: steps 3 and 4 are trained again.
        let mut second = EventWriter::create(dir.path()).expect("second process");
        second.restart(3).expect("restart");
        for step in 3..=5 {
            second
                .scalars(step, [("loss", 10.0 * step as f32)])
                .expect("write");
        }
        second.flush().expect("flush");
        let run = read_run(dir.path()).expect("read");
        assert_eq!(run.files, 2, "both files");
        assert_eq!(run.restarts, [3], "the restart");
        assert_eq!(
            run.scalars["loss"],
            [(1, 1.0), (2, 2.0), (3, 30.0), (4, 40.0), (5, 50.0)],
            "the first process's steps 3 and 4 dropped"
        );
    }
}
