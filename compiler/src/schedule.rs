//! Which thread compiles which function body, and in what order.
//!
//! A parallel compilation puts the bodies on one queue, largest first, and
//! starts one worker per thread of rayon's current pool; each worker keeps
//! its own reusable compiling state ([`crate::driver::FunctionCompiler`])
//! for the whole module and takes the next body from the queue until it is
//! empty. Taking the largest bodies first (greedy longest-processing-time
//! scheduling, with the body's size in bytes standing for its compile
//! time) leaves only small bodies for the end, so the workers finish
//! within a small body of each other instead of one of them compiling a
//! large function while the others wait. A serial compilation takes the
//! bodies in module order on the calling thread.
//!
//! The results come back in function order whatever thread compiled them,
//! and the error reported is that of the earliest failing function, as in
//! a serial compilation: once a function has failed, no later function is
//! started, but every earlier one still is.

use std::cmp::Reverse;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Compiles every item of `items` (in function order) with `compile`, on
/// all threads of rayon's current pool when `parallel`, or one after the
/// other on the calling thread. Each worker makes its state once with
/// `new_worker` and passes it to every `compile` it runs; `weight` is the
/// relative cost of compiling an item (the larger ones are started first).
///
/// The results are in the order of `items`.
///
/// # Errors
///
/// The error of the earliest item whose `compile` failed.
pub(crate) fn compile_all<T, R, E, W>(
    items: Vec<T>,
    parallel: bool,
    weight: impl Fn(&T) -> usize,
    new_worker: impl Fn() -> W + Sync,
    compile: impl Fn(&mut W, usize, T) -> Result<R, E> + Sync,
) -> Result<Vec<R>, E>
where
    T: Send,
    R: Send,
    E: Send,
{
    let count = items.len();
    let mut order: Vec<(usize, T)> = items.into_iter().enumerate().collect();
    let workers = if parallel {
        rayon::current_num_threads().min(count)
    } else {
        1
    };
    if workers > 1 {
        // Ties keep function order, so the schedule is the same every time.
        order.sort_by_cached_key(|(i, item)| (Reverse(weight(item)), *i));
    }
    let queue = Mutex::new(order.into_iter());
    let first_error = AtomicUsize::new(usize::MAX);
    let done = Mutex::new(Vec::with_capacity(workers));
    let work = || {
        let mut worker = new_worker();
        let mut results = Vec::new();
        loop {
            // Nothing panics while holding the lock, but a compile that
            // panicked elsewhere must not turn into a second panic here.
            let next = queue
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .next();
            let Some((index, item)) = next else { break };
            if index > first_error.load(Ordering::Relaxed) {
                continue;
            }
            let result = compile(&mut worker, index, item);
            if result.is_err() {
                first_error.fetch_min(index, Ordering::Relaxed);
            }
            results.push((index, result));
        }
        done.lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push(results);
    };
    if workers > 1 {
        rayon::scope(|s| {
            for _ in 1..workers {
                s.spawn(|_| work());
            }
            work();
        });
    } else {
        work();
    }
    let mut slots: Vec<Option<Result<R, E>>> = (0..count).map(|_| None).collect();
    let done = done
        .into_inner()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    for (index, result) in done.into_iter().flatten() {
        slots[index] = Some(result);
    }
    // Every item before the earliest failure was compiled, so the walk in
    // order meets that failure before any item that was skipped.
    slots
        .into_iter()
        .map(|slot| slot.expect("every item before the first failure is compiled"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::compile_all;

    #[test]
    fn results_come_back_in_order_whatever_the_schedule() {
        for parallel in [false, true] {
            let items: Vec<u32> = (0..500).map(|i| (i * 7919) % 1000).collect();
            let out = compile_all(
                items.clone(),
                parallel,
                |x| *x as usize,
                || 0u32,
                |count, _, x| {
                    *count += 1;
                    Ok::<_, ()>(x * 2)
                },
            )
            .unwrap();
            let expected: Vec<u32> = items.iter().map(|x| x * 2).collect();
            assert_eq!(out, expected);
        }
    }

    #[test]
    fn the_earliest_failure_is_reported() {
        for parallel in [false, true] {
            // The failing items are the smallest, so a parallel schedule
            // reaches them last.
            let items: Vec<usize> = (0..300).map(|i| 1000 - i).collect();
            let err = compile_all(
                items,
                parallel,
                |x| *x,
                || (),
                |_, index, _| {
                    if index == 120 || index == 250 {
                        Err(index)
                    } else {
                        Ok(index)
                    }
                },
            )
            .unwrap_err();
            assert_eq!(err, 120);
        }
    }

    #[test]
    fn nothing_to_compile() {
        let out: Vec<u8> = compile_all(
            Vec::<u8>::new(),
            true,
            |_| 0,
            || (),
            |_, _, x| Ok::<_, ()>(x),
        )
        .unwrap();
        assert!(out.is_empty());
    }

    #[test]
    fn a_serial_compilation_keeps_module_order() {
        let order = std::sync::Mutex::new(Vec::new());
        compile_all(
            vec![3usize, 9, 1],
            false,
            |x| *x,
            || (),
            |_, index, _| {
                order.lock().unwrap().push(index);
                Ok::<_, ()>(())
            },
        )
        .unwrap();
        assert_eq!(*order.lock().unwrap(), [0, 1, 2]);
    }

    #[test]
    fn each_worker_takes_the_largest_item_left() {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(2)
            .build()
            .unwrap();
        let started = std::sync::Mutex::new(Vec::new());
        let items: Vec<usize> = (0..200).map(|i| (i * 37) % 101).collect();
        pool.install(|| {
            compile_all(
                items.clone(),
                true,
                |x| *x,
                || (),
                |_, _, weight| {
                    started
                        .lock()
                        .unwrap()
                        .push((std::thread::current().id(), weight));
                    Ok::<_, ()>(())
                },
            )
        })
        .unwrap();
        let started = started.into_inner().unwrap();
        assert_eq!(started.len(), items.len());
        for thread in started.iter().map(|(t, _)| *t) {
            let weights: Vec<usize> = started
                .iter()
                .filter(|(t, _)| *t == thread)
                .map(|(_, w)| *w)
                .collect();
            assert!(weights.is_sorted_by(|a, b| a >= b), "{weights:?}");
        }
    }
}
