//! A run's event files read back as what they say: scalars by tag, hyperparameters, how it ended.

use std::collections::BTreeMap;
use std::path::Path;

use prost::Message;
use prost_types::value::Kind;

use crate::proto::{HParamsData, HParamsPluginData, What, hparams};
use crate::record::{ReadError, read_events};
use crate::{Ended, HParam};

/// What a run's folder holds, every event file in name order (the order they were made in).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Run {
    /// Each tag's (step, value) pairs, in the order written; a restart drops nothing here.
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
    files.retain(|path| {
        path.file_name()
            .is_some_and(|name| name.to_string_lossy().contains("tfevents"))
    });
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
                                .map_err(|err| ReadError::Record {
                                    path: file.clone(),
                                    offset: 0,
                                    problem: format!("hparams plugin data: {err}"),
                                })?;
                            session(&mut run, decoded);
                        }
                    }
                }
                Some(What::SessionLog(_)) => run.restarts.push(event.step),
                Some(What::FileVersion(_)) | None => {}
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
            run.ended = match end.status {
                1 => Some(Ended::Success),
                2 => Some(Ended::Failure),
                _ => None,
            };
        }
        None => {}
    }
}
