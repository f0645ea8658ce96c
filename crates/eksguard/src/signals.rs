//! The signals that ask a long-running command (`serve`, `audit scan --follow`) to stop.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use tokio::sync::Notify;

/// Sets `stop` and wakes `wake` on the first SIGTERM or SIGINT (Ctrl-C where there are no
/// Unix signals). The handlers are installed before this returns, so a signal that
/// arrives at once is not lost.
pub fn on_stop(stop: Arc<AtomicBool>, wake: Arc<Notify>) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let mut term = signal(SignalKind::terminate())?;
        let mut int = signal(SignalKind::interrupt())?;
        tokio::spawn(async move {
            tokio::select! {
                _ = term.recv() => {}
                _ = int.recv() => {}
            }
            stop.store(true, Ordering::SeqCst);
            wake.notify_one();
        });
    }
    #[cfg(not(unix))]
    tokio::spawn(async move {
        let _ = tokio::signal::ctrl_c().await;
        stop.store(true, Ordering::SeqCst);
        wake.notify_one();
    });
    Ok(())
}
