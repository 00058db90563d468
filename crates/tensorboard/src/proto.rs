//! The protobuf messages of an event file, as far as Stepwise writes them: derived with prost from
//! TensorBoard's `event.proto`, `summary.proto` and the hparams plugin's `plugin_data.proto`
//! (field numbers as there; fields Stepwise never writes are left out, and read back as unknown).

use std::collections::BTreeMap;

/// One record of an event file (`tensorboard.Event`).
#[derive(Clone, PartialEq, prost::Message)]
pub struct Event {
    /// Seconds since 1970 when it was written.
    #[prost(double, tag = "1")]
    pub wall_time: f64,
    /// The training step it belongs to.
    #[prost(int64, tag = "2")]
    pub step: i64,
    /// What happened.
    #[prost(oneof = "What", tags = "3, 5, 7")]
    pub what: Option<What>,
}

/// `Event.what`.
#[derive(Clone, PartialEq, prost::Oneof)]
pub enum What {
    /// The first record of every file: [`FILE_VERSION`].
    #[prost(string, tag = "3")]
    FileVersion(String),
    /// Values: scalars, or a plugin's data.
    #[prost(message, tag = "5")]
    Summary(Summary),
    /// A (re)start of training: TensorBoard drops what it read at this step and later.
    #[prost(message, tag = "7")]
    SessionLog(SessionLog),
}

/// The version every event file announces first.
pub const FILE_VERSION: &str = "brain.Event:2";

/// `tensorboard.Summary`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Summary {
    /// The values, each under its tag.
    #[prost(message, repeated, tag = "1")]
    pub value: Vec<Value>,
}

/// `tensorboard.Summary.Value`: a scalar (`simple_value`) or a plugin's record (`metadata`).
#[derive(Clone, PartialEq, prost::Message)]
pub struct Value {
    /// The chart it belongs to (`epoch/test_accuracy`).
    #[prost(string, tag = "1")]
    pub tag: String,
    /// A scalar.
    #[prost(float, optional, tag = "2")]
    pub simple_value: Option<f32>,
    /// Which plugin reads it, and that plugin's data.
    #[prost(message, optional, tag = "9")]
    pub metadata: Option<SummaryMetadata>,
}

/// `tensorboard.SummaryMetadata`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct SummaryMetadata {
    /// The plugin's data.
    #[prost(message, optional, tag = "1")]
    pub plugin_data: Option<PluginData>,
}

/// `tensorboard.SummaryMetadata.PluginData`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct PluginData {
    /// `hparams`.
    #[prost(string, tag = "1")]
    pub plugin_name: String,
    /// The plugin's own message, encoded ([`HParamsPluginData`]).
    #[prost(bytes = "vec", tag = "2")]
    pub content: Vec<u8>,
}

/// `tensorboard.SessionLog`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct SessionLog {
    /// [`SESSION_START`] for a (re)start.
    #[prost(int32, tag = "1")]
    pub status: i32,
}

/// `SessionLog.SessionStatus.START`.
pub const SESSION_START: i32 = 1;

/// `tensorboard.hparams.HParamsPluginData`: one session's start or end.
#[derive(Clone, PartialEq, prost::Message)]
pub struct HParamsPluginData {
    /// Always 0.
    #[prost(int32, tag = "1")]
    pub version: i32,
    /// The start or the end.
    #[prost(oneof = "HParamsData", tags = "3, 4")]
    pub data: Option<HParamsData>,
}

/// `HParamsPluginData.data`.
#[derive(Clone, PartialEq, prost::Oneof)]
pub enum HParamsData {
    /// The session's hyperparameters.
    #[prost(message, tag = "3")]
    SessionStartInfo(SessionStartInfo),
    /// How it ended.
    #[prost(message, tag = "4")]
    SessionEndInfo(SessionEndInfo),
}

/// `tensorboard.hparams.SessionStartInfo`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct SessionStartInfo {
    /// The hyperparameters, by name.
    #[prost(btree_map = "string, message", tag = "1")]
    pub hparams: BTreeMap<String, prost_types::Value>,
    /// Sessions of one group (one configuration at several seeds) are shown aggregated.
    #[prost(string, tag = "4")]
    pub group_name: String,
    /// Seconds since 1970.
    #[prost(double, tag = "5")]
    pub start_time_secs: f64,
}

/// `tensorboard.hparams.SessionEndInfo`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct SessionEndInfo {
    /// `tensorboard.hparams.Status`: 1 success, 2 failure.
    #[prost(int32, tag = "1")]
    pub status: i32,
    /// Seconds since 1970.
    #[prost(double, tag = "2")]
    pub end_time_secs: f64,
}

/// The hparams plugin's name, tags and version, as its `metadata.py` has them.
pub mod hparams {
    /// The plugin.
    pub const PLUGIN_NAME: &str = "hparams";
    /// The tag of a [`SessionStartInfo`](super::SessionStartInfo).
    pub const SESSION_START_INFO_TAG: &str = "_hparams_/session_start_info";
    /// The tag of a [`SessionEndInfo`](super::SessionEndInfo).
    pub const SESSION_END_INFO_TAG: &str = "_hparams_/session_end_info";
}
