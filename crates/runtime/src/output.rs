//! Capped in-memory capture of a guest's stdout and stderr.
//!
//! wasmtime-wasi's `MemoryOutputPipe` answers a full buffer with an I/O error the guest
//! may ignore, and cannot tell us afterwards that output was lost. This pipe records the
//! overflow, and for stdout (the handler's result) traps the guest at once: a result that
//! does not fit is a failure, so there is no point letting the guest run on.

use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll};

use bytes::Bytes;
use tokio::io::AsyncWrite;
use wasmtime_wasi::cli::{IsTerminal, StdoutStream};
use wasmtime_wasi::p2::{OutputStream, Pollable, StreamError, StreamResult};

/// What a write that does not fit does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Overflow {
    /// Trap the guest (stdout: the result is unusable).
    Trap,
    /// Keep what fits and drop the rest (stderr: logs are best-effort).
    Truncate,
}

/// Largest single write we offer the guest; WASI p1 writes in 4 KiB chunks anyway.
const WRITE_PERMIT: usize = 1 << 20;

#[derive(Clone)]
pub(crate) struct CappedOutput {
    buffer: Arc<Mutex<Captured>>,
    capacity: usize,
    on_overflow: Overflow,
}

#[derive(Default)]
struct Captured {
    bytes: Vec<u8>,
    overflowed: bool,
}

impl CappedOutput {
    pub(crate) fn new(capacity: usize, on_overflow: Overflow) -> CappedOutput {
        CappedOutput {
            buffer: Arc::new(Mutex::new(Captured::default())),
            capacity,
            on_overflow,
        }
    }

    /// The bytes written so far and whether anything did not fit.
    pub(crate) fn take(&self) -> (Vec<u8>, bool) {
        let mut captured = self.lock();
        (std::mem::take(&mut captured.bytes), captured.overflowed)
    }

    fn lock(&self) -> MutexGuard<'_, Captured> {
        // A poisoned lock only means a panic elsewhere mid-push; the bytes are still valid.
        self.buffer.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Appends `data`; `Err` only in [`Overflow::Trap`] mode when it does not fit.
    fn append(&self, data: &[u8]) -> Result<(), ()> {
        let mut captured = self.lock();
        let room = self.capacity.saturating_sub(captured.bytes.len());
        if data.len() <= room {
            captured.bytes.extend_from_slice(data);
            return Ok(());
        }
        captured.overflowed = true;
        match self.on_overflow {
            Overflow::Trap => Err(()),
            Overflow::Truncate => {
                captured.bytes.extend_from_slice(&data[..room]);
                Ok(())
            }
        }
    }

    fn overflow_message(&self) -> String {
        format!("output exceeds the {}-byte limit", self.capacity)
    }
}

impl IsTerminal for CappedOutput {
    fn is_terminal(&self) -> bool {
        false
    }
}

impl StdoutStream for CappedOutput {
    fn p2_stream(&self) -> Box<dyn OutputStream> {
        Box::new(self.clone())
    }

    fn async_stream(&self) -> Box<dyn AsyncWrite + Send + Sync> {
        Box::new(self.clone())
    }
}

#[wasmtime_wasi::async_trait]
impl Pollable for CappedOutput {
    /// Memory is always ready.
    async fn ready(&mut self) {}
}

#[wasmtime_wasi::async_trait]
impl OutputStream for CappedOutput {
    fn write(&mut self, bytes: Bytes) -> StreamResult<()> {
        self.append(&bytes)
            .map_err(|()| StreamError::trap(&self.overflow_message()))
    }

    fn flush(&mut self) -> StreamResult<()> {
        Ok(())
    }

    fn check_write(&mut self) -> StreamResult<usize> {
        // Never 0: a zero permit makes WASI wait for readiness forever. The limit is
        // enforced in `write`.
        Ok(WRITE_PERMIT)
    }
}

impl AsyncWrite for CappedOutput {
    fn poll_write(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Poll::Ready(
            self.append(buf)
                .map(|()| buf.len())
                .map_err(|()| io::Error::other(self.overflow_message())),
        )
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_within_capacity_are_kept() {
        let mut out = CappedOutput::new(10, Overflow::Trap);
        out.write(Bytes::from_static(b"hello")).unwrap();
        out.write(Bytes::from_static(b"world")).unwrap();
        assert_eq!(out.take(), (b"helloworld".to_vec(), false));
    }

    #[test]
    fn trap_mode_fails_the_write_and_records_overflow() {
        let mut out = CappedOutput::new(4, Overflow::Trap);
        out.write(Bytes::from_static(b"abc")).unwrap();
        assert!(out.write(Bytes::from_static(b"de")).is_err());
        assert_eq!(out.take(), (b"abc".to_vec(), true));
    }

    #[test]
    fn truncate_mode_keeps_what_fits() {
        let mut out = CappedOutput::new(4, Overflow::Truncate);
        out.write(Bytes::from_static(b"abcdef")).unwrap();
        assert_eq!(out.take(), (b"abcd".to_vec(), true));
    }

    #[test]
    fn check_write_never_offers_zero() {
        let mut out = CappedOutput::new(0, Overflow::Trap);
        assert!(out.check_write().unwrap() > 0);
    }
}
