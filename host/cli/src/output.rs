//! Writing the commands' output. A reader that stops early (`hypernet tasks list --json |
//! head`) closes the pipe: that ends the command quietly and successfully, where `println!`
//! would panic.

use std::fmt;
use std::io::{ErrorKind, Write};

/// Standard output was closed by its reader: nothing more can be shown, and nothing failed.
#[derive(Debug)]
pub struct ClosedOutput;

impl fmt::Display for ClosedOutput {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("standard output was closed by its reader")
    }
}

impl std::error::Error for ClosedOutput {}

/// Writes `text` to standard output at once; [`ClosedOutput`] when the reader has gone away.
pub fn write(text: &str) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Ok(()) => Ok(()),
        Err(err) if err.kind() == ErrorKind::BrokenPipe => Err(ClosedOutput.into()),
        Err(err) => Err(anyhow::Error::new(err).context("writing to standard output")),
    }
}

/// [`write`] with a newline; the commands use it through `outln!`.
pub fn line(text: fmt::Arguments<'_>) -> anyhow::Result<()> {
    write(&format!("{text}\n"))
}

/// Like `println!`, but returns the write's result: `outln!("{view}")?`.
macro_rules! outln {
    ($($arg:tt)*) => {
        crate::output::line(format_args!($($arg)*))
    };
}
