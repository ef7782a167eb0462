//! The `ranlab` command's subcommands as a library, so that the criterion
//! benches in `benches/` run the very cases of `ranlab bench` and the
//! integration tests can reach the same code.

pub mod bench;
pub mod bler;
pub mod blertable;
pub mod cell;
pub mod channel;
pub mod conform;
pub mod expect;
pub mod fuzz;
pub mod info;
pub mod interrupt;
pub mod link;
pub mod loopback;
pub mod overrides;
pub mod record;
pub mod record_ext;
pub mod replay;
pub mod scenario;
pub mod sdr;
pub mod system;
pub mod tags;

/// Errors that end a command: printed as one line, exit status 1.
pub type CliResult<T = ()> = Result<T, Box<dyn std::error::Error>>;
