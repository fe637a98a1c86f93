//! Group membership of a user from the system's user database (NSS: `/etc/group`, LDAP, ...),
//! for deciding what another user could open (`crate::backing`), through `nix`.

use nix::unistd::{Gid, Uid, User, getgrouplist};

/// The groups `uid` belongs to (its primary group first), or `None` if the user database does
/// not know the uid (or cannot be asked).
pub fn groups_of(uid: u32) -> Option<Vec<u32>> {
    let user = User::from_uid(Uid::from_raw(uid)).ok()??;
    let name = std::ffi::CString::new(user.name).ok()?;
    let groups = getgrouplist(&name, user.gid).ok()?;
    Some(groups.into_iter().map(Gid::as_raw).collect())
}

#[cfg(test)]
mod tests {
    #[test]
    fn root_is_in_its_primary_group() {
        let groups = super::groups_of(0).expect("root is in the user database");
        assert!(groups.contains(&0), "{groups:?}");
    }

    #[test]
    fn an_unknown_uid_has_no_groups() {
        assert_eq!(super::groups_of(4_000_000_000), None);
    }
}
