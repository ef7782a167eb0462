//! ranlab MAC: HARQ entities, UE buffers and buffer-status reporting, link
//! adaptation and transport-block accounting.
#![warn(missing_docs)]
