//! ranlab radio interface: timestamped multi-antenna sample streams.
#![warn(missing_docs)]
