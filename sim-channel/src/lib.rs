//! ranlab software channel: what runs in place of the air and the radio boards.
#![warn(missing_docs)]
