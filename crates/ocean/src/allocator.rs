//! Tuning of mimalloc, the allocator every Ocean integration declares (`#[global_allocator]`).
//!
//! A resync allocates in bursts on several threads (mapping and loading run on the blocking
//! pool) and frees on others. mimalloc keeps freed pages committed for `purge_delay` (1 s in
//! its v3 default) before returning them, so a short burst shows up as peak RSS: about 12 MiB of
//! the benchmark's 10,000-record resync (`make bench`). Returning them at once costs a few
//! percent of throughput and keeps peak memory close to what is live.
//!
//! A process that is not linked with mimalloc as its allocator is unaffected: the call only
//! sets an option of mimalloc's (unused) option table.

/// mimalloc's `mi_option_purge_delay` (`mimalloc.h`, v2 and v3: the 16th option).
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

/// Makes mimalloc return freed memory to the OS at once, unless the operator chose otherwise
/// with `MIMALLOC_PURGE_DELAY` (mimalloc's own environment variable, read at process start).
pub fn return_freed_memory_promptly() {
    if std::env::var_os("MIMALLOC_PURGE_DELAY").is_some() {
        return;
    }
    // SAFETY: `mi_option_set` stores an integer in mimalloc's option table; it takes no
    // pointers, is thread-safe and may be called at any time (the value applies to later purges).
    #[allow(unsafe_code)]
    unsafe {
        libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, 0);
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_purge_delay_is_set_to_zero() {
        // The option's index is right when mimalloc reads back what was set under it.
        super::return_freed_memory_promptly();
        if std::env::var_os("MIMALLOC_PURGE_DELAY").is_none() {
            #[allow(unsafe_code)]
            // SAFETY: reads an integer from mimalloc's option table.
            let value = unsafe { libmimalloc_sys::mi_option_get(super::MI_OPTION_PURGE_DELAY) };
            assert_eq!(value, 0);
        }
    }
}
