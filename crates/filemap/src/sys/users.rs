//! Group membership of a user from the system's user database (NSS: `/etc/group`, LDAP, ...),
//! for deciding what another user could open (`crate::backing`).

use std::ffi::CStr;

/// The groups `uid` belongs to (its primary group first), or `None` if the user database does
/// not know the uid.
pub fn groups_of(uid: u32) -> Option<Vec<u32>> {
    let mut pwd = std::mem::MaybeUninit::<libc::passwd>::zeroed();
    let mut buf = vec![0 as libc::c_char; 16 * 1024];
    let mut found: *mut libc::passwd = std::ptr::null_mut();
    // SAFETY:
    // - `pwd` is valid writable storage for one `passwd` record;
    // - `buf` is a writable buffer of exactly the length passed, which the strings of the
    //   record point into while `buf` lives;
    // - `found` is a valid out-pointer, set to `pwd`'s address or null.
    let rc = unsafe { libc::getpwuid_r(uid, pwd.as_mut_ptr(), buf.as_mut_ptr(), buf.len(), &mut found) };
    if rc != 0 || found.is_null() {
        return None;
    }
    // SAFETY: `getpwuid_r` returned 0 with a non-null result, so it filled in `pwd` completely.
    let pwd = unsafe { pwd.assume_init() };
    if pwd.pw_name.is_null() {
        return None;
    }
    // SAFETY: `pw_name` points into `buf` (alive) at a NUL-terminated string written by libc.
    let name = unsafe { CStr::from_ptr(pwd.pw_name) };
    let mut groups: Vec<libc::gid_t> = vec![0; 64];
    loop {
        let mut n = groups.len() as libc::c_int;
        // SAFETY:
        // - `name` is a valid NUL-terminated string (above);
        // - `groups` has room for `n` entries and `n` is passed by valid pointer; libc writes
        //   at most `n` entries and stores the number it needs in `n`.
        let rc = unsafe { libc::getgrouplist(name.as_ptr(), pwd.pw_gid, groups.as_mut_ptr(), &mut n) };
        if rc >= 0 {
            groups.truncate(n.max(0) as usize);
            return Some(groups);
        }
        if n as usize <= groups.len() {
            // libc says "too small" without asking for more: grow on our own, within reason.
            if groups.len() >= 1 << 16 {
                return None;
            }
            let len = groups.len() * 2;
            groups.resize(len, 0);
        } else {
            groups.resize(n as usize, 0);
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn root_is_in_its_primary_group() {
        let groups = super::groups_of(0).expect("root is in the user database");
        assert!(groups.contains(&0), "{groups:?}");
    }
}
