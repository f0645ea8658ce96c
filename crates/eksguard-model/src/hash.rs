//! Hashes of keys for in-memory sets, where speed matters more than resistance to
//! crafted collisions.

pub const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;

/// FNV-1a: quick on short keys such as auditIDs; the set needs no protection against
/// crafted collisions (a collision only keeps one extra event, or drops one).
pub fn fnv1a(mut h: u64, bytes: &[u8]) -> u64 {
    for b in bytes {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    // A separator, so that ("ab", "c") and ("a", "bc") differ.
    (h ^ 0xff).wrapping_mul(0x0100_0000_01b3)
}
