//! Standard streams: the host's own, in-memory pipes for tests and
//! embedders, and the traits a custom stream implements.

use std::io::{self, IsTerminal as _, Read as _, Write as _};
use std::sync::{Arc, Mutex, PoisonError};

/// A source of bytes for the guest's standard input.
pub trait InputStream: Send {
    /// Reads up to `buf.len()` bytes; `Ok(0)` is the end of the stream.
    ///
    /// # Errors
    ///
    /// When the underlying source fails; the guest sees the error number
    /// of the I/O error.
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize>;

    /// Whether the stream is a terminal (the guest then sees a character
    /// device).
    fn is_terminal(&self) -> bool {
        false
    }
}

/// A sink for the guest's standard output or error.
pub trait OutputStream: Send {
    /// Writes all of `buf`.
    ///
    /// # Errors
    ///
    /// When the underlying sink fails; the guest sees the error number of
    /// the I/O error.
    fn write(&mut self, buf: &[u8]) -> io::Result<()>;

    /// Flushes buffered output.
    ///
    /// # Errors
    ///
    /// When the underlying sink fails.
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }

    /// Whether the stream is a terminal.
    fn is_terminal(&self) -> bool {
        false
    }
}

/// The host process's standard input.
#[derive(Debug, Default, Clone, Copy)]
pub struct Stdin;

impl InputStream for Stdin {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        io::stdin().lock().read(buf)
    }
    fn is_terminal(&self) -> bool {
        io::stdin().is_terminal()
    }
}

/// Defines an output stream of the host process that writes through the
/// process's handle `$handle` (`io::stdout`, `io::stderr`), flushing after
/// each write so that the guest's output interleaves with the host's.
macro_rules! host_output {
    ($(#[$doc:meta])* $name:ident, $handle:path) => {
        $(#[$doc])*
        #[derive(Debug, Default, Clone, Copy)]
        pub struct $name;

        impl OutputStream for $name {
            fn write(&mut self, buf: &[u8]) -> io::Result<()> {
                let mut out = $handle().lock();
                out.write_all(buf)?;
                out.flush()
            }
            fn is_terminal(&self) -> bool {
                $handle().is_terminal()
            }
        }
    };
}

host_output!(
    /// The host process's standard output.
    Stdout,
    io::stdout
);
host_output!(
    /// The host process's standard error.
    Stderr,
    io::stderr
);

/// An empty input: every read is the end of the stream. The default
/// standard input.
#[derive(Debug, Default, Clone, Copy)]
pub struct ClosedInput;

impl InputStream for ClosedInput {
    fn read(&mut self, _: &mut [u8]) -> io::Result<usize> {
        Ok(0)
    }
}

/// An output that discards everything. The default standard output and
/// error.
#[derive(Debug, Default, Clone, Copy)]
pub struct Sink;

impl OutputStream for Sink {
    fn write(&mut self, _: &[u8]) -> io::Result<()> {
        Ok(())
    }
}

/// Standard input read from bytes held in memory.
///
/// ```
/// use trestle_wasi::{MemoryInputPipe, WasiCtxBuilder};
/// let ctx = WasiCtxBuilder::new().stdin(MemoryInputPipe::new("line\n")).build_p1();
/// # drop(ctx);
/// ```
#[derive(Debug, Clone)]
pub struct MemoryInputPipe {
    data: Arc<Mutex<(Vec<u8>, usize)>>,
}

impl MemoryInputPipe {
    /// A pipe that yields `bytes`, then the end of the stream.
    pub fn new(bytes: impl Into<Vec<u8>>) -> Self {
        Self {
            data: Arc::new(Mutex::new((bytes.into(), 0))),
        }
    }
}

impl InputStream for MemoryInputPipe {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let mut guard = self.data.lock().unwrap_or_else(PoisonError::into_inner);
        let (data, pos) = &mut *guard;
        let rest = &data[*pos..];
        let n = rest.len().min(buf.len());
        buf[..n].copy_from_slice(&rest[..n]);
        *pos += n;
        Ok(n)
    }
}

/// Standard output or error captured in memory, up to a capacity; clones
/// share the buffer, so the embedder keeps one and reads it after the run.
///
/// ```
/// use trestle_wasi::{MemoryOutputPipe, WasiCtxBuilder};
/// let out = MemoryOutputPipe::new(4096);
/// let ctx = WasiCtxBuilder::new().stdout(out.clone()).build_p1();
/// # drop(ctx);
/// assert!(out.contents().is_empty());
/// ```
#[derive(Debug, Clone)]
pub struct MemoryOutputPipe {
    capacity: usize,
    buffer: Arc<Mutex<Vec<u8>>>,
}

impl MemoryOutputPipe {
    /// An empty pipe that holds at most `capacity` bytes; a write past it
    /// fails with "no space" (`ENOSPC`) after storing what fits.
    pub fn new(capacity: usize) -> Self {
        Self {
            capacity,
            buffer: Arc::new(Mutex::new(Vec::new())),
        }
    }

    /// A copy of everything written so far.
    pub fn contents(&self) -> Vec<u8> {
        self.buffer
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

impl OutputStream for MemoryOutputPipe {
    fn write(&mut self, buf: &[u8]) -> io::Result<()> {
        let mut data = self.buffer.lock().unwrap_or_else(PoisonError::into_inner);
        let room = self.capacity.saturating_sub(data.len());
        if buf.len() > room {
            data.extend_from_slice(&buf[..room]);
            return Err(io::Error::from_raw_os_error(libc::ENOSPC));
        }
        data.extend_from_slice(buf);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pipes() {
        let mut input = MemoryInputPipe::new("abc");
        let mut buf = [0; 2];
        assert_eq!(input.read(&mut buf).unwrap(), 2);
        assert_eq!(&buf, b"ab");
        assert_eq!(input.read(&mut buf).unwrap(), 1);
        assert_eq!(input.read(&mut buf).unwrap(), 0);

        let out = MemoryOutputPipe::new(4);
        let mut writer = out.clone();
        writer.write(b"ab").unwrap();
        assert!(writer.write(b"cde").is_err());
        assert_eq!(out.contents(), b"abcd");
    }
}
