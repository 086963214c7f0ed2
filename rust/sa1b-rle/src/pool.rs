//! The process-local thread pool behind every parallel batch operation.
//!
//! Never rayon's global pool: one pool per process, built on first use and rebuilt
//! larger when a call asks for more threads than it has (never one per thread count, so
//! the number of OS threads stays at most [`MAX_THREADS`]), and keyed by process id, so that after `fork()` (PyTorch `DataLoader` workers on Linux) the
//! child builds its own instead of waiting on worker threads that do not exist in it.
//!
//! The thread count of a call is, in order of precedence: the call's own `threads`
//! argument, then [`set_num_threads`] (made in this process), then the environment
//! variables `SA1B_RLE_NUM_THREADS` and `RAYON_NUM_THREADS` (read once per process), then
//! the number of CPUs; except that in a forked child the last default is 1 (one thread per
//! worker process, which is what a pool of worker processes wants). Every count is at
//! most [`MAX_THREADS`].

use std::sync::atomic::{AtomicU32, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

/// The process that loaded the library (`note_process_start`), to recognise forked
/// children. 0: not noted (then the first process to use the pool counts as the parent).
static PARENT_PID: AtomicU32 = AtomicU32::new(0);

struct State {
    pid: u32,
    /// Set by [`set_num_threads`] in this process.
    configured: Option<usize>,
    /// From the environment, read once per process.
    env: Option<usize>,
    /// What was wrong with `SA1B_RLE_NUM_THREADS`, if anything (it is then ignored).
    env_problem: Option<String>,
    /// The CPUs this process may use, asked once per process (the query reads cgroup
    /// files: tens of microseconds).
    cpus: usize,
    /// The pool and its number of threads (the calling thread works beside them).
    pool: Option<(usize, Arc<rayon::ThreadPool>)>,
}

/// The most threads a call may use (the calling thread and `MAX_THREADS - 1` pool
/// threads): a `threads` argument, [`set_num_threads`] or `SA1B_RLE_NUM_THREADS` beyond it
/// is refused, and the CPU count is capped at it.
pub const MAX_THREADS: usize = 256;

fn state() -> &'static Mutex<State> {
    static STATE: OnceLock<Mutex<State>> = OnceLock::new();
    STATE.get_or_init(|| {
        Mutex::new(State {
            pid: 0,
            configured: None,
            env: None,
            env_problem: None,
            cpus: 1,
            pool: None,
        })
    })
}

/// Runs `f` with the state of this process: a state inherited through `fork()` (other
/// pid) is reset first. Its pools are leaked, not dropped: their threads do not exist
/// here, and dropping them would signal threads that never answer.
fn with_state<R>(f: impl FnOnce(&mut State) -> R) -> R {
    let pid = std::process::id();
    let mut s = state()
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if s.pid != pid {
        if let Some(pool) = s.pool.take() {
            std::mem::forget(pool);
        }
        s.pid = pid;
        s.configured = None;
        (s.env, s.env_problem) = env_threads();
        s.cpus = std::thread::available_parallelism()
            .map_or(1, std::num::NonZero::get)
            .min(MAX_THREADS);
        // The first process to use the pool is the parent unless one was noted earlier.
        let _ = PARENT_PID.compare_exchange(0, pid, Ordering::SeqCst, Ordering::SeqCst);
    }
    f(&mut s)
}

/// The thread count from the environment, and what was wrong with
/// `SA1B_RLE_NUM_THREADS` if it is set but not a count in `1..=MAX_THREADS` (it is then
/// ignored). `RAYON_NUM_THREADS` is read as rayon reads it: 0 or junk mean "the default";
/// a larger count than the cap is capped.
fn env_threads() -> (Option<usize>, Option<String>) {
    if let Some(v) = std::env::var_os("SA1B_RLE_NUM_THREADS") {
        let text = v.to_string_lossy();
        return match text.trim().parse::<usize>() {
            Ok(n) if (1..=MAX_THREADS).contains(&n) => (Some(n), None),
            _ => (
                None,
                Some(format!(
                    "SA1B_RLE_NUM_THREADS={text:?} is not a thread count in 1..={MAX_THREADS}; \
                     it is ignored"
                )),
            ),
        };
    }
    let rayon = std::env::var("RAYON_NUM_THREADS")
        .ok()
        .and_then(|v| v.trim().parse::<usize>().ok())
        .filter(|&n| n > 0)
        .map(|n| n.min(MAX_THREADS));
    (rayon, None)
}

/// What is wrong with the `SA1B_RLE_NUM_THREADS` environment variable of this process,
/// if it is set to something other than a thread count in `1..=MAX_THREADS` (it is then
/// ignored; the binding turns this into a warning).
#[must_use]
pub fn env_problem() -> Option<String> {
    with_state(|s| s.env_problem.clone())
}

/// Records the current process as the one that loaded the library, so that a process
/// forked from it later is recognised as a child (call it at import time).
pub fn note_process_start() {
    let _ = PARENT_PID.compare_exchange(0, std::process::id(), Ordering::SeqCst, Ordering::SeqCst);
}

/// Whether this process is a fork of the one that loaded the library.
#[must_use]
pub fn is_forked_child() -> bool {
    let parent = PARENT_PID.load(Ordering::SeqCst);
    parent != 0 && parent != std::process::id()
}

/// Sets the default number of threads for this process (`0` restores the default;
/// counts above [`MAX_THREADS`] are capped, the binding refuses them first).
///
/// # Examples
/// ```
/// sa1b_rle::pool::set_num_threads(3);
/// assert_eq!(sa1b_rle::pool::num_threads(None), 3);
/// assert_eq!(sa1b_rle::pool::num_threads(Some(1)), 1);
/// sa1b_rle::pool::set_num_threads(0);
/// ```
pub fn set_num_threads(n: usize) {
    with_state(|s| s.configured = (n > 0).then_some(n.min(MAX_THREADS)));
}

/// The number of threads a call with `threads` (its own argument, if any) uses.
///
/// # Examples
/// ```
/// assert!(sa1b_rle::pool::num_threads(None) >= 1);
/// assert_eq!(sa1b_rle::pool::num_threads(Some(2)), 2);
/// ```
#[must_use]
pub fn num_threads(threads: Option<usize>) -> usize {
    if let Some(n) = threads.filter(|&n| n > 0) {
        return n.min(MAX_THREADS);
    }
    with_state(|s| {
        s.configured
            .or(s.env)
            .unwrap_or(if is_forked_child() { 1 } else { s.cpus })
    })
}

/// This process's pool, with at least `n` threads (at most `MAX_THREADS - 1`): the one
/// pool is rebuilt larger when a call needs more (the old one's threads end once the
/// calls using it return), so the OS thread count stays bounded whatever callers pass.
/// A call spawns only as many jobs as it has threads, so a larger pool than it needs
/// costs it nothing.
fn pool(n: usize) -> Option<Arc<rayon::ThreadPool>> {
    let n = n.min(MAX_THREADS - 1);
    with_state(|s| {
        if let Some((size, p)) = &s.pool {
            if *size >= n {
                return Some(Arc::clone(p));
            }
        }
        let p = rayon::ThreadPoolBuilder::new()
            .num_threads(n)
            .thread_name(|i| format!("sa1b-rle-{i}"))
            .build()
            .ok()?;
        let p = Arc::new(p);
        s.pool = Some((n, Arc::clone(&p)));
        Some(p)
    })
}

/// The number of threads in this process's pool (0 before the first parallel call):
/// for tests that the OS thread count stays bounded.
#[must_use]
pub fn pool_threads() -> usize {
    with_state(|s| s.pool.as_ref().map_or(0, |(n, _)| *n))
}

/// Below this much work (in rough units of one run or one character, about a
/// nanosecond each, so about a millisecond) a call runs on the calling thread: waking
/// the pool's sleeping threads costs 100-300 us on a virtual machine (measured here).
pub const MIN_PARALLEL_WORK: usize = 1 << 20;

/// The thread count for a call doing `work` units: `Some(1)` for small work, else
/// `threads` (the count is an upper bound; results never depend on it).
///
/// # Examples
/// ```
/// use sa1b_rle::pool::{for_work, MIN_PARALLEL_WORK};
/// assert_eq!(for_work(Some(4), 10), Some(1));
/// assert_eq!(for_work(Some(4), MIN_PARALLEL_WORK), Some(4));
/// ```
#[must_use]
pub fn for_work(threads: Option<usize>, work: usize) -> Option<usize> {
    if work < MIN_PARALLEL_WORK {
        Some(1)
    } else {
        threads
    }
}

/// `f(i)` for `i` in `0..n`, in order, on `num_threads(threads)` threads: the calling
/// thread and up to `threads - 1` threads of this process's pool (on the calling thread
/// alone for one thread, or if no thread can be started).
///
/// The indices are handed out in blocks from a shared counter, and the calling thread
/// works from the start instead of waiting for pool threads to wake up (100-300 us on a
/// virtual machine): a call is never much slower than on one thread.
///
/// # Examples
/// ```
/// let squares = sa1b_rle::pool::map_range(Some(2), 5, |i| i * i);
/// assert_eq!(squares, vec![0, 1, 4, 9, 16]);
/// ```
pub fn map_range<R: Send>(
    threads: Option<usize>,
    n: usize,
    f: impl Fn(usize) -> R + Sync,
) -> Vec<R> {
    let blocks = map_blocks(threads, n, |range| range.map(&f).collect::<Vec<R>>());
    let mut out = Vec::with_capacity(n);
    for b in blocks {
        out.extend(b);
    }
    out
}

/// `f(range)` for consecutive blocks of `0..n` covering it, in block order, on
/// `num_threads(threads)` threads (as [`map_range`]; one block `0..n` on one thread, none
/// for `n == 0`). A block is the unit for per-thread scratch space.
///
/// # Examples
/// ```
/// let sums = sa1b_rle::pool::map_blocks(Some(2), 100, |r| r.sum::<usize>());
/// assert_eq!(sums.iter().sum::<usize>(), 4950);
/// ```
pub fn map_blocks<R: Send>(
    threads: Option<usize>,
    n: usize,
    f: impl Fn(std::ops::Range<usize>) -> R + Sync,
) -> Vec<R> {
    map_blocks_with(threads, n, |range, (): &mut ()| f(range))
}

/// [`map_blocks`] with an `S` per participating thread, made once and passed to each of
/// its blocks (scratch space that outlives a block: blocks are small, about an eighth of
/// a thread's share, and growing buffers anew in each costs more than small work).
///
/// # Examples
/// ```
/// // Each thread counts the blocks it ran.
/// let runs = sa1b_rle::pool::map_blocks_with(Some(2), 100, |r, seen: &mut usize| {
///     *seen += 1;
///     r.len()
/// });
/// assert_eq!(runs.iter().sum::<usize>(), 100);
/// ```
pub fn map_blocks_with<S: Default, R: Send>(
    threads: Option<usize>,
    n: usize,
    f: impl Fn(std::ops::Range<usize>, &mut S) -> R + Sync,
) -> Vec<R> {
    if n == 0 {
        return Vec::new();
    }
    let t = num_threads(threads).min(n);
    if t > 1 {
        if let Some(p) = pool(t - 1) {
            let block = block_size(n, t);
            let mut parts: Vec<(usize, R)> =
                share_blocks(&p, t, n.div_ceil(block), |b, state: &mut S, got| {
                    let range = b * block..((b + 1) * block).min(n);
                    got.push((range.start, f(range, state)));
                })
                .into_iter()
                .flatten()
                .collect();
            // Every block was handed out exactly once (`share_blocks`); put them in order.
            parts.sort_unstable_by_key(|&(start, _)| start);
            return parts.into_iter().map(|(_, r)| r).collect();
        }
    }
    vec![f(0..n, &mut S::default())]
}

/// `f(i, item)` for every item of `items`, on `num_threads(threads)` threads (as
/// [`map_range`]).
///
/// # Examples
/// ```
/// let mut v = vec![0usize; 4];
/// sa1b_rle::pool::for_each_mut(Some(2), &mut v, |i, x| *x = 10 * i);
/// assert_eq!(v, vec![0, 10, 20, 30]);
/// ```
pub fn for_each_mut<T: Send>(
    threads: Option<usize>,
    items: &mut [T],
    f: impl Fn(usize, &mut T) + Sync,
) {
    let n = items.len();
    let t = num_threads(threads).min(n);
    if t > 1 {
        if let Some(p) = pool(t - 1) {
            // Disjoint `&mut` blocks, each behind a lock taken once (uncontended) by
            // whichever thread draws it.
            let block = block_size(n, t);
            let blocks: Vec<Mutex<&mut [T]>> = items.chunks_mut(block).map(Mutex::new).collect();
            share_blocks(&p, t, blocks.len(), |b, (): &mut (), _: &mut Vec<()>| {
                let mut part = blocks[b]
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner);
                for (k, x) in part.iter_mut().enumerate() {
                    f(b * block + k, x);
                }
            });
            return;
        }
    }
    for (i, x) in items.iter_mut().enumerate() {
        f(i, x);
    }
}

/// Blocks of about an eighth of a thread's share: balance without a draw per item.
fn block_size(n: usize, t: usize) -> usize {
    (n / (8 * t)).max(1)
}

/// Runs `work(block, state, out)` for blocks `0..blocks` drawn one at a time from a
/// shared counter by the calling thread (working from the start, not waiting for pool
/// threads to wake up) and `t - 1` jobs on `p`, each with its own `state`; returns each
/// participant's `out`.
fn share_blocks<S: Default, O: Send>(
    p: &rayon::ThreadPool,
    t: usize,
    blocks: usize,
    work: impl Fn(usize, &mut S, &mut Vec<O>) + Sync,
) -> Vec<Vec<O>> {
    let next = AtomicUsize::new(0);
    let run = || {
        let (mut state, mut out) = (S::default(), Vec::new());
        loop {
            let b = next.fetch_add(1, Ordering::Relaxed);
            if b >= blocks {
                return out;
            }
            work(b, &mut state, &mut out);
        }
    };
    let outs = Mutex::new(Vec::with_capacity(t));
    let keep = |o: Vec<O>| {
        outs.lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push(o);
    };
    p.in_place_scope(|s| {
        for _ in 1..t {
            s.spawn(|_| keep(run()));
        }
        keep(run());
    });
    outs.into_inner()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}
