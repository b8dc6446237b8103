//! A small synchronous facade for command-line front ends: [`block_on`] runs a storage future
//! on a process-wide tokio runtime owned here. The library itself stays async.

use std::future::Future;
use std::sync::OnceLock;

/// The runtime used by [`block_on`] (multi-threaded, 2 workers: storage work is I/O bound).
fn runtime() -> &'static tokio::runtime::Runtime {
    static RT: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RT.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("cannot start the tokio runtime") // no runtime: nothing can work
    })
}

/// Runs `fut` to completion from synchronous code. Must not be called from inside a tokio
/// runtime (tokio panics on nested `block_on`); async callers simply `.await`.
pub fn block_on<F: Future>(fut: F) -> F::Output {
    runtime().block_on(fut)
}
