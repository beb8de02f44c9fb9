//! A one-line spinner with the time left, on stderr, only when stderr is a terminal.

use std::io::{IsTerminal, Write};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use tokio::sync::watch;
use tokio::time::Instant;

const FRAMES: [char; 10] = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];

/// Draws "⠋ {label} (4:59 left)" until dropped, once [`Spinner::start`] gives a deadline.
pub struct Spinner {
    deadline: watch::Sender<Option<Instant>>,
    task: Option<tokio::task::JoinHandle<()>>,
    stopped: Arc<AtomicBool>,
}

impl Spinner {
    /// A spinner that waits for [`Spinner::start`]; it draws nothing when stderr is not a
    /// terminal or `--quiet` was given.
    pub fn new(label: &str) -> Self {
        let (tx, mut rx) = watch::channel(None::<Instant>);
        let enabled = std::io::stderr().is_terminal() && !crate::output::quiet();
        let label = label.to_owned();
        let stopped = Arc::new(AtomicBool::new(false));
        let stop = stopped.clone();
        let task = enabled.then(|| {
            tokio::spawn(async move {
                let deadline = loop {
                    if let Some(d) = *rx.borrow_and_update() {
                        break d;
                    }
                    if rx.changed().await.is_err() {
                        return;
                    }
                };
                let mut tick = tokio::time::interval(Duration::from_millis(120));
                for frame in FRAMES.iter().cycle() {
                    tick.tick().await;
                    let left = deadline.saturating_duration_since(Instant::now()).as_secs();
                    let mut err = std::io::stderr().lock();
                    if stop.load(Ordering::SeqCst) {
                        return;
                    }
                    let _ = write!(
                        err,
                        "\r\x1b[2K{frame} {label} ({}:{:02} left, Ctrl-C cancels)",
                        left / 60,
                        left % 60
                    );
                    let _ = err.flush();
                }
            })
        });
        Self {
            deadline: tx,
            task,
            stopped,
        }
    }

    /// Starts drawing, counting down to `deadline`. Callable from sync callbacks.
    pub fn start(&self, deadline: Instant) {
        let _ = self.deadline.send(Some(deadline));
    }
}

impl Drop for Spinner {
    fn drop(&mut self) {
        if let Some(task) = self.task.take() {
            let mut err = std::io::stderr().lock();
            self.stopped.store(true, Ordering::SeqCst);
            task.abort();
            let _ = write!(err, "\r\x1b[2K");
            let _ = err.flush();
        }
    }
}
