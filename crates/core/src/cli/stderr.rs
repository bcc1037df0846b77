//! Diagnostics written to standard error without ever taking the server down. Where standard
//! error is a pipe in non-blocking mode (a WASI server's is the Node host's, which Node makes
//! non-blocking) and nobody reads it, a write fails with `WouldBlock`; the tracing subscriber
//! then reported the failure with `eprintln!`, which panics, and on WASI a panic ends the
//! process. [`Patient`] waits a little for a full pipe, then drops the line.

use std::io::{self, Write};
use std::time::{Duration, Instant};

/// How long one write waits for a full pipe before its line is dropped.
const PATIENCE: Duration = Duration::from_millis(100);

/// A writer that retries a full pipe for up to [`PATIENCE`] and never fails.
pub struct Patient<W>(pub W);

impl<W: Write> Write for Patient<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let start = Instant::now();
        loop {
            match self.0.write(buf) {
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock && start.elapsed() < PATIENCE => {
                    std::thread::sleep(Duration::from_millis(1))
                }
                // Dropped: no diagnostic is worth the server.
                Err(_) => return Ok(buf.len()),
                written => return written,
            }
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        let _ = self.0.flush();
        Ok(())
    }
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;
    use std::io::Read;
    use std::os::fd::FromRawFd;

    /// A pipe whose write end is non-blocking, as a WASI server's standard error is.
    fn pipe() -> (std::fs::File, std::fs::File) {
        let mut fds = [0; 2];
        // SAFETY: pipe2 fills two descriptors that we then own.
        assert_eq!(
            unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_NONBLOCK) },
            0
        );
        // SAFETY: just created, owned by nothing else.
        unsafe {
            (
                std::fs::File::from_raw_fd(fds[0]),
                std::fs::File::from_raw_fd(fds[1]),
            )
        }
    }

    fn fill(w: &mut std::fs::File) -> usize {
        let chunk = [b'x'; 4096];
        let mut n = 0;
        loop {
            match w.write(&chunk) {
                Ok(k) => n += k,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return n,
                Err(e) => panic!("{e}"),
            }
        }
    }

    #[test]
    fn a_full_pipe_nobody_reads_drops_the_line_instead_of_failing() {
        let (_r, mut w) = pipe();
        fill(&mut w);
        assert_eq!(
            w.write(b"line\n").unwrap_err().kind(),
            io::ErrorKind::WouldBlock,
            "the pipe is full"
        );
        let started = Instant::now();
        let mut patient = Patient(w);
        patient.write_all(b"a diagnostic line\n").unwrap();
        patient.flush().unwrap();
        assert!(started.elapsed() < PATIENCE * 3);
    }

    #[test]
    fn a_full_pipe_that_is_read_meanwhile_gets_the_whole_line() {
        let (mut r, mut w) = pipe();
        let filled = fill(&mut w);
        let reader = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(20));
            let mut all = Vec::new();
            let mut buf = [0; 65536];
            // Both ends are non-blocking: read until the writer closes.
            loop {
                match r.read(&mut buf) {
                    Ok(0) => return all,
                    Ok(k) => all.extend_from_slice(&buf[..k]),
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                        std::thread::sleep(Duration::from_millis(1))
                    }
                    Err(e) => panic!("{e}"),
                }
            }
        });
        let mut patient = Patient(w);
        patient.write_all(b"the line that waited\n").unwrap();
        drop(patient);
        let all = reader.join().unwrap();
        assert_eq!(all.len(), filled + b"the line that waited\n".len());
        assert!(all.ends_with(b"the line that waited\n"));
    }
}
