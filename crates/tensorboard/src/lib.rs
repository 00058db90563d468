//! # stepwise-tensorboard
//!
//! TensorBoard's event files, written as training goes: scalars, and the hparams plugin's
//! sessions (each run's hyperparameters, its group, how it ended). A file is a sequence of
//! TensorFlow records (length, masked CRC-32C, a protobuf `Event`, masked CRC-32C); the messages
//! are derived with prost from TensorBoard's own `.proto` files.
//!
//! - [`EventWriter`]: one new file in a run's folder; TensorBoard shows every folder under its
//!   `--logdir` that holds one as a run;
//! - [`read_run`] and [`read_events`]: a run's folder or one file read back, checksums checked
//!   (for tests and tools; TensorBoard's own reader is the one that counts).

pub mod proto;
mod read;
mod record;
mod writer;

pub use read::{Run, read_run};
pub use record::{ReadError, read_events};
pub use writer::{Ended, EventWriter, HParam, WriteError, is_event_file};
