//! Memory probes: what the process holds, as the operating system and the
//! allocator see it (INFO's `used_memory` and `used_memory_rss`, the
//! metrics' memstats). Read only when a report is taken, never per command.

/// Bytes the allocator has handed out and not yet taken back: our
/// `used_memory` (Redis counts its allocations the same way, in zmalloc).
pub fn heap_in_use() -> u64 {
    // SAFETY: mallinfo2 only reads the allocator's statistics; it takes
    // no pointers and is safe to call from any thread.
    let info = unsafe { libc::mallinfo2() };
    (info.uordblks + info.hblkhd) as u64
}

/// Resident set size from /proc/self/statm (pages × page size).
pub fn rss_bytes() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: u64 = statm
        .split_whitespace()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .unwrap_or(0);
    // SAFETY: sysconf has no preconditions.
    let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    pages * page.max(0) as u64
}
